"""A fake GitHub REST API, for tests, demos and benchmarks on a machine without internet.

It mimics what restwell's GitHub client uses, the way api.github.com answers:

- ``GET /users/{username}``, ``GET /users/{username}/repos`` (paginated by ``per_page`` and
  ``page``, with ``Link`` rel ``prev``/``next``/``last``/``first`` as absolute URLs that, like
  GitHub's, point at ``/user/{id}/repos``), ``GET /repos/{owner}/{repo}/languages``,
  ``GET /search/repositories`` (422 ``Validation Failed`` without ``q``) and ``GET /rate_limit``.
- Deterministic data: users ``user1`` .. ``userN``, each with M repositories ``repo-001`` ...
- ``ETag`` on every answer and ``If-None-Match`` → 304, which does not count against the limit.
- ``X-RateLimit-Limit/-Remaining/-Reset/-Used/-Resource`` counting down per token (per client
  address when anonymous) and per resource, resetting after a configurable window; a spent
  quota is refused with 403 (or 429) and GitHub's message.
- Secondary limits on demand (:meth:`FakeGitHub.trigger_secondary`): 403 or 429, with or
  without ``Retry-After``, with GitHub's message; injected failures (:meth:`FakeGitHub.fail_next`).
- 401 ``Bad credentials`` for a token not in ``tokens``; 403 for a forbidden user; GitHub's
  404 body (``{"message": "Not Found", "documentation_url": ...}``); configurable latency.
- Every request is logged (:attr:`FakeGitHub.requests`), so tests count what reached the server.

The clock is injectable (``GitHubSettings.clock``): share a fake clock with the client and the
rate-limit windows, ``Date`` headers and resets follow it, so nothing really waits in tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import multiprocessing
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any, Final
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from restwell.server._run import bind, serve_app_in_thread

__all__ = [
    "FakeGitHub",
    "FakeRequest",
    "GitHubSettings",
    "create_github_app",
    "login_of",
    "run_github",
    "serve_github_in_process",
    "serve_github_in_thread",
]

DOCS: Final = "https://docs.github.com/rest"
PRIMARY_DOCS: Final = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)
SECONDARY_DOCS: Final = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)
_LANGUAGES: Final = ("Python", "Rust", "Go", "TypeScript", "C", "Shell", "JavaScript", "Haskell")
_EPOCH: Final = datetime(2015, 3, 1, tzinfo=UTC)
_VARY: Final = "Accept, Authorization, Cookie, X-GitHub-OTP"
_SHOWN: Final = ("accept", "user-agent", "x-github-api-version")


def login_of(number: int) -> str:
    """The login of the fake's user number ``number`` (1-based): ``user1``, ``user2``, ..."""
    return f"user{number}"


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    """How the fake GitHub behaves.

    Attributes:
        users: Number of users (``user1`` .. ``userN``).
        repos_per_user: Repositories each user has.
        rate_limit: Requests per window for a token (GitHub: 5000 per hour).
        anonymous_rate_limit: Requests per window without a token, per client address.
        search_rate_limit: Search requests per search window (GitHub: 30 per minute).
        window: Seconds of a core window (GitHub: an hour).
        search_window: Seconds of a search window.
        latency: Seconds added to every request.
        primary_status: Status of a primary-limit refusal (GitHub sends 403; 429 is allowed).
        max_age: ``Cache-Control: private, max-age=...`` of successful reads.
        tokens: Valid tokens; ``None`` accepts every token.
        forbidden_users: Logins whose endpoints answer 403 Forbidden (not a rate limit).
        clock: Wall-clock epoch seconds (windows, resets, ``Date``).
    """

    users: int = 10
    repos_per_user: int = 30
    rate_limit: int = 5000
    anonymous_rate_limit: int = 60
    search_rate_limit: int = 30
    window: float = 3600.0
    search_window: float = 60.0
    latency: float = 0.0
    primary_status: int = 403
    max_age: int = 60
    tokens: frozenset[str] | None = None
    forbidden_users: frozenset[str] = frozenset({"blocked"})
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if self.users < 0 or self.repos_per_user < 0:
            raise ValueError("users and repos_per_user must not be negative")
        if min(self.rate_limit, self.anonymous_rate_limit, self.search_rate_limit) < 0:
            raise ValueError("rate limits must not be negative")
        if self.window <= 0 or self.search_window <= 0 or self.latency < 0:
            raise ValueError("windows must be positive and latency not negative")
        if self.primary_status not in (403, 429):
            raise ValueError("primary_status must be 403 or 429")


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """One request the fake received.

    Attributes:
        at: Its clock's time when the request was handled.
        method: The method.
        path: Path and query.
        who: ``token:<hash>`` or ``ip:<address>``: whose quota it drew on.
        resource: The quota's resource (``None`` for ``/rate_limit``).
        status: The status answered.
        counted: Whether it counted against the quota.
        outcome: ``ok``, ``not_modified``, ``primary``, ``secondary``, ``unauthorized``,
            ``injected`` or ``error`` (a 4xx of the endpoint itself).
        conditional: Whether it carried ``If-None-Match``.
        headers: The request's ``Accept``, ``User-Agent`` and ``X-GitHub-Api-Version`` (never
            its credentials), lower-case names.
    """

    at: float
    method: str
    path: str
    who: str
    resource: str | None
    status: int
    counted: bool
    outcome: str
    conditional: bool
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Bucket:
    limit: int
    remaining: int
    reset: int


@dataclass(slots=True)
class _Secondary:
    status: int
    retry_after: int | None
    message: bool


@dataclass(slots=True)
class _Failure:
    status: int
    contains: str


class FakeGitHub:
    """The fake's state: data, quotas, switches and the request log (thread-safe).

    Args:
        settings: The configuration (defaults when omitted).
    """

    def __init__(self, settings: GitHubSettings | None = None) -> None:
        self.settings = settings or GitHubSettings()
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._log: list[FakeRequest] = []
        self._secondary: list[_Secondary] = []
        self._failures: list[_Failure] = []
        self._repo_cache: dict[str, tuple[dict[str, Any], ...]] = {}
        self._ids = 0

    def reset(self, settings: GitHubSettings | None = None) -> None:
        """Start over: forget quotas, switches and the log, and maybe change the settings.

        For test suites that share one running server between tests.
        """
        with self._lock:
            if settings is not None:
                self.settings = settings
            self._buckets.clear()
            self._log.clear()
            self._secondary.clear()
            self._failures.clear()
            self._repo_cache.clear()

    # -- data ----------------------------------------------------------------------------

    def _number(self, login: str) -> int | None:
        if not login.startswith("user") or not login[4:].isdigit():
            return None
        number = int(login[4:])
        return number if 1 <= number <= self.settings.users and login == login_of(number) else None

    def user(self, login: str) -> dict[str, Any] | None:
        """The JSON of user ``login`` (``None`` if there is none)."""
        number = self._number(login)
        if number is None:
            return None
        created = _EPOCH + timedelta(days=number * 11)
        return {
            "login": login,
            "id": 1000 + number,
            "node_id": f"U_{1000 + number}",
            "avatar_url": f"https://avatars.example/u/{1000 + number}",
            "html_url": f"https://github.example/{login}",
            "type": "User",
            "site_admin": False,
            "name": f"User {number}",
            "company": None if number % 3 else "@restwell",
            "blog": "",
            "location": ("Lisbon", "Nairobi", "Osaka", None)[number % 4],
            "email": None,
            "hireable": None,
            "bio": f"Fake user number {number}.",
            "public_repos": self.settings.repos_per_user,
            "public_gists": number % 5,
            "followers": (number * 37) % 500,
            "following": (number * 11) % 50,
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(days=400)),
        }

    def repos(self, login: str) -> list[dict[str, Any]]:
        """Every repository of user ``login``, in name order (a fresh copy)."""
        return list(self._repos_of(login))

    def _repos_of(self, login: str) -> tuple[dict[str, Any], ...]:
        found = self._repo_cache.get(login)
        if found is None:
            number = self._number(login)
            if number is None:
                return ()
            count = self.settings.repos_per_user
            found = tuple(self._repo(number, j) for j in range(1, count + 1))
            self._repo_cache[login] = found
        return found

    def _repo(self, number: int, j: int) -> dict[str, Any]:
        login = login_of(number)
        name = f"repo-{j:03d}"
        created = _EPOCH + timedelta(days=number * 11 + j)
        return {
            "id": number * 100_000 + j,
            "node_id": f"R_{number * 100_000 + j}",
            "name": name,
            "full_name": f"{login}/{name}",
            "private": False,
            "owner": {"login": login, "id": 1000 + number, "type": "User"},
            "html_url": f"https://github.example/{login}/{name}",
            "description": f"Repository {j} of {login}" if j % 4 else None,
            "fork": j % 5 == 0,
            "homepage": None,
            "size": (number * 97 + j * 31) % 10_000,
            "stargazers_count": (number * 31 + j * 17) % 500,
            "watchers_count": (number * 31 + j * 17) % 500,
            "language": _LANGUAGES[(number + j) % len(_LANGUAGES)],
            "forks_count": (number + j * 3) % 40,
            "open_issues_count": (number * j) % 25,
            "archived": j % 13 == 0,
            "topics": ["fake", _LANGUAGES[(number + j) % len(_LANGUAGES)].lower()],
            "visibility": "public",
            "default_branch": "main",
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(days=30)),
            "pushed_at": _iso(created + timedelta(days=29)),
        }

    def languages(self, owner: str, repo: str) -> dict[str, int] | None:
        """``{language: bytes}`` of ``owner/repo`` (``None`` if there is no such repository)."""
        number = self._number(owner)
        if number is None or not repo.startswith("repo-") or not repo[5:].isdigit():
            return None
        j = int(repo[5:])
        if not 1 <= j <= self.settings.repos_per_user or repo != f"repo-{j:03d}":
            return None
        count = 1 + (number + j) % 3
        return {
            _LANGUAGES[(number + j + k) % len(_LANGUAGES)]: (number * 7919 + j * 104_729) // (k + 1)
            for k in range(count)
        }

    # -- switches and the log ------------------------------------------------------------

    def trigger_secondary(
        self,
        times: int = 1,
        *,
        status: int = 403,
        retry_after: int | None = None,
        message: bool = True,
    ) -> None:
        """Refuse the next ``times`` requests with a secondary rate limit.

        Args:
            times: How many requests to refuse.
            status: 403 (GitHub's usual) or 429.
            retry_after: ``Retry-After`` seconds to send, or ``None`` for none.
            message: Send GitHub's message (``False``: a bare ``{"message": "Forbidden"}``).
        """
        if status not in (403, 429):
            raise ValueError("status must be 403 or 429")
        with self._lock:
            self._secondary.extend(_Secondary(status, retry_after, message) for _ in range(times))

    def fail_next(self, status: int, *, times: int = 1, path_contains: str = "") -> None:
        """Answer the next ``times`` requests whose path contains ``path_contains`` with ``status``.

        Such answers do not count against the limit.
        """
        with self._lock:
            self._failures.extend(_Failure(status, path_contains) for _ in range(times))

    def set_remaining(
        self, remaining: int, *, token: str | None = None, resource: str = "core"
    ) -> None:
        """Set what is left of a quota in the current window (starting one if needed).

        Args:
            remaining: Requests left.
            token: Whose quota (``None``: anonymous requests from 127.0.0.1).
            resource: ``core`` or ``search``.
        """
        who = _token_key(token) if token else "ip:127.0.0.1"
        with self._lock:
            bucket = self._bucket(who, resource, token is not None, self.settings.clock())
            bucket.remaining = min(remaining, bucket.limit)

    @property
    def requests(self) -> list[FakeRequest]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._log.clear()

    # -- serving -------------------------------------------------------------------------

    def _bucket(self, who: str, resource: str, authenticated: bool, now: float) -> _Bucket:
        s = self.settings
        if resource == "search":
            limit, window = s.search_rate_limit, s.search_window
        else:
            limit, window = (s.rate_limit if authenticated else s.anonymous_rate_limit), s.window
        bucket = self._buckets.get((who, resource))
        if bucket is None or now >= bucket.reset:
            bucket = _Bucket(limit, limit, math.ceil(now + window))
            self._buckets[(who, resource)] = bucket
        return bucket

    async def serve(
        self,
        request: Request,
        resource: str | None,
        produce: Callable[[], tuple[int, Any, dict[str, str]]],
    ) -> Response:
        """Answer one request: latency, credentials, switches, quota, conditional GET."""
        if self.settings.latency:
            await asyncio.sleep(self.settings.latency)
        s = self.settings
        now = s.clock()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        token = _bearer(request.headers.get("authorization"))
        host = request.client.host if request.client else "unknown"
        who = _token_key(token) if token else f"ip:{host}"
        conditional = "if-none-match" in request.headers
        with self._lock:
            self._ids += 1
            rid = f"FAKE:{self._ids:06d}"
            bucket = self._bucket(who, resource or "core", token is not None, now)
            headers = {"Date": formatdate(now, usegmt=True), "X-GitHub-Request-Id": rid}
            headers.update(_rate_headers(bucket, resource or "core"))
            status, body, outcome, counted = 200, None, "ok", False
            content: bytes | None = None
            if token is not None and s.tokens is not None and token not in s.tokens:
                status, outcome = 401, "unauthorized"
                body = {"message": "Bad credentials", "documentation_url": DOCS}
                headers = {k: v for k, v in headers.items() if not k.startswith("X-RateLimit")}
            elif failure := self._take_failure(path):
                status, outcome = failure.status, "injected"
                body = {"message": "Injected failure", "documentation_url": DOCS}
            elif self._secondary:
                rule = self._secondary.pop(0)
                status, outcome = rule.status, "secondary"
                message = SECONDARY_MESSAGE.format(rid=rid) if rule.message else "Forbidden"
                body = {"message": message, "documentation_url": SECONDARY_DOCS}
                if rule.retry_after is not None:
                    headers["Retry-After"] = str(rule.retry_after)
            elif resource is not None and bucket.remaining <= 0:
                status, outcome = s.primary_status, "primary"
                body = {
                    "message": f"API rate limit exceeded for {who}. (But here's the good news: "
                    "Authenticated requests get a higher rate limit.)",
                    "documentation_url": PRIMARY_DOCS,
                }
            else:
                status, body, extra = produce()
                headers.update(extra)
                content = _dump(body)
                etag = 'W/"' + hashlib.sha256(content).hexdigest()[:40] + '"'
                if status == 200:
                    headers["ETag"] = etag
                    headers["Cache-Control"] = f"private, max-age={s.max_age}, s-maxage={s.max_age}"
                    headers["Vary"] = _VARY
                if status == 200 and _matches(request.headers.get("if-none-match"), etag):
                    status, outcome = 304, "not_modified"
                else:
                    outcome = "ok" if status < 400 else "error"
                    if resource is not None:
                        bucket.remaining -= 1
                        counted = True
                        headers.update(_rate_headers(bucket, resource))
            shown = {k: request.headers[k] for k in _SHOWN if k in request.headers}
            self._log.append(
                FakeRequest(
                    now,
                    request.method,
                    path,
                    who,
                    resource,
                    status,
                    counted,
                    outcome,
                    conditional,
                    shown,
                )
            )
        if status == 304:
            return Response(status_code=304, headers=headers)
        return Response(
            content=content if content is not None else _dump(body),
            status_code=status,
            headers=headers,
            media_type="application/json; charset=utf-8",
        )

    def _take_failure(self, path: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.contains in path:
                return self._failures.pop(index)
        return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _token_key(token: str) -> str:
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() in ("bearer", "token") and credentials.strip():
        return credentials.strip()
    return None


def _rate_headers(bucket: _Bucket, resource: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(bucket.limit),
        "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
        "X-RateLimit-Reset": str(bucket.reset),
        "X-RateLimit-Used": str(bucket.limit - max(0, bucket.remaining)),
        "X-RateLimit-Resource": resource,
    }


def _matches(if_none_match: str | None, etag: str) -> bool:
    # RFC 9110 §13.1.2: weak comparison for If-None-Match.
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def _int_param(value: str | None, default: int, low: int, high: int) -> int:
    if value is None or not value.strip().isdigit():
        return default
    return min(max(int(value), low), high)


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return 404, {"message": "Not Found", "documentation_url": DOCS}, {}


def _forbidden() -> tuple[int, Any, dict[str, str]]:
    return 403, {"message": "Forbidden", "documentation_url": DOCS}, {}


def _page(request: Request, items: list[Any], link_path: str) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and its ``Link`` header (absolute URLs on ``link_path``)."""
    query = request.query_params
    per_page = _int_param(query.get("per_page"), 30, 1, 100)
    page = _int_param(query.get("page"), 1, 1, 1_000_000)
    last = max(1, math.ceil(len(items) / per_page))
    kept = [(k, v) for k, v in query.multi_items() if k not in ("page", "per_page")]
    base = str(request.base_url).rstrip("/") + link_path

    def url(number: int) -> str:
        return f"{base}?{urlencode([*kept, ('per_page', per_page), ('page', number)])}"

    links = []
    if page > 1:
        links += [f'<{url(min(page - 1, last))}>; rel="prev"']
    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"']
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page : page * per_page], headers


def create_github_app(
    settings: GitHubSettings | None = None, *, fake: FakeGitHub | None = None
) -> FastAPI:
    """The fake GitHub as an ASGI app (its state is ``app.state.fake``).

    Args:
        settings: The configuration (ignored when ``fake`` is given).
        fake: The state to serve, when the caller wants to inspect or steer it.
    """
    state = fake or FakeGitHub(settings)
    app = FastAPI(title="fake GitHub", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.fake = state

    @app.exception_handler(StarletteHTTPException)
    async def github_errors(request: Request, exc: StarletteHTTPException) -> Response:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        return Response(
            content=_dump({"message": message, "documentation_url": DOCS}),
            status_code=exc.status_code,
            media_type="application/json; charset=utf-8",
        )

    @app.get("/rate_limit")
    async def rate_limit(request: Request) -> Response:
        def produce() -> tuple[int, Any, dict[str, str]]:
            token = _bearer(request.headers.get("authorization"))
            host = request.client.host if request.client else "unknown"
            who = _token_key(token) if token else f"ip:{host}"
            now = state.settings.clock()
            resources = {}
            for name in ("core", "search"):
                b = state._bucket(who, name, token is not None, now)
                used = b.limit - b.remaining
                resources[name] = {
                    "limit": b.limit,
                    "remaining": b.remaining,
                    "reset": b.reset,
                    "used": used,
                    "resource": name,
                }
            return 200, {"resources": resources, "rate": resources["core"]}, {}

        return await state.serve(request, None, produce)

    @app.get("/users/{username}")
    async def get_user(request: Request, username: str) -> Response:
        def produce() -> tuple[int, Any, dict[str, str]]:
            if username in state.settings.forbidden_users:
                return _forbidden()
            user = state.user(username)
            return (200, user, {}) if user is not None else _not_found()

        return await state.serve(request, "core", produce)

    def _repos_of(request: Request, login: str | None) -> tuple[int, Any, dict[str, str]]:
        if login in state.settings.forbidden_users:
            return _forbidden()
        user = None if login is None else state.user(login)
        if login is None or user is None:
            return _not_found()
        items, headers = _page(request, list(state._repos_of(login)), f"/user/{user['id']}/repos")
        return 200, items, headers

    @app.get("/users/{username}/repos")
    async def list_repos(request: Request, username: str) -> Response:
        return await state.serve(request, "core", lambda: _repos_of(request, username))

    @app.get("/user/{user_id}/repos")
    async def list_repos_by_id(request: Request, user_id: str) -> Response:
        login = None
        if user_id.isdigit() and state._number(login_of(int(user_id) - 1000)) is not None:
            login = login_of(int(user_id) - 1000)
        return await state.serve(request, "core", lambda: _repos_of(request, login))

    @app.get("/repos/{owner}/{repo}/languages")
    async def languages(request: Request, owner: str, repo: str) -> Response:
        def produce() -> tuple[int, Any, dict[str, str]]:
            if owner in state.settings.forbidden_users:
                return _forbidden()
            found = state.languages(owner, repo)
            return (200, found, {}) if found is not None else _not_found()

        return await state.serve(request, "core", produce)

    @app.get("/search/repositories")
    async def search(request: Request) -> Response:
        def produce() -> tuple[int, Any, dict[str, str]]:
            q = (request.query_params.get("q") or "").strip()
            if not q:
                body = {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Search", "field": "q", "code": "missing"}],
                    "documentation_url": "https://docs.github.com/v3/search",
                    "status": "422",
                }
                return 422, body, {}
            found = [
                repo
                for number in range(1, state.settings.users + 1)
                for repo in state._repos_of(login_of(number))
                if q.lower() in repo["full_name"].lower()
            ]
            items, headers = _page(request, found, "/search/repositories")
            return (
                200,
                {"total_count": len(found), "incomplete_results": False, "items": items},
                (headers),
            )

        return await state.serve(request, "search", produce)

    return app


def _server(app: FastAPI, timeout: float) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            # The app sends its own Date (from its clock) and no Server header.
            date_header=False,
            server_header=False,
            timeout_graceful_shutdown=math.ceil(timeout),
        )
    )


def run_github(
    settings: GitHubSettings | None = None, host: str = "127.0.0.1", port: int = 8080
) -> None:
    """Serve the fake GitHub with uvicorn until interrupted.

    Args:
        settings: The configuration.
        host: Address to listen on.
        port: Port to listen on.
    """
    sock = bind(host, port)
    try:
        _server(create_github_app(settings), 10.0).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serve_github_in_thread(
    settings: GitHubSettings | None = None,
    *,
    fake: FakeGitHub | None = None,
    timeout: float = 10.0,
) -> Iterator[str]:
    """Run the fake GitHub on a free port of 127.0.0.1 in a background thread.

    Example::

        fake = FakeGitHub(GitHubSettings(users=3, latency=0.05))
        with serve_github_in_thread(fake=fake) as url:
            with GitHubClient(base_url=url) as gh:
                gh.get_user("user1")
        assert len(fake.requests) == 1

    Args:
        settings: The configuration (ignored when ``fake`` is given).
        fake: The state to serve, to inspect or steer it from the test.
        timeout: Seconds to wait for the server to start, and then to stop.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:54321``.

    Raises:
        RuntimeError: The server did not start.
    """
    app = create_github_app(settings, fake=fake)
    # The app sends its own Date (from its clock) and no Server header.
    with serve_app_in_thread(
        app, name="fake GitHub", timeout=timeout, date_header=False, server_header=False
    ) as url:
        yield url


def _child(settings: GitHubSettings | None, conn: Any) -> None:
    """Serve in a child process: bind a free port, report it, serve until terminated."""
    sock = bind()
    server = _server(create_github_app(settings), 5.0)
    conn.send(sock.getsockname()[1])
    conn.close()
    with suppress(SystemExit, KeyboardInterrupt):
        server.run(sockets=[sock])


@contextmanager
def serve_github_in_process(
    settings: GitHubSettings | None = None, *, timeout: float = 30.0
) -> Iterator[str]:
    """Run the fake GitHub on a free port of 127.0.0.1 in a child process.

    For benchmarks: a server in a thread shares the interpreter lock with the client it
    serves, so its work would be counted as the client's. (Its state cannot be inspected from
    the parent: use :func:`serve_github_in_thread` for that.)

    Args:
        settings: The configuration (its ``clock`` must be picklable, as ``time.time`` is).
        timeout: Seconds to wait for the server to start, and then to stop.

    Yields:
        The base URL.

    Raises:
        RuntimeError: The server did not start.
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(settings, child), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise RuntimeError("the fake GitHub process did not start")
        port = int(parent.recv())
        deadline = time.monotonic() + timeout
        while True:  # accepting connections once uvicorn has started
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake GitHub on port {port} did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        parent.close()
        process.terminate()
        process.join(timeout)
        if process.is_alive():  # pragma: no cover - uvicorn ignored SIGTERM
            process.kill()
            process.join(timeout)
