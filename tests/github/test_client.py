"""The clients against the fake GitHub over real sockets, on every backend: reads, pagination,
the cache and 304s, error mapping, tokens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest
import requests

import restwell
from restwell.github import (
    AsyncGitHubClient,
    BadCredentials,
    Forbidden,
    GitHubAPIError,
    GitHubClient,
    NotFound,
    ValidationFailed,
)
from restwell.server.github import FakeGitHub
from restwell.testing import FakeClock
from tests.github.conftest import TOKEN
from tests.github.drivers import GH

Make = Callable[..., GH]


def test_get_user_sends_githubs_headers(make: Make, fake: FakeGitHub) -> None:
    gh = make(user_agent="tests/1.0")
    user = gh.get_user("user3")
    assert (user.login, user.id, user.public_repos, user.name) == ("user3", 1003, 14, "User 3")
    assert user.created_at is not None
    assert user.created_at.isoformat() == "2015-04-03T00:00:00+00:00"
    (seen,) = fake.requests
    assert seen.headers == {
        "accept": "application/vnd.github+json",
        "user-agent": "tests/1.0",
        "x-github-api-version": "2022-11-28",
    }
    assert seen.who.startswith("token:")


def test_languages_and_the_generic_get(make: Make, fake: FakeGitHub) -> None:
    gh = make()
    languages = gh.get_repo_languages("user2", "repo-002")
    assert languages == fake.languages("user2", "repo-002") == {"C": 225_296, "Shell": 112_648}
    assert gh.get("/users/user2")["login"] == "user2"
    assert gh.get_rate_limit()["core"].limit == 50


def test_list_repos_follows_seven_pages_as_the_server_links_them(
    make: Make, fake: FakeGitHub
) -> None:
    gh = make()
    items, error, next_page, pages = gh.drain("iter_repos", "user5", per_page=2)
    assert error is None
    assert (next_page, pages) == (None, 7)
    assert [r.name for r in items] == [f"repo-{j:03d}" for j in range(1, 15)]
    assert all(r.owner == "user5" for r in items)
    paths = [r.path for r in fake.requests]
    # The first page is the one we ask for; the others are the server's rel="next" links.
    assert paths == ["/users/user5/repos?per_page=2&page=1"] + [
        f"/user/1005/repos?per_page=2&page={n}" for n in range(2, 8)
    ]
    assert gh.list_repos("user5", per_page=2) == items  # the list form (from the cache)


def test_a_listing_resumes_from_a_page(make: Make) -> None:
    gh = make()
    tail = gh.list_repos("user4", per_page=2, start_page=4)
    assert [r.name for r in tail] == [f"repo-{j:03d}" for j in range(7, 15)]


def test_a_listing_that_fails_halfway_says_where_to_resume(
    make: Make, fake: FakeGitHub, no_sleep: list[float]
) -> None:
    gh = make()
    fake.fail_next(502, times=4, path_contains="page=4")  # every attempt at page 4
    items, error, next_page, pages = gh.drain("iter_repos", "user6", per_page=2)
    assert isinstance(error, GitHubAPIError)
    assert error.status_code == 502
    assert (len(items), next_page, pages) == (6, 4, 3)
    rest = gh.list_repos("user6", per_page=2, start_page=next_page)
    assert [r.name for r in items + rest] == [f"repo-{j:03d}" for j in range(1, 15)]


def test_paginate_reads_items_of_search_results(make: Make, fake: FakeGitHub) -> None:
    gh = make()
    found = gh.paginate("/search/repositories", params={"q": "user1/repo-00"}, per_page=4)
    assert [item["full_name"] for item in found] == [f"user1/repo-00{j}" for j in range(1, 10)]
    assert {r.resource for r in fake.requests} == {"search"}
    assert gh.client.quota("search") is not None


def test_a_304_is_served_from_the_cache_and_not_counted(
    make: Make, configure: Callable[..., FakeGitHub], fake_clock: FakeClock
) -> None:
    fake = configure(window=3600.0)
    gh = make()
    first = gh.get_user("user1")
    assert gh.client.rate_limit is not None
    assert gh.client.rate_limit.remaining == 49
    assert gh.get_user("user1") == first  # fresh (max-age=60): no request at all
    assert len(fake.requests) == 1
    fake_clock.advance(61)  # stale: the next read revalidates
    response = gh.request("GET", "/users/user1")
    assert response.cache_status == "revalidated"
    assert response.json()["login"] == "user1"
    assert gh.get_user("user1") == first
    sent = fake.requests
    assert [(r.status, r.conditional, r.counted) for r in sent] == [
        (200, False, True),
        (304, True, False),
    ]
    assert gh.client.rate_limit.remaining == 49  # GitHub does not count a 304


def test_without_a_cache_every_read_goes_out(make: Make, fake: FakeGitHub) -> None:
    gh = make(cache=False)
    gh.get_user("user1")
    gh.get_user("user1")
    assert [r.status for r in fake.requests] == [200, 200]


# -- errors ----------------------------------------------------------------------------------


def test_404_is_not_found_with_githubs_message(make: Make, fake: FakeGitHub) -> None:
    gh = make()
    with pytest.raises(NotFound) as info:
        gh.get_user("nobody")
    error = info.value
    assert isinstance(error, restwell.errors.NotFound)  # restwell's own 404 too
    assert error.message == "Not Found"
    assert error.documentation_url == "https://docs.github.com/rest"
    assert str(error).startswith("404 Not Found for GET http://127.0.0.1:")
    with pytest.raises(NotFound):
        gh.get_repo_languages("user1", "no-such-repo")
    assert len(fake.requests) == 2


def test_401_is_bad_credentials(make: Make, configure: Callable[..., FakeGitHub]) -> None:
    fake = configure(tokens=frozenset({"the-good-one"}))
    gh = make(token="ghp_wrong_token_value")
    with pytest.raises(BadCredentials) as info:
        gh.get_user("user1")
    assert info.value.message == "Bad credentials"
    assert info.value.status_code == 401
    assert "ghp_wrong_token_value" not in str(info.value)
    assert len(fake.requests) == 1  # not retried


def test_403_forbidden_is_not_a_rate_limit(
    make: Make, fake: FakeGitHub, no_sleep: list[float]
) -> None:
    gh = make()
    with pytest.raises(Forbidden) as info:
        gh.get_user("blocked")
    assert info.value.status_code == 403
    assert isinstance(info.value, restwell.errors.Forbidden)
    assert len(fake.requests) == 1
    assert no_sleep == []


def test_422_is_validation_failed_with_githubs_errors(make: Make) -> None:
    gh = make()
    with pytest.raises(ValidationFailed) as info:
        gh.get("/search/repositories", params={"q": ""})
    (problem,) = info.value.errors
    assert (problem.resource, problem.field, problem.code) == ("Search", "q", "missing")
    assert "Search.q missing" in str(info.value)


def test_bad_arguments_fail_before_any_request(make: Make, fake: FakeGitHub) -> None:
    gh = make()
    with pytest.raises(ValueError, match="single name"):
        gh.get_user("../admin")
    with pytest.raises(ValueError, match="per_page"):
        gh.list_repos("user1", per_page=101)
    with pytest.raises(restwell.errors.InvalidURL, match="refusing to send the GitHub token"):
        gh.get("https://elsewhere.example/users/x")
    assert fake.requests == []


# -- tokens ----------------------------------------------------------------------------------


def test_the_token_comes_from_github_token_and_never_shows(
    make: Make,
    fake: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    no_sleep: list[float],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    gh = make(token=None)
    caplog.set_level(logging.DEBUG)
    gh.get_user("user1")
    fake.trigger_secondary(1, retry_after=3)
    gh.get_user("user2")
    with pytest.raises(NotFound) as info:
        gh.get_user("nobody")
    assert gh.client.authenticated
    assert len({r.who for r in fake.requests}) == 1
    assert fake.requests[0].who.startswith("token")
    shown = [repr(gh.client), repr(gh.client.http), str(info.value), caplog.text]
    shown += [repr(gh.client.http.headers), repr(info.value.request)]
    assert caplog.text
    assert not any(TOKEN in text for text in shown)


def test_an_empty_token_means_anonymous(make: Make, fake: FakeGitHub) -> None:
    gh = make(token="")
    gh.get_user("user1")
    assert not gh.client.authenticated
    assert "anonymous" in repr(gh.client)
    assert fake.requests[0].who == "ip:127.0.0.1"


def test_context_managers_close_the_client_and_leave_your_session_open(
    fake: FakeGitHub, url: str
) -> None:
    session = requests.Session()
    with GitHubClient("", base_url=url, session=session) as gh:
        gh.get_user("user1")
    with pytest.raises(RuntimeError, match="closed"):
        gh.get_user("user2")
    assert session.get(f"{url}/users/user2").status_code == 200
    session.close()

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            async with AsyncGitHubClient("", base_url=url, session=client) as agh:
                await agh.get_user("user1")
            with pytest.raises(RuntimeError, match="closed"):
                await agh.get_user("user2")
            assert (await client.get(f"{url}/users/user2")).status_code == 200

    asyncio.run(main())
    assert len(fake.requests) == 4
