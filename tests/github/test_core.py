"""The sans-I/O core: requests, models, refusal classification, the retry policy, pagination."""

from __future__ import annotations

import ast
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from restwell import Headers, Request, Response
from restwell.errors import NotFound as RestwellNotFound
from restwell.errors import Unauthorized
from restwell.github import (
    BadCredentials,
    Forbidden,
    GitHubAPIError,
    GitHubError,
    GitHubRetryPolicy,
    InvalidResponse,
    NotFound,
    RateLimitExceeded,
    ValidationFailed,
    classify_refusal,
)
from restwell.github import _core as core
from restwell.github._ratelimit import resource_for
from restwell.policy import Action

NOW = 1_700_000_000.0

# -- requests --------------------------------------------------------------------------------


def test_token_comes_from_the_argument_then_the_environment() -> None:
    assert core.resolve_token("abc", {"GITHUB_TOKEN": "env"}) == "abc"
    assert core.resolve_token(None, {"GITHUB_TOKEN": " env "}) == "env"
    assert core.resolve_token(None, {}) is None
    assert core.resolve_token("", {"GITHUB_TOKEN": "env"}) is None  # "" asks for anonymous
    with pytest.raises(ValueError, match="line break"):
        core.resolve_token("abc\r\nX-Evil: 1", {})


def test_request_headers_are_the_ones_github_asks_for() -> None:
    assert core.request_headers("me/1.0") == {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "me/1.0",
    }
    with pytest.raises(ValueError, match="User-Agent"):
        core.request_headers(" ")


def test_paths_quote_each_segment_and_refuse_extra_ones() -> None:
    assert core.user_path("octo cat") == "/users/octo%20cat"
    assert core.user_repos_path("a?b") == "/users/a%3Fb/repos"
    assert core.languages_path("o", "r.py") == "/repos/o/r.py/languages"
    for bad in ("", " ", "a/b", "..", "."):
        with pytest.raises(ValueError, match="username must be"):
            core.user_path(bad)
    assert core.split_full_name("o/r") == ("o", "r")
    for bad in ("o", "o/", "/r", "o/r/x"):
        with pytest.raises(ValueError, match="OWNER/REPO"):
            core.split_full_name(bad)


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/users/x", "core"),
        ("users/x/repos", "core"),
        ("/search/repositories", "search"),
        ("/search/code", "code_search"),
        ("/graphql", "graphql"),
        ("/rate_limit", None),
    ],
)
def test_each_path_draws_on_its_resource(path: str, resource: str | None) -> None:
    assert resource_for(path) == resource


# -- models ----------------------------------------------------------------------------------


def test_a_user_is_read_tolerantly() -> None:
    user = core.parse_user(
        {"login": "octo", "id": 1, "created_at": "2011-01-25T18:44:36Z", "unknown": [1, 2]}
    )
    assert (user.login, user.id, user.name, user.public_repos) == ("octo", 1, None, 0)
    assert user.created_at == datetime(2011, 1, 25, 18, 44, 36, tzinfo=UTC)
    assert user.raw["unknown"] == [1, 2]
    with pytest.raises(TypeError):
        user.raw["x"] = 1  # type: ignore[index]
    same = core.parse_user({"login": "octo", "id": 1, "created_at": "2011-01-25T18:44:36Z"})
    assert user == same
    assert hash(user) == hash(same)


def test_a_repo_is_read_tolerantly() -> None:
    repo = core.parse_repo({"id": 7, "name": "r", "owner": {"login": "o"}, "topics": ["a"]})
    assert (repo.full_name, repo.owner, repo.topics, repo.fork) == ("o/r", "o", ("a",), False)
    bare = core.parse_repo({"id": 7, "name": "r", "full_name": "o/r"})
    assert bare.owner == "o"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"login": "o", "id": "1"}, "user: field 'id' should be an integer, got a string '1'"),
        ({"login": "o", "id": True}, "field 'id' should be an integer, got a boolean"),
        ({"id": 1}, "user: required field 'login' is missing"),
        ({"login": "o", "id": 1, "public_repos": "12"}, "'public_repos' should be an integer"),
        ({"login": "o", "id": 1, "name": 5}, "'name' should be a string or null"),
        ({"login": "o", "id": 1, "created_at": "yesterday"}, "an ISO 8601 timestamp"),
        ([{"login": "o"}], "expected user to be a JSON object, got a list"),
    ],
)
def test_wrong_types_raise_a_clear_error(data: Any, message: str) -> None:
    with pytest.raises(InvalidResponse, match=message.replace("(", r"\(").replace("?", r"\?")):
        core.parse_user(data)
    assert issubclass(InvalidResponse, GitHubError)


def test_languages_and_rate_limits_are_read() -> None:
    assert core.parse_languages({"Python": 10, "C": 2}) == {"Python": 10, "C": 2}
    with pytest.raises(InvalidResponse, match="'C' should be an integer"):
        core.parse_languages({"Python": 10, "C": "2"})
    limits = core.parse_rate_limits(
        {"resources": {"core": {"limit": 60, "remaining": 59, "reset": 1, "used": 1}}}
    )
    assert limits["core"].remaining == 59
    assert limits["core"].reset_datetime == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_page_items_are_a_list_or_the_items_of_an_object() -> None:
    assert core.page_items([1], "x") == [1]
    assert core.page_items({"total_count": 1, "items": [2]}, "x") == [2]
    assert core.page_items({"total_count": 1, "workflow_runs": [3]}, "x") == [3]
    with pytest.raises(InvalidResponse, match="expected x to be a JSON list, got an object"):
        core.page_items({"a": 1}, "x")


# -- refusals --------------------------------------------------------------------------------


def _h(**values: object) -> Headers:
    names = {
        "remaining": "X-RateLimit-Remaining",
        "limit": "X-RateLimit-Limit",
        "reset": "X-RateLimit-Reset",
        "resource": "X-RateLimit-Resource",
        "retry_after": "Retry-After",
    }
    return Headers({names[k]: str(v) for k, v in values.items()})


SECONDARY_BODY = b'{"message": "You have exceeded a secondary rate limit. Please wait."}'


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (403, _h(remaining=0, reset=NOW + 30), b"", ("primary", "headers", None, 30.0)),
        (429, _h(remaining=0, reset=NOW + 30), b"", ("primary", "headers", None, 30.0)),
        (403, _h(remaining=5, retry_after=20), b"", ("secondary", "headers", 20.0, None)),
        (429, _h(retry_after=20), b"", ("secondary", "headers", 20.0, None)),
        (429, _h(remaining=5), b"", ("secondary", "headers", None, None)),
        (429, Headers(), b"", ("secondary", "headers", None, None)),
        (403, _h(remaining=5), SECONDARY_BODY, ("secondary", "message", None, None)),
        (
            403,
            Headers(),
            b'{"message": "API rate limit exceeded for x"}',
            ("primary", "message", None, None),
        ),
        (403, _h(remaining=5), b'{"message": "Resource not accessible"}', None),
        (403, _h(remaining=5), b"", None),
        (404, _h(remaining=0, reset=NOW + 30), b"", None),
    ],
)
def test_refusals_are_told_by_headers_first_and_the_message_last(
    status: int,
    headers: Headers,
    body: bytes,
    expected: tuple[str, str, float | None, float | None] | None,
) -> None:
    refusal = classify_refusal(status, headers, body, NOW)
    got = (
        None
        if refusal is None
        else (refusal.kind, refusal.detected_by, refusal.retry_after, refusal.reset_after)
    )
    assert got == expected


def test_a_primary_refusal_names_its_resource_and_a_secondary_one_holds_all() -> None:
    primary = classify_refusal(403, _h(remaining=0, reset=NOW, resource="search"), b"", NOW)
    secondary = classify_refusal(429, Headers(), b"", NOW)
    assert primary is not None
    assert primary.resource == "search"
    assert secondary is not None
    assert secondary.resource == "*"


# -- the retry policy ------------------------------------------------------------------------


def _decide(policy: GitHubRetryPolicy, status: int, headers: Headers, attempt: int = 1) -> Any:
    return policy.decide_status(
        attempt=attempt,
        method="GET",
        has_idempotency_key=False,
        status=status,
        headers=headers,
        now=NOW,
        elapsed=0.0,
        random=random.Random(1).random,
    )


def test_the_policy_retries_rate_limits_at_once_and_leaves_the_wait_to_the_limiter() -> None:
    policy = GitHubRetryPolicy()
    decision = _decide(policy, 403, _h(remaining=0, reset=NOW + 3600))
    assert (decision.action, decision.delay) == (Action.RETRY, 0.0)
    assert "403 primary rate limit" in decision.reason
    assert _decide(policy, 429, _h(retry_after=5)).action is Action.RETRY
    last = _decide(policy, 429, Headers(), attempt=4)
    assert last.action is Action.RETURN
    assert "attempts exhausted" in last.reason


def test_the_policy_leaves_forbidden_raise_mode_and_other_statuses_alone() -> None:
    assert _decide(GitHubRetryPolicy(), 403, _h(remaining=5)).action is Action.RETURN
    raising = GitHubRetryPolicy(wait_on_rate_limit=False)
    decision = _decide(raising, 403, _h(remaining=0, reset=NOW + 10))
    assert decision.action is Action.RETURN
    assert "on_rate_limit='raise'" in decision.reason
    assert _decide(GitHubRetryPolicy(), 503, Headers()).action is Action.RETRY
    assert _decide(GitHubRetryPolicy(), 404, Headers()).action is Action.RETURN


# -- errors ----------------------------------------------------------------------------------


def _response(status: int, body: bytes, url: str = "https://api.example/users/x") -> Response:
    request = Request("GET", url, Headers({"Authorization": "Bearer secret-token"}))
    return Response(
        status, Headers({"Content-Type": "application/json"}), request=request, content=body
    )


@pytest.mark.parametrize(
    ("status", "cls", "also"),
    [
        (401, BadCredentials, Unauthorized),
        (403, Forbidden, GitHubAPIError),
        (404, NotFound, RestwellNotFound),
        (422, ValidationFailed, GitHubAPIError),
        (500, GitHubAPIError, GitHubError),
    ],
)
def test_error_statuses_map_to_typed_errors(status: int, cls: type, also: type) -> None:
    body = b'{"message": "Nope", "documentation_url": "https://docs.example"}'
    error = core.error_for(_response(status, body))
    assert type(error) is cls
    assert isinstance(error, also)
    assert error.message == "Nope"
    assert error.documentation_url == "https://docs.example"
    assert str(error).startswith(f"{status} Nope for GET https://api.example/users/x")
    assert "secret-token" not in str(error)


def test_validation_failed_carries_githubs_errors_list() -> None:
    body = (
        b'{"message": "Validation Failed", "errors": [{"resource": "Issue", "field": "title",'
        b' "code": "missing_field"}, "plain text"]}'
    )
    error = core.error_for(_response(422, body))
    assert isinstance(error, ValidationFailed)
    assert [str(e) for e in error.errors] == ["Issue.title missing_field", "plain text"]
    assert "Issue.title missing_field; plain text" in str(error)


def test_a_refusal_error_carries_the_reset() -> None:
    response = _response(403, b"{}")
    refusal = classify_refusal(403, _h(remaining=0, reset=NOW + 30, limit=60), b"", NOW)
    assert refusal is not None
    error = core.refusal_error(response, refusal, "why", now=NOW, skew=1.0, held_for=60)
    assert isinstance(error, RateLimitExceeded)
    assert (error.kind, error.retry_after, error.reset_at, error.limit) == (
        "primary",
        31.0,
        NOW + 31,
        60,
    )
    assert "2023-11-14 22:13:51Z" in str(error)
    assert "(60 requests per window)" in str(error)


# -- pagination ------------------------------------------------------------------------------


def test_the_cursor_follows_next_links_as_given_and_knows_the_last_page() -> None:
    cursor = core.PageCursor(
        url="https://api.example/users/x/repos?page=1", origin="https://api.example"
    )
    cursor.advance(
        "https://api.example/users/x/repos?page=1",
        ['</user/1/repos?page=2>; rel="next", </user/1/repos?page=7>; rel="last"'],
        30,
    )
    assert cursor.url == "https://api.example/user/1/repos?page=2"
    assert (cursor.next_page, cursor.last_page, cursor.pages, cursor.items) == (2, 7, 1, 30)
    cursor.advance(cursor.url, [], 3)
    assert cursor.url is None
    assert cursor.next_page is None


def test_the_cursor_refuses_links_to_another_origin_or_to_itself() -> None:
    cursor = core.PageCursor(url=None, origin="https://api.example")
    with pytest.raises(GitHubError, match="refusing to follow a pagination link"):
        cursor.advance("https://api.example/x", ['<https://evil.example/x?page=2>; rel="next"'], 1)
    with pytest.raises(GitHubError, match="the page itself"):
        cursor.advance("https://api.example/x", ['<https://api.example/x>; rel="next"'], 1)
    cursor.advance("https://api.example/x", ['<https://api.example/x?page=2>; rel="next"'], 0)
    assert cursor.url is None  # an empty page ends the listing


# -- layering --------------------------------------------------------------------------------

SANS_IO = ("_core.py", "_ratelimit.py", "_models.py", "_errors.py")
ALLOWED = ("restwell.policy", "restwell.github", "restwell.errors", "restwell._models")
FORBIDDEN = {"asyncio", "socket", "threading", "time", "urllib3", "aiohttp", "requests", "httpx"}


@pytest.mark.parametrize("name", SANS_IO)
def test_the_core_does_no_io(name: str) -> None:
    import restwell.github

    path = Path(restwell.github.__file__).parent / name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        for module in modules:
            assert module.split(".")[0] not in FORBIDDEN, f"{name} imports {module}"
            if module.startswith("restwell"):
                assert module.startswith(ALLOWED), f"{name} imports {module}"
