"""The GitHub client's decisions, sans I/O: requests, parsing, errors and pagination.

Nothing here sends, waits or reads a clock; :mod:`restwell.github._client` drives it over
restwell's sync and async clients. (Rate limits live next door, in ``_ratelimit``.)

- **Requests**: the headers GitHub asks for (``Accept: application/vnd.github+json``,
  ``X-GitHub-Api-Version``, a ``User-Agent``), a bearer token from the argument or
  ``GITHUB_TOKEN``, and paths built from quoted segments (a username cannot add a path).
- **Models**: :func:`parse_user`, :func:`parse_repo`, :func:`parse_languages`,
  :func:`parse_rate_limits` read tolerantly; wrong types raise
  :class:`~restwell.github.InvalidResponse` naming the field.
- **Errors**: :func:`error_for` maps an error response to the typed error: 401
  ``BadCredentials``, 403 ``Forbidden`` or ``RateLimitExceeded`` (told apart by
  :func:`~restwell.github._ratelimit.classify_refusal`), 404 ``NotFound``, 422
  ``ValidationFailed`` with GitHub's ``errors`` list.
- **Pagination**: :class:`PageCursor` follows ``Link: <...>; rel="next"`` exactly as the server
  gives it, and only within the API's origin, so a token is never sent elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from restwell.github._errors import (
    BadCredentials,
    Forbidden,
    GitHubAPIError,
    GitHubError,
    InvalidResponse,
    NotFound,
    RateLimitExceeded,
    ValidationFailed,
)
from restwell.github._models import FieldError, RateLimit, Repo, User
from restwell.github._ratelimit import Refusal, classify_refusal
from restwell.policy import origin_of
from restwell.policy.links import find_rel, parse_links

if TYPE_CHECKING:
    from restwell._models import Response

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "MEDIA_TYPE",
    "PageCursor",
    "error_for",
    "identity",
    "languages_path",
    "page_items",
    "parse_json",
    "parse_languages",
    "parse_rate_limits",
    "parse_repo",
    "parse_user",
    "read_page",
    "refusal_error",
    "refusal_of",
    "request_headers",
    "resolve_token",
    "server_time",
    "split_full_name",
    "user_path",
    "user_repos_path",
]

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.github.com"
API_VERSION: Final = "2022-11-28"
MEDIA_TYPE: Final = "application/vnd.github+json"
TOKEN_VARIABLE: Final = "GITHUB_TOKEN"  # noqa: S105 - the name of a variable

# -- requests --------------------------------------------------------------------------------


def resolve_token(token: str | None, environ: Mapping[str, str]) -> str | None:
    """The token to send: the argument, else ``GITHUB_TOKEN`` from ``environ``, else none.

    An empty or blank value counts as none (anonymous requests).
    """
    if token is None:
        token = environ.get(TOKEN_VARIABLE)
    token = (token or "").strip()
    if any(c in token for c in "\r\n\0"):
        raise ValueError("the GitHub token contains a line break or NUL")
    return token or None


def request_headers(user_agent: str, api_version: str = API_VERSION) -> dict[str, str]:
    """The headers GitHub asks every request to carry (the token is added by the client)."""
    if not user_agent.strip():
        raise ValueError("GitHub requires a User-Agent")
    return {"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": api_version, "User-Agent": user_agent}


def _segment(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if "/" in value or value in (".", ".."):
        raise ValueError(f"{what} must be a single name, got {value!r}")
    return quote(value, safe="")


def user_path(username: str) -> str:
    """``/users/{username}``."""
    return f"/users/{_segment(username, 'username')}"


def user_repos_path(username: str) -> str:
    """``/users/{username}/repos``."""
    return f"/users/{_segment(username, 'username')}/repos"


def languages_path(owner: str, repo: str) -> str:
    """``/repos/{owner}/{repo}/languages``."""
    return f"/repos/{_segment(owner, 'owner')}/{_segment(repo, 'repo')}/languages"


def split_full_name(full_name: str) -> tuple[str, str]:
    """``"owner/repo"`` as ``("owner", "repo")``; anything else raises ``ValueError``."""
    owner, slash, repo = full_name.partition("/")
    if not slash or not owner or not repo or "/" in repo:
        raise ValueError(f"expected OWNER/REPO, got {full_name!r}")
    return owner, repo


# -- parsing ---------------------------------------------------------------------------------


def parse_json(response: Response) -> Any:
    """The JSON body of a successful response; anything else is an ``InvalidResponse``."""
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        start = content[:120].decode("utf-8", errors="replace")
        raise InvalidResponse(
            f"expected JSON from {response.request.method} {response.url}, got "
            f"{response.content_type or 'no content type'}: {start!r}",
            response=response,
        ) from None


class _Reader:
    """Reads fields of one JSON object, with errors that say which and why."""

    __slots__ = ("data", "what")

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise InvalidResponse(f"expected {what} to be a JSON object, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.what = what

    def _bad(self, name: str, expected: str) -> InvalidResponse:
        value = self.data[name]
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return InvalidResponse(
            f"{self.what}: field {name!r} should be {expected}, got {_kind(value)} {shown}"
        )

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str):
            if name not in self.data:
                raise InvalidResponse(f"{self.what}: required field {name!r} is missing")
            raise self._bad(name, "a string")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None or isinstance(value, str):
            return value
        raise self._bad(name, "a string or null")

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.data.get(name)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if name not in self.data:
                raise InvalidResponse(f"{self.what}: required field {name!r} is missing")
            raise self._bad(name, "an integer")
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, "true or false")
        return value

    def stamp(self, name: str) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        raise self._bad(name, "an ISO 8601 timestamp")

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(name, "a list of strings")
        return tuple(value)

    def raw(self) -> Mapping[str, Any]:
        return MappingProxyType(self.data)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def parse_user(data: object) -> User:
    """A :class:`User` from ``GET /users/{username}``'s JSON."""
    r = _Reader(data, "user")
    return User(
        login=r.text("login"),
        id=r.integer("id"),
        type=r.opt_text("type") or "User",
        name=r.opt_text("name"),
        company=r.opt_text("company"),
        blog=r.opt_text("blog"),
        location=r.opt_text("location"),
        email=r.opt_text("email"),
        bio=r.opt_text("bio"),
        public_repos=r.integer("public_repos", 0),
        followers=r.integer("followers", 0),
        following=r.integer("following", 0),
        html_url=r.opt_text("html_url"),
        avatar_url=r.opt_text("avatar_url"),
        created_at=r.stamp("created_at"),
        updated_at=r.stamp("updated_at"),
        raw=r.raw(),
    )


def parse_repo(data: object) -> Repo:
    """A :class:`Repo` from one item of a repository list."""
    r = _Reader(data, "repository")
    name = r.text("name")
    owner_data = r.data.get("owner")
    if owner_data is None:
        owner = r.text("full_name").partition("/")[0]
    else:
        owner = _Reader(owner_data, f"owner of repository {name!r}").text("login")
    full_name = r.opt_text("full_name") or f"{owner}/{name}"
    return Repo(
        id=r.integer("id"),
        name=name,
        full_name=full_name,
        owner=owner,
        private=r.flag("private"),
        fork=r.flag("fork"),
        archived=r.flag("archived"),
        description=r.opt_text("description"),
        language=r.opt_text("language"),
        stargazers_count=r.integer("stargazers_count", 0),
        forks_count=r.integer("forks_count", 0),
        watchers_count=r.integer("watchers_count", 0),
        open_issues_count=r.integer("open_issues_count", 0),
        size=r.integer("size", 0),
        default_branch=r.opt_text("default_branch"),
        topics=r.texts("topics"),
        visibility=r.opt_text("visibility"),
        html_url=r.opt_text("html_url"),
        homepage=r.opt_text("homepage"),
        created_at=r.stamp("created_at"),
        updated_at=r.stamp("updated_at"),
        pushed_at=r.stamp("pushed_at"),
        raw=r.raw(),
    )


def parse_languages(data: object) -> dict[str, int]:
    """``{language: bytes of code}`` from ``GET /repos/{owner}/{repo}/languages``."""
    r = _Reader(data, "languages")
    out: dict[str, int] = {}
    for name in r.data:
        out[name] = r.integer(name)
    return out


def parse_rate_limits(data: object) -> dict[str, RateLimit]:
    """Every resource's quota from ``GET /rate_limit``'s JSON (``resources``)."""
    resources = _Reader(data, "rate limit status").data.get("resources")
    r = _Reader(resources, "rate limit resources")
    out: dict[str, RateLimit] = {}
    for name, entry in r.data.items():
        q = _Reader(entry, f"rate limit of {name!r}")
        out[name] = RateLimit(
            resource=name,
            limit=q.integer("limit"),
            remaining=q.integer("remaining"),
            used=q.integer("used", 0) if "used" in q.data else None,
            reset=q.integer("reset"),
        )
    return out


def page_items(data: object, what: str) -> list[Any]:
    """The items of one page: the list itself, or the list under ``items`` (search results)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        lists = [k for k, v in data.items() if isinstance(v, list)]
        key = "items" if "items" in lists else (lists[0] if len(lists) == 1 else None)
        if key is not None:
            return list(data[key])
    raise InvalidResponse(f"expected {what} to be a JSON list, got {_kind(data)}")


# -- errors ----------------------------------------------------------------------------------


def _error_body(response: Response) -> tuple[str | None, str | None, tuple[FieldError, ...]]:
    try:
        data = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, None, ()
    if not isinstance(data, dict):
        return None, None, ()
    message = data.get("message") if isinstance(data.get("message"), str) else None
    docs = data.get("documentation_url")
    errors: list[FieldError] = []
    listed = data.get("errors")
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, str):
            errors.append(FieldError(message=item))
        elif isinstance(item, dict):
            errors.append(
                FieldError(
                    **{
                        k: str(item[k])
                        for k in ("resource", "field", "code", "message")
                        if item.get(k) is not None
                    }
                )
            )
    return message, docs if isinstance(docs, str) else None, tuple(errors)


def refusal_error(
    response: Response,
    refusal: Refusal,
    why: str,
    *,
    now: float,
    skew: float,
    held_for: float,
) -> RateLimitExceeded:
    """The error for a rate-limit refusal the client will not (or may no longer) wait for.

    Args:
        response: The refusal.
        refusal: What it is (see :func:`refusal_of`).
        why: Why the client gives up, for the message.
        now: Wall-clock epoch seconds.
        skew: Seconds added to a primary limit's reset.
        held_for: How long the limiter holds requests after it, when it told no wait itself.
    """
    if refusal.retry_after is not None:
        wait = refusal.retry_after
    elif refusal.reset_after is not None:
        wait = refusal.reset_after + skew
    else:
        wait = held_for
    quota = refusal.quota
    return RateLimitExceeded(
        why,
        kind=refusal.kind,
        resource=refusal.resource,
        retry_after=wait,
        reset_at=now + wait,
        limit=None if quota is None else quota.limit,
        request=response.request,
        response=response,
    )


def error_for(response: Response) -> GitHubAPIError:
    """The typed error for an error response that is not a rate limit (see :func:`refusal_of`).

    Args:
        response: A response with status >= 400 (body read).
    """
    message, docs, errors = _error_body(response)
    status = response.status_code
    if status == 401:
        return BadCredentials(response, message=message, documentation_url=docs)
    if status == 403:
        return Forbidden(response, message=message, documentation_url=docs)
    if status == 404:
        return NotFound(response, message=message, documentation_url=docs)
    if status == 422:
        return ValidationFailed(response, message=message, documentation_url=docs, errors=errors)
    return GitHubAPIError(response, message=message, documentation_url=docs)


def refusal_of(response: Response, now: float) -> Refusal | None:
    """:func:`classify_refusal` of a received response (body included)."""
    body = response._content or b""
    return classify_refusal(response.status_code, response.headers, body, now)


# -- pagination ------------------------------------------------------------------------------


def page_of(url: str) -> int | None:
    """The ``page`` query parameter of ``url``, if it has a numeric one."""
    values = parse_qs(urlsplit(url).query).get("page")
    if values and values[-1].isdigit():
        return int(values[-1])
    return None


@dataclass(slots=True)
class PageCursor:
    """Where a paginated listing stands: the next page to fetch, and what came so far.

    The cursor follows ``rel="next"`` exactly as the server wrote it (resolved against the
    page's URL), and refuses a link to another origin than the API's: the client's token
    must not follow a link elsewhere.

    Attributes:
        url: The next page to fetch (``None``: the listing is complete).
        origin: The API's origin; links elsewhere raise :class:`GitHubError`.
        pages: Pages fetched so far.
        items: Items seen so far.
        last_page: The last page's number, when the server announced ``rel="last"``.
    """

    url: str | None
    origin: str
    pages: int = 0
    items: int = 0
    last_page: int | None = None

    @property
    def next_page(self) -> int | None:
        """The page number of :attr:`url` (what to pass as ``start_page=`` to resume)."""
        return None if self.url is None else page_of(self.url)

    def advance(self, page_url: str, link_values: Iterable[str], count: int) -> None:
        """Record one fetched page and move to the next page (or the end).

        Args:
            page_url: The URL the page was fetched from.
            link_values: Its ``Link`` header fields.
            count: How many items it held (an empty page ends the listing).
        """
        links = parse_links(link_values)
        target = find_rel(links, "next")
        last = find_rel(links, "last")
        if last is not None:
            self.last_page = page_of(urljoin(page_url, last))
        next_url = None
        if target is not None and count:
            next_url = urljoin(page_url, target)
            if origin_of(next_url) != origin_of(self.origin):
                raise GitHubError(
                    f"refusing to follow a pagination link out of {self.origin}: the server "
                    f"gave {origin_of(next_url)}"
                )
            if next_url == page_url:
                raise GitHubError(f"the server's next page is the page itself ({page_url})")
        self.url = next_url
        self.pages += 1
        self.items += count


def read_page(
    response: Response, cursor: PageCursor, parse: Callable[[object], T], what: str
) -> list[T]:
    """The parsed items of one fetched page; the cursor moves on only once they parsed.

    So a page that fails (an error status, a malformed item) is the cursor's next page still,
    and ``start_page=cursor.next_page`` resumes exactly there.
    """
    items = [parse(item) for item in page_items(parse_json(response), what)]
    cursor.advance(response.url, response.headers.get_list("link"), len(items))
    return items


def server_time(headers: Mapping[str, str], now: float) -> float:
    """The response's ``Date`` in epoch seconds (``now`` when it has none or a bad one)."""
    value = headers.get("date")
    if not value:
        return now
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return now


def identity(item: object) -> Any:
    """Items of a generic listing, as decoded."""
    return item
