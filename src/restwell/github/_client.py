"""``GitHubClient`` and ``AsyncGitHubClient``: the core's decisions over restwell's clients.

Each client is a :class:`restwell.Client` / :class:`restwell.AsyncClient` (so any backend:
urllib3 or aiohttp by default, or the user's ``requests``/``httpx2``/``httpx``/``aiohttp``
session) configured for GitHub:

- GitHub's headers and token, a :class:`~restwell.github._ratelimit.GitHubRetryPolicy`, and an
  HTTP cache (so ``ETag``/``Last-Modified`` revalidation turns into 304s, which GitHub does not
  count against the rate limit).
- A :class:`~restwell.github._ratelimit.RateLimiter` wrapped around the backend: every request
  that really goes on the wire (cache hits do not) is admitted by it first. That is where all
  rate-limit waiting happens, once, for every task or thread of the client.

The two clients differ only in awaiting: the decisions (what to send, what a response means,
when to wait, what to raise) are the core's, written once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from restwell._flow import Clock, SystemClock, asleep, sleep
from restwell._models import Request, Response, Timeout, redact_url
from restwell.backends import (
    AiohttpBackend,
    AsyncBackend,
    SyncBackend,
    Urllib3Backend,
    async_backend_for,
    sync_backend_for,
)
from restwell.cache import CacheStorage, MemoryCache
from restwell.client import AsyncClient, Client, Result
from restwell.errors import InvalidURL
from restwell.github._core import (
    API_VERSION,
    DEFAULT_BASE_URL,
    PageCursor,
    error_for,
    identity,
    languages_path,
    parse_json,
    parse_languages,
    parse_rate_limits,
    parse_repo,
    parse_user,
    read_page,
    refusal_error,
    refusal_of,
    request_headers,
    resolve_token,
    server_time,
    user_path,
    user_repos_path,
)
from restwell.github._errors import RateLimitExceeded
from restwell.github._models import RateLimit, RateLimitWait, Repo, User
from restwell.github._ratelimit import (
    Admission,
    GitHubRetryPolicy,
    RateLimiter,
    Step,
    resource_for,
)
from restwell.policy import RetryPolicy, origin_of

__all__ = ["AsyncGitHubClient", "AsyncPaginator", "GitHubClient", "Paginator"]

F = TypeVar("F")
T = TypeVar("T")
log = logging.getLogger("restwell.github")

try:
    _VERSION = version("restwell")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0"

USER_AGENT: Final = f"restwell-github/{_VERSION}"
# A waiter re-checks the limiter at least this often (seconds), whatever it was told.
_RECHECK: Final = 1.0
_CACHE_BYTES: Final = 16 * 1024 * 1024

OnRateLimit = Literal["wait", "raise"]
WaitHook = Callable[[RateLimitWait], None]


def _github_policy(retry: RetryPolicy | int, wait: bool, max_wait: float) -> GitHubRetryPolicy:
    if isinstance(retry, bool) or not isinstance(retry, RetryPolicy | int):
        raise TypeError(f"retry must be a RetryPolicy or an attempt count, not {retry!r}")
    if isinstance(retry, int):
        return GitHubRetryPolicy(max_attempts=retry, wait_on_rate_limit=wait, max_wait=max_wait)
    if isinstance(retry, GitHubRetryPolicy):
        return dataclasses.replace(retry, wait_on_rate_limit=wait)
    fields = {f.name: getattr(retry, f.name) for f in dataclasses.fields(RetryPolicy)}
    return GitHubRetryPolicy(**fields, wait_on_rate_limit=wait)


class _GitHubBase:
    """What both clients share: configuration, the limiter, and the meaning of responses."""

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: object | None = None,
        user_agent: str = USER_AGENT,
        api_version: str = API_VERSION,
        on_rate_limit: OnRateLimit = "wait",
        max_rate_limit_wait: float = 900.0,
        rate_limit_skew: float = 1.0,
        secondary_rate_limit_wait: float = 60.0,
        on_rate_limit_wait: WaitHook | Iterable[WaitHook] = (),
        cache: CacheStorage | bool = True,
        retry: RetryPolicy | int = 4,
        clock: Clock | None = None,
        **options: Any,
    ) -> None:
        if on_rate_limit not in ("wait", "raise"):
            raise ValueError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise InvalidURL(
                f"base_url must be an absolute http(s) URL, got {redact_url(base_url)!r}"
            )
        self.base_url = base_url.rstrip("/")
        self._origin = origin_of(self.base_url)
        self._base_path = parts.path.rstrip("/")
        self._token = resolve_token(token, os.environ)
        self._clock: Clock = clock or SystemClock()
        wait = on_rate_limit == "wait"
        self._limiter = RateLimiter(
            wait=wait,
            max_wait=max_rate_limit_wait,
            skew=rate_limit_skew,
            secondary_wait=secondary_rate_limit_wait,
        )
        self._policy = _github_policy(retry, wait, max_rate_limit_wait)
        self._hooks: tuple[WaitHook, ...] = (
            (on_rate_limit_wait,) if callable(on_rate_limit_wait) else tuple(on_rate_limit_wait)
        )
        self._waits: deque[RateLimitWait] = deque(maxlen=100)
        if cache is True:
            storage: CacheStorage | None = MemoryCache(_CACHE_BYTES)
        else:
            storage = cache or None
        self._http_options: dict[str, Any] = {
            "token": self._token,
            "headers": request_headers(user_agent, api_version),
            "retry": self._policy,
            "rate_limit": False,  # the GitHub limiter below replaces the per-origin gate
            "clock": self._clock,
            "cache": storage,
        }
        self._connect(session, options)

    def _connect(self, session: object | None, options: dict[str, Any]) -> None:
        """Create ``self.http`` (the sync or async restwell client) over ``session``."""
        raise NotImplementedError

    # -- what callers see ----------------------------------------------------------------

    @property
    def authenticated(self) -> bool:
        """Whether requests carry a token."""
        return self._token is not None

    @property
    def rate_limit(self) -> RateLimit | None:
        """The ``core`` quota as the latest responses announced it (``None`` before any)."""
        return self._limiter.quota("core")

    def quota(self, resource: str) -> RateLimit | None:
        """The quota of ``resource`` (``core``, ``search``, ...) as last announced."""
        return self._limiter.quota(resource)

    @property
    def rate_limit_waits(self) -> list[RateLimitWait]:
        """The latest rate-limit waits (up to 100), oldest first."""
        return list(self._waits)

    @property
    def limiter(self) -> RateLimiter:
        """The client's shared rate limiter."""
        return self._limiter

    @property
    def retry_policy(self) -> GitHubRetryPolicy:
        """The retry policy of every request."""
        return self._policy

    def __repr__(self) -> str:
        auth = "token" if self._token else "anonymous"
        return f"<{type(self).__name__} {redact_url(self.base_url)!r} {auth}>"

    # -- shared decisions ------------------------------------------------------------------

    def _resource(self, url: str) -> str | None:
        path = urlsplit(url).path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        return resource_for(path)

    def _target(self, path_or_url: str) -> str:
        """A path under the API root, or an absolute URL that must stay on the API's origin."""
        if "://" in path_or_url:
            if origin_of(path_or_url) != self._origin:
                raise InvalidURL(
                    f"refusing to send the GitHub token to {redact_url(path_or_url)!r}: it is "
                    f"not on {self._origin}"
                )
            return path_or_url
        return "/" + path_or_url.lstrip("/")

    def _report(self, event: RateLimitWait) -> None:
        log.warning(
            "GitHub %s rate limit (%s): waiting %.1fs, until %s",
            event.kind,
            event.reason,
            event.seconds,
            event.reset_datetime.strftime("%Y-%m-%d %H:%M:%SZ"),
            extra={
                "github_kind": event.kind,
                "github_resource": event.resource,
                "github_wait": event.seconds,
                "github_reset_at": event.reset_at,
            },
        )
        self._waits.append(event)
        for hook in self._hooks:
            hook(event)

    def _settled(self, response: Response, attempt: int) -> bool:
        """Whether ``response`` is the answer (``True``), or to be sent again (``False``).

        Raises the typed error for an error status. Rate limits told by headers were already
        retried by the flow; only a secondary limit told by its message comes back here, to be
        sent again once the limiter (which has seen it) lets it through.
        """
        if response.status_code < 400:
            return True
        now = self._clock.time()
        refusal = refusal_of(response, now)
        if refusal is None:
            raise error_for(response)
        if not self._limiter.wait:
            why = "on_rate_limit='raise'"
        elif refusal.detected_by == "message" and attempt < self._policy.max_attempts:
            return False
        else:
            why = f"still refused after {response.attempts + attempt - 1} attempt(s)"
        raise refusal_error(
            response,
            refusal,
            why,
            now=now,
            skew=self._limiter.skew,
            held_for=self._limiter.held_for(self._clock.monotonic()),
        )

    def _learn_rate_limits(self, response: Response) -> dict[str, RateLimit]:
        limits = parse_rate_limits(parse_json(response))
        server_now = server_time(response.headers, self._clock.time())
        mono = self._clock.monotonic()
        for quota in limits.values():
            reset_after = None if quota.reset is None else max(0.0, quota.reset - server_now)
            self._limiter.learn(quota, reset_after, mono)
        return limits

    def _repos_params(
        self, per_page: int, start_page: int, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if not 1 <= per_page <= 100:
            raise ValueError(f"per_page must be from 1 to 100, got {per_page}")
        if start_page < 1:
            raise ValueError(f"start_page must be 1 or more, got {start_page}")
        return {**(params or {}), "per_page": per_page, "page": start_page}

    def _cursor(self) -> PageCursor:
        return PageCursor(url=None, origin=self._origin)


_SEND_KEYS: Final = ("timeout", "cache_mode", "cache_key")


def _split_options(kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A call's keyword arguments: those that build the request, those that send it."""
    if "retry" in kwargs:
        raise TypeError("the GitHub client's retry policy is set on the client, not per call")
    build = {k: v for k, v in kwargs.items() if k not in _SEND_KEYS}
    return build, {k: v for k, v in kwargs.items() if k in _SEND_KEYS}


# -- the limiter's two drivers ---------------------------------------------------------------


def _body(response: Response) -> bytes:
    return response._content or b""


class _SyncGate:
    """Drives the limiter for threads: one lock, one sleeper, the others wait on a condition."""

    def __init__(self, owner: _GitHubBase) -> None:
        self._owner = owner
        self._cond = threading.Condition()

    def acquire(self, resource: str | None) -> None:
        limiter, clock = self._owner._limiter, self._owner._clock
        while True:
            with self._cond:
                while True:
                    admission = limiter.admit(resource, clock.monotonic(), clock.time())
                    if admission.step is Step.GO:
                        return
                    if admission.step is not Step.WAIT:
                        break
                    self._cond.wait(_RECHECK)
            self._sleep(admission)

    def _sleep(self, admission: Admission) -> None:
        if admission.error is not None:
            raise admission.error
        assert admission.event is not None
        slept = False
        try:
            self._owner._report(admission.event)
            sleep(admission.event.seconds)
            slept = True
        finally:
            with self._cond:
                self._owner._limiter.woke(slept)
                self._cond.notify_all()

    def release(self, resource: str | None, response: Response | None) -> None:
        clock = self._owner._clock
        with self._cond:
            self._owner._limiter.release(
                resource,
                None if response is None else response.status_code,
                None if response is None else response.headers,
                b"" if response is None else _body(response),
                clock.monotonic(),
                clock.time(),
            )
            self._cond.notify_all()

    def learn(self, response: Response) -> dict[str, RateLimit]:
        with self._cond:
            limits = self._owner._learn_rate_limits(response)
            self._cond.notify_all()
            return limits


class _AsyncGate:
    """Drives the limiter on an event loop: one sleeper, the others await a change."""

    def __init__(self, owner: _GitHubBase) -> None:
        self._owner = owner
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_for_change(self) -> None:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._loop is not loop:
            self._changed, self._loop = asyncio.Event(), loop
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), _RECHECK)

    async def acquire(self, resource: str | None) -> None:
        limiter, clock = self._owner._limiter, self._owner._clock
        while True:
            admission = limiter.admit(resource, clock.monotonic(), clock.time())
            if admission.step is Step.GO:
                return
            if admission.step is Step.WAIT:
                await self._wait_for_change()
                continue
            if admission.error is not None:
                raise admission.error
            assert admission.event is not None
            slept = False
            try:
                self._owner._report(admission.event)
                await asleep(admission.event.seconds)
                slept = True
            finally:
                limiter.woke(slept)
                self._notify()

    def release(self, resource: str | None, response: Response | None) -> None:
        clock = self._owner._clock
        self._owner._limiter.release(
            resource,
            None if response is None else response.status_code,
            None if response is None else response.headers,
            b"" if response is None else _body(response),
            clock.monotonic(),
            clock.time(),
        )
        self._notify()

    def learn(self, response: Response) -> dict[str, RateLimit]:
        limits = self._owner._learn_rate_limits(response)
        self._notify()
        return limits


class _LimitedBackend:
    """A sync backend whose every send is first admitted by the GitHub limiter."""

    def __init__(self, inner: SyncBackend, owner: _GitHubBase, gate: _SyncGate) -> None:
        self._inner, self._owner, self._gate = inner, owner, gate

    @property
    def session_headers(self) -> Any:
        """The wrapped session's own headers (see ``restwell.Client``)."""
        return getattr(self._inner, "session_headers", None)

    def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        resource = self._owner._resource(request.url)
        try:
            self._gate.acquire(resource)
        except RateLimitExceeded as exc:
            exc.request = request
            raise
        try:
            response = self._inner.send(request, timeout, stream)
        except BaseException:
            self._gate.release(resource, None)
            raise
        self._gate.release(resource, response)
        return response

    def close(self) -> None:
        self._inner.close()


class _AsyncLimitedBackend:
    """An async backend whose every send is first admitted by the GitHub limiter."""

    def __init__(self, inner: AsyncBackend, owner: _GitHubBase, gate: _AsyncGate) -> None:
        self._inner, self._owner, self._gate = inner, owner, gate

    @property
    def session_headers(self) -> Any:
        """The wrapped session's own headers (see ``restwell.AsyncClient``)."""
        return getattr(self._inner, "session_headers", None)

    async def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        resource = self._owner._resource(request.url)
        try:
            await self._gate.acquire(resource)
        except RateLimitExceeded as exc:
            exc.request = request
            raise
        try:
            response = await self._inner.send(request, timeout, stream)
        except BaseException:
            self._gate.release(resource, None)
            raise
        self._gate.release(resource, response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


# -- pagination ------------------------------------------------------------------------------


def _next_page(cursor: PageCursor, first: Mapping[str, Any] | None) -> int | None:
    if cursor.pages:
        return cursor.next_page
    page = (first or {}).get("page")
    return int(page) if page is not None else 1


class _Pages(Generic[F, T]):
    """What both paginators share: the cursor, the buffer and what they report."""

    def __init__(
        self,
        fetch: F,
        path: str,
        params: Mapping[str, Any] | None,
        cursor: PageCursor,
        parse: Callable[[object], T],
        what: str,
    ) -> None:
        self._fetch, self._params, self._parse, self._what = fetch, params, parse, what
        self.cursor = cursor
        cursor.url = path
        self._buffer: deque[T] = deque()

    @property
    def next_page(self) -> int | None:
        """The page number to fetch next (``None`` once the listing is complete)."""
        return _next_page(self.cursor, self._params)

    @property
    def pages(self) -> int:
        """Pages fetched so far."""
        return self.cursor.pages

    @property
    def last_page(self) -> int | None:
        """The last page's number, once the server announced it."""
        return self.cursor.last_page

    def _next_request(self) -> tuple[str, Mapping[str, Any] | None] | None:
        """URL and parameters of the page to fetch, or ``None`` when the listing is done."""
        url = self.cursor.url
        if url is None:
            return None
        return url, self._params if self.cursor.pages == 0 else None

    def _take(self, response: Response) -> None:
        self._buffer.extend(read_page(response, self.cursor, self._parse, self._what))


class Paginator(_Pages[Callable[[str, Mapping[str, Any] | None], Response], T]):
    """Items of a paginated listing, fetched page by page as iteration needs them.

    Pages are followed through ``Link: rel="next"`` as the server gives them. If a page
    fails, the error propagates and :attr:`next_page` still names that page, so::

        repos = gh.iter_repos("octocat")
        try:
            for repo in repos: ...
        except restwell.RestwellError:
            rest = gh.list_repos("octocat", start_page=repos.next_page)

    resumes where it stopped.
    """

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while not self._buffer:
            page = self._next_request()
            if page is None:
                raise StopIteration
            self._take(self._fetch(*page))
        return self._buffer.popleft()


class AsyncPaginator(_Pages[Callable[[str, Mapping[str, Any] | None], Awaitable[Response]], T]):
    """The async twin of :class:`Paginator`: ``async for item in paginator``."""

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while not self._buffer:
            page = self._next_request()
            if page is None:
                raise StopAsyncIteration
            self._take(await self._fetch(*page))
        return self._buffer.popleft()

    async def collect(self) -> list[T]:
        """Every remaining item, as a list."""
        return [item async for item in self]


# -- the clients -----------------------------------------------------------------------------

_DOC_ARGS = """
    Args:
        token: A GitHub token; ``None`` reads ``GITHUB_TOKEN``; ``""`` for anonymous requests.
            It is sent as ``Authorization: Bearer``, and never shown in reprs, logs or errors.
        base_url: The API root: ``https://api.github.com``, or GitHub Enterprise's
            ``https://HOST/api/v3``. Absolute URLs (pagination links) must stay on its origin.
        session: A session to send through (see the class description).
        user_agent: The ``User-Agent`` GitHub requires.
        api_version: The ``X-GitHub-Api-Version`` to ask for.
        on_rate_limit: ``"wait"`` (default) to wait for rate limits, up to
            ``max_rate_limit_wait``; ``"raise"`` to raise :class:`RateLimitExceeded` at once.
        max_rate_limit_wait: The longest wait allowed, in seconds (default 15 minutes); a
            longer one raises :class:`RateLimitExceeded` carrying the reset time.
        rate_limit_skew: Seconds added to a primary limit's reset, for clock skew.
        secondary_rate_limit_wait: First wait for a secondary limit without ``Retry-After``
            (GitHub says at least a minute); it doubles while the limit persists.
        on_rate_limit_wait: Callables told of every wait (a :class:`RateLimitWait`), before it.
        cache: The HTTP cache: ``True`` (default) for a 16 MiB in-memory one, a storage
            (``MemoryCache``, ``SQLiteCache``, ``RedisCache``), or ``False`` for none. With a
            cache, GitHub's ``ETag`` revalidation answers 304, which does not count against
            the rate limit.
        retry: Attempts per request (or a :class:`~restwell.RetryPolicy`, whose other rules
            apply to transient failures); rate-limit retries count as attempts.
        clock: Time sources (tests pass :class:`restwell.testing.FakeClock`).
        options: Other :class:`restwell.Client` options (``timeout``, ``budget``, ``breaker``,
            ``verify``, ...).
"""


class GitHubClient(_GitHubBase):
    """A GitHub REST API client (blocking), on restwell's :class:`~restwell.Client`.

    Runs on urllib3 by default, or on a session you pass: ``requests.Session``,
    ``httpx2.Client``, ``httpx.Client``. Rate limits are waited for (or raised), the HTTP cache
    makes repeated reads free, and threads sharing the client share one rate limiter.

    Example::

        with GitHubClient(base_url=url) as gh:
            user = gh.get_user("octocat")
            for repo in gh.iter_repos("octocat"):
                print(repo.full_name, gh.get_repo_languages("octocat", repo.name))
    """

    __doc__ = (__doc__ or "") + _DOC_ARGS

    def _connect(self, session: object | None, options: dict[str, Any]) -> None:
        inner: SyncBackend
        if session is not None:
            inner = sync_backend_for(session)
        else:
            inner = Urllib3Backend(verify=options.pop("verify", True))
        self._gate = _SyncGate(self)
        self.http = Client(
            self.base_url,
            backend=_LimitedBackend(inner, self, self._gate),
            **self._http_options,
            **options,
        )
        """The underlying :class:`restwell.Client` (GitHub's headers, token and policies)."""

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Response:
        """Send a request to the API and return its successful response.

        Rate limits are handled and error statuses raise the typed error (``NotFound``, ...).

        Args:
            method: HTTP method.
            path: A path under ``base_url`` (``/users/octocat``) or an absolute URL on its
                origin.
            params: Query parameters.
            kwargs: Other :meth:`restwell.Client.request` arguments (``json``, ``headers``,
                ``cache_mode``, ...).
        """
        build, send_options = _split_options(kwargs)
        request = self.http.build_request(method, self._target(path), params=params, **build)
        attempt = 0
        while True:
            attempt += 1
            response = self.http.send(request, **send_options)
            if self._settled(response, attempt):
                return response

    def _fetch(self, url: str, params: Mapping[str, Any] | None) -> Response:
        return self.request("GET", url, params=params)

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """``GET`` an endpoint and return its decoded JSON (for endpoints not wrapped here)."""
        return parse_json(self.request("GET", path, params=params))

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        per_page: int = 100,
        start_page: int = 1,
    ) -> Paginator[Any]:
        """Iterate the items of a paginated endpoint, following every ``rel="next"`` link.

        Args:
            path: The endpoint (``/orgs/python/repos``); a list per page, or an object with
                an ``items`` list (search).
            params: Query parameters of the first page.
            per_page: Items per page (1 to 100).
            start_page: The page to start from (to resume a listing).
        """
        query = self._repos_params(per_page, start_page, params)
        target = self._target(path)
        return Paginator(self._fetch, target, query, self._cursor(), identity, f"items of {path}")

    def get_user(self, username: str) -> User:
        """The account ``username`` (``GET /users/{username}``).

        Raises:
            NotFound: No such account.
        """
        return parse_user(parse_json(self.request("GET", user_path(username))))

    def iter_repos(
        self,
        username: str,
        *,
        per_page: int = 100,
        start_page: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> Paginator[Repo]:
        """Iterate ``username``'s public repositories, fetching every page as needed.

        Args:
            username: The account.
            per_page: Repositories per page (1 to 100).
            start_page: The page to start from; a failed listing's ``next_page`` resumes it.
            params: Other query parameters (``type``, ``sort``, ``direction``).
        """
        path = user_repos_path(username)
        query = self._repos_params(per_page, start_page, params)
        what = f"the repositories of {username!r}"
        return Paginator(self._fetch, path, query, self._cursor(), parse_repo, what)

    def list_repos(
        self,
        username: str,
        *,
        per_page: int = 100,
        start_page: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> list[Repo]:
        """Every public repository of ``username`` (all pages; see :meth:`iter_repos`)."""
        return list(
            self.iter_repos(username, per_page=per_page, start_page=start_page, params=params)
        )

    def get_repo_languages(self, owner: str, repo: str) -> dict[str, int]:
        """``{language: bytes of code}`` of ``owner/repo``."""
        return parse_languages(parse_json(self.request("GET", languages_path(owner, repo))))

    def get_rate_limit(self) -> dict[str, RateLimit]:
        """Every quota from ``GET /rate_limit`` (which does not count against any limit).

        The client's limiter learns them too, so a first burst of concurrent requests need not
        probe the quota with a single request first.
        """
        response = self.request("GET", "/rate_limit", cache_mode="skip")
        return self._gate.learn(response)

    def close(self) -> None:
        """Release the connections (a session you passed stays open)."""
        self.http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncGitHubClient(_GitHubBase):
    """The asyncio twin of :class:`GitHubClient`, on restwell's :class:`~restwell.AsyncClient`.

    Runs on aiohttp by default, or on a session you pass: ``httpx.AsyncClient``,
    ``httpx2.AsyncClient``, ``aiohttp.ClientSession``. Concurrent tasks share one rate
    limiter: when the quota runs out, one task waits for the reset and the others wait for it,
    and no request is sent while the quota is known to be spent.

    Example::

        async with AsyncGitHubClient(base_url=url) as gh:
            repos = await asyncio.gather(*(gh.list_repos(name) for name in names))
    """

    __doc__ = (__doc__ or "") + _DOC_ARGS

    def _connect(self, session: object | None, options: dict[str, Any]) -> None:
        inner: AsyncBackend
        if session is not None:
            inner = async_backend_for(session)
        else:
            inner = AiohttpBackend(verify=options.pop("verify", True))
        self._gate = _AsyncGate(self)
        self.http = AsyncClient(
            self.base_url,
            backend=_AsyncLimitedBackend(inner, self, self._gate),
            **self._http_options,
            **options,
        )
        """The underlying :class:`restwell.AsyncClient`."""

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Response:
        """Send a request and return its successful response (see :meth:`GitHubClient.request`)."""
        build, send_options = _split_options(kwargs)
        request = self.http.build_request(method, self._target(path), params=params, **build)
        attempt = 0
        while True:
            attempt += 1
            response = await self.http.send(request, **send_options)
            if self._settled(response, attempt):
                return response

    async def _fetch(self, url: str, params: Mapping[str, Any] | None) -> Response:
        return await self.request("GET", url, params=params)

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """``GET`` an endpoint and return its decoded JSON."""
        return parse_json(await self.request("GET", path, params=params))

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        per_page: int = 100,
        start_page: int = 1,
    ) -> AsyncPaginator[Any]:
        """Iterate a paginated endpoint's items (see :meth:`GitHubClient.paginate`)."""
        query = self._repos_params(per_page, start_page, params)
        target = self._target(path)
        return AsyncPaginator(
            self._fetch, target, query, self._cursor(), identity, f"items of {path}"
        )

    async def get_user(self, username: str) -> User:
        """The account ``username`` (see :meth:`GitHubClient.get_user`)."""
        return parse_user(parse_json(await self.request("GET", user_path(username))))

    def iter_repos(
        self,
        username: str,
        *,
        per_page: int = 100,
        start_page: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[Repo]:
        """Iterate ``username``'s repositories (see :meth:`GitHubClient.iter_repos`)."""
        path = user_repos_path(username)
        query = self._repos_params(per_page, start_page, params)
        what = f"the repositories of {username!r}"
        return AsyncPaginator(self._fetch, path, query, self._cursor(), parse_repo, what)

    async def list_repos(
        self,
        username: str,
        *,
        per_page: int = 100,
        start_page: int = 1,
        params: Mapping[str, Any] | None = None,
    ) -> list[Repo]:
        """Every public repository of ``username`` (all pages)."""
        pages = self.iter_repos(username, per_page=per_page, start_page=start_page, params=params)
        return await pages.collect()

    async def get_repo_languages(self, owner: str, repo: str) -> dict[str, int]:
        """``{language: bytes of code}`` of ``owner/repo``."""
        response = await self.request("GET", languages_path(owner, repo))
        return parse_languages(parse_json(response))

    async def get_rate_limit(self) -> dict[str, RateLimit]:
        """Every quota from ``GET /rate_limit`` (see :meth:`GitHubClient.get_rate_limit`)."""
        response = await self.request("GET", "/rate_limit", cache_mode="skip")
        return self._gate.learn(response)

    async def gather(
        self, awaitables: Iterable[Awaitable[T]], *, limit: int = 20
    ) -> list[Result[T]]:
        """Await many calls, at most ``limit`` at once (see ``restwell.AsyncClient.gather``)."""
        return await self.http.gather(awaitables, limit=limit)

    async def aclose(self) -> None:
        """Release the connections (a session you passed stays open)."""
        await self.http.aclose()

    async def __aenter__(self) -> AsyncGitHubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
