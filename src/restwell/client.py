"""``Client`` and ``AsyncClient``: the production API client of the founding document, done once.

Both share :class:`_ClientBase` for everything but I/O (building requests, defaults, policy
objects) and drive the same flow (:func:`restwell._flow.request_flow`); they differ only in
the runner and the backend.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json as _json
import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlencode, urlsplit

from restwell._flow import (
    CacheDelete,
    CacheGet,
    CacheLane,
    CacheMode,
    CachePut,
    Close,
    Collapse,
    Collapser,
    FastPath,
    FirstAttempt,
    Flow,
    FlowAction,
    RetryHook,
    Send,
    SendFirst,
    Sleep,
    Spawn,
    Ticket,
    aperform_cache,
    asleep,
    build_config,
    cached_flow,
    coerce_policy,
    perform_cache,
    request_flow,
    run_async,
    run_sync,
    sleep,
)
from restwell._flow._background import Revalidations
from restwell._flow._core import Clock
from restwell._models import Headers, Request, Response, Timeout, redact_url
from restwell.backends import (
    AiohttpBackend,
    AsyncBackend,
    SyncBackend,
    Urllib3Backend,
    async_backend_for,
    sync_backend_for,
)
from restwell.cache import CacheStorage, NonBlockingStorage
from restwell.errors import InvalidURL, TransportError
from restwell.policy import (
    NEEDS_KEY_METHODS,
    CircuitBreaker,
    OriginCache,
    RateLimitGate,
    RetryBudget,
    RetryPolicy,
    new_idempotency_key,
    origin_of,
)
from restwell.policy.cache import CachePolicy

__all__ = ["AsyncClient", "BlockingCallError", "Client", "Result"]

T = TypeVar("T")
R = TypeVar("R")
J = TypeVar("J")

try:
    _VERSION = version("restwell")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0"


class _Default:
    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
"""Marks an argument left at the client's setting (distinct from an explicit ``None``)."""

TimeoutArg = Timeout | float | tuple[float | None, float | None] | None


class BlockingCallError(RuntimeError):
    """A sync client was used inside a running event loop, where it would block every task."""


def _json_body(response: Response) -> Any:
    """The JSON body of a successful response: the status is checked before decoding."""
    response.raise_for_status()
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


class _ClientBase:
    """What the sync and async clients share: configuration and request building."""

    def __init__(
        self,
        base_url: str = "",
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: TimeoutArg | _Default = DEFAULT,
        retry: RetryPolicy | int | _Default | None = DEFAULT,
        budget: RetryBudget | bool = True,
        breaker: CircuitBreaker | bool = True,
        rate_limit: RateLimitGate | bool = True,
        idempotency_keys: bool = False,
        follow_redirects: bool = True,
        max_redirects: int = 20,
        on_retry: RetryHook | Iterable[RetryHook] = (),
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
        cache: CacheStorage | None = None,
        cache_policy: CachePolicy | None = None,
        cache_collapse: bool = False,
        cache_collapse_timeout: float = 5.0,
        default_headers: bool = True,
    ) -> None:
        if base_url:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidURL(
                    f"base_url must be an absolute http(s) URL, got {redact_url(base_url)!r}"
                )
        self.base_url = base_url.rstrip("/")
        self._origin = origin_of(base_url) if base_url else None
        self._origins = OriginCache()
        self.timeout = Timeout() if isinstance(timeout, _Default) else Timeout.of(timeout)
        self._headers = Headers(
            {"Accept": "application/json", "User-Agent": f"restwell/{_VERSION}"}
            if default_headers
            else None
        )
        self._bare = not default_headers
        if token is not None:
            self._headers.set("Authorization", f"Bearer {token}")
        elif auth is not None:
            pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers.set("Authorization", f"Basic {pair}")
        for name, value in (headers or {}).items():
            self._headers.set(name, value)
        self._explicit_headers = {name.lower() for name in headers or {}}
        if token is not None or auth is not None:
            self._explicit_headers.add("authorization")
        self._params = dict(params or {})
        self._idempotency_keys = idempotency_keys
        self._config = build_config(
            retry=_policy(retry),
            budget=budget,
            breaker=breaker,
            rate_limit=rate_limit,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            on_retry=on_retry,
            clock=clock,
            random=random,
        )
        self._cache = cache
        # Called in place by the cache flow: its calls never block (see InlineStorage).
        self._inline = cache if isinstance(cache, NonBlockingStorage) else None
        # Background revalidations running, by key: one at a time per stored response.
        self._revalidations = Revalidations()
        self._cache_policy = cache_policy or CachePolicy()
        # Concurrent misses of one cache key, by key: the first goes, the others wait.
        self._collapser: Collapser[Any] | None = None
        if cache_collapse:
            self._collapser = self._new_collapser(cache_collapse_timeout)
        self._closed = False

    def _new_collapser(self, timeout: float) -> Collapser[Any]:
        """The registry of collapsed misses, with the client's kind of event."""
        raise NotImplementedError

    def _adopt(self, backend: object) -> None:
        """Take on what the backend says of itself: its session's headers, its body form."""
        # Bodies kept as received (decode_content=False) are cached apart from decoded ones.
        self._coded = not getattr(backend, "decodes_content", True)
        # A wrapped session's own headers win over restwell's defaults.
        native = getattr(backend, "session_headers", None)
        if not isinstance(native, Headers):
            return
        for name in native:
            low = name.lower()
            value = str(native.get(name))
            # The library's own defaults (Accept: */*, User-Agent: python-requests/...) are
            # not the user's choices; restwell's JSON-minded defaults replace those.
            library_default = (low == "accept" and value == "*/*") or (
                low == "user-agent" and value.startswith("python-")
            )
            if low not in self._explicit_headers and not library_default:
                self._headers.remove(name)

    @property
    def headers(self) -> Headers:
        """The default headers sent with every request (mutable)."""
        return self._headers

    @property
    def retry_policy(self) -> RetryPolicy:
        """The default retry policy."""
        return self._config.retry

    @property
    def budget(self) -> RetryBudget | None:
        """The client's retry budget, if enabled."""
        return self._config.budget

    @property
    def breaker(self) -> CircuitBreaker | None:
        """The client's circuit breaker, if enabled."""
        return self._config.breaker

    @property
    def rate_limit(self) -> RateLimitGate | None:
        """The client's rate-limit gate, if enabled."""
        return self._config.gate

    def _url(self, url: str, params: Mapping[str, Any] | None) -> str:
        if "://" not in url:
            if not self.base_url:
                raise InvalidURL(f"relative URL {redact_url(url)!r} needs a client base_url")
            url = f"{self.base_url}/{url.lstrip('/')}" if url else self.base_url
        if self._params or params:
            merged = {**self._params, **(params or {})}
            query = urlencode({k: v for k, v in merged.items() if v is not None}, doseq=True)
            if query:
                url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def build_request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str | None] | None = None,
        idempotency_key: str | bool | None = None,
    ) -> Request:
        """Build the request a call would send (defaults merged), without sending it.

        Args:
            method: HTTP method.
            url: Absolute URL, or a path joined to ``base_url``.
            params: Query parameters (``None`` values are dropped).
            json: Body to send as JSON.
            data: Body to send as ``application/x-www-form-urlencoded``.
            content: Raw body.
            headers: Extra headers; a ``None`` value removes a default header.
            idempotency_key: A key to send, ``True`` for a fresh one, ``False`` for none;
                ``None`` follows the client's ``idempotency_keys`` setting.
        """
        method = method.upper()
        request_headers = self._headers.copy()
        if headers:
            for name, value in headers.items():
                if value is None:
                    request_headers.remove(name)
                else:
                    request_headers.set(name, value)
        body: bytes | None
        if json is not None:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            request_headers.setdefault_value("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            request_headers.setdefault_value("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(content, str):
            body = content.encode()
        else:
            body = content
        key_header = self._config.retry.idempotency_header
        if isinstance(idempotency_key, str):
            request_headers.set(key_header, idempotency_key)
        elif idempotency_key is True or (
            idempotency_key is None
            and self._idempotency_keys
            and method in NEEDS_KEY_METHODS
            and key_header not in request_headers
        ):
            # One key per logical operation: the flow resends this same Request on retries.
            request_headers.set(key_header, new_idempotency_key())
        full = self._url(url, params)
        origin = self._origin if "://" not in url else self._origins(full)
        return Request(method, full, request_headers, body, origin=origin)

    def _flow(
        self,
        request: Request,
        timeout: TimeoutArg | _Default,
        retry: RetryPolicy | int | _Default | None,
        stream: bool,
        cache_mode: CacheMode,
        cache_key: str | None,
    ) -> Flow[Response]:
        """The flow of one call: through the cache when there is one, else straight out."""
        if self._closed:
            raise RuntimeError("this client is closed")
        limits, policy = self._timeout(timeout), _call_policy(retry)
        if self._cache is None:
            return request_flow(request, limits, self._config, stream=stream, policy=policy)
        return cached_flow(
            request,
            limits,
            self._config,
            self._cache_policy,
            stream=stream,
            retry=policy,
            mode=cache_mode,
            key=cache_key,
            max_entry_bytes=self._cache.max_entry_bytes,
            coded=self._coded,
            collapse=self._collapser is not None,
            first_attempts=True,
            inline=self._inline,
        )

    def _lane(
        self,
        request: Request,
        timeout: TimeoutArg | _Default,
        retry: RetryPolicy | int | _Default | None,
        stream: bool,
        cache_mode: CacheMode,
        cache_key: str | None,
    ) -> Response | CacheLane | None:
        """A cached call's answer, or its lane to the origin, when it needs no flow.

        ``None``: the call takes the cache flow (see :class:`CacheLane` for which do not).
        """
        if (
            self._inline is None
            or stream
            or cache_mode != "default"
            or self._collapser is not None
            or not isinstance(retry, _Default)
            or self._closed
        ):
            return None
        assert self._cache is not None
        return CacheLane.begin(
            request,
            self._timeout(timeout),
            self._config,
            self._cache_policy,
            self._inline,
            key=cache_key,
            max_entry_bytes=self._cache.max_entry_bytes,
            coded=self._coded,
        )

    def _fast(self, retry: RetryPolicy | int | _Default | None) -> bool:
        """Whether the runner may make attempt 1 itself (nothing per call needs the flow)."""
        # With a cache, even cache_mode="skip" goes through the cache flow: it marks the
        # response "bypass", logs the decision, and an unsafe method still invalidates (§4.4);
        # that flow asks for attempt 1 with SendFirst instead.
        return self._cache is None and not self._closed and isinstance(retry, _Default)

    @property
    def cache(self) -> CacheStorage | None:
        """The client's cache storage, if any."""
        return self._cache

    def _timeout(self, timeout: TimeoutArg | _Default) -> Timeout:
        return self.timeout if isinstance(timeout, _Default) else Timeout.of(timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={redact_url(self.base_url)!r}>"


def _policy(retry: RetryPolicy | int | _Default | None) -> RetryPolicy:
    return RetryPolicy() if isinstance(retry, _Default) else coerce_policy(retry)


_SEND_OPTIONS = ("timeout", "retry", "cache_mode", "cache_key")


def _send_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the per-call send options out of a call's keyword arguments."""
    if not kwargs:
        return kwargs
    return {name: kwargs.pop(name) for name in _SEND_OPTIONS if name in kwargs}


def _call_policy(retry: RetryPolicy | int | _Default | None) -> RetryPolicy | None:
    return None if isinstance(retry, _Default) else _policy(retry)


class _Verbs(Generic[R, J]):
    """The per-method shortcuts, written once for both clients.

    ``R`` is what :meth:`request` returns (a ``Response``, or a coroutine of one for the async
    client) and ``J`` what :meth:`request_json` returns; each shortcut only forwards, so the
    same code serves both.
    """

    def request(self, method: str, url: str, **kwargs: Any) -> R:
        """Send a request (implemented by each client)."""
        raise NotImplementedError

    def request_json(self, method: str, url: str, **kwargs: Any) -> J:
        """Send a request and decode its JSON answer (implemented by each client)."""
        raise NotImplementedError

    def get(self, url: str, **kwargs: Any) -> R:
        """``GET url``."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> R:
        """``HEAD url``."""
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> R:
        """``OPTIONS url``."""
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> R:
        """``POST url`` (retried only with an idempotency key)."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> R:
        """``PUT url``."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> R:
        """``PATCH url`` (retried only with an idempotency key)."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> R:
        """``DELETE url``."""
        return self.request("DELETE", url, **kwargs)

    def get_json(self, url: str, **kwargs: Any) -> J:
        """``GET`` and decode JSON (see ``request_json``)."""
        return self.request_json("GET", url, **kwargs)

    def post_json(self, url: str, json: Any = None, **kwargs: Any) -> J:
        """``POST`` a JSON body and decode the JSON answer (see ``request_json``)."""
        return self.request_json("POST", url, json=json, **kwargs)

    def put_json(self, url: str, json: Any = None, **kwargs: Any) -> J:
        """``PUT`` a JSON body and decode the JSON answer (see ``request_json``)."""
        return self.request_json("PUT", url, json=json, **kwargs)

    def patch_json(self, url: str, json: Any = None, **kwargs: Any) -> J:
        """``PATCH`` a JSON body and decode the JSON answer (see ``request_json``)."""
        return self.request_json("PATCH", url, json=json, **kwargs)

    def delete_json(self, url: str, **kwargs: Any) -> J:
        """``DELETE`` and decode the JSON answer, if any (see ``request_json``)."""
        return self.request_json("DELETE", url, **kwargs)


class Client(_ClientBase, _Verbs[Response, Any]):
    """A pooled, resilient HTTP client for one API (blocking).

    Every call has a timeout (connect 5 s, read 30 s unless set), is retried with exponential
    backoff and full jitter when that is safe (idempotent methods, or POST/PATCH with an
    ``Idempotency-Key``), honours ``Retry-After`` and rate-limit headers, and goes through a
    retry budget and a per-origin circuit breaker.

    Args:
        base_url: Prefix of relative URLs, e.g. ``"https://api.example.com/v1"``.
        token: Bearer token sent as ``Authorization`` (never logged or shown).
        auth: ``(user, password)`` for HTTP Basic instead of a token.
        headers: Default headers (``Accept: application/json`` and a ``User-Agent`` are set).
        params: Default query parameters.
        timeout: Default per-attempt timeouts: a :class:`Timeout`, seconds, ``(connect, read)``,
            or ``None`` for no limit (explicitly).
        retry: A :class:`RetryPolicy`, an attempt count, or ``None`` for no retries.
        budget: Retry budget (``True``: the default one; ``False``: none).
        breaker: Circuit breaker per origin (``True``: the default one; ``False``: none).
        rate_limit: Pacing by rate-limit headers (``True``: on; ``False``: off).
        idempotency_keys: Add an ``Idempotency-Key`` to every POST/PATCH so it can be retried.
            Turn it on only for APIs that deduplicate by it.
        follow_redirects: Follow redirects (credentials are dropped when leaving the origin).
        max_redirects: Longest redirect chain followed.
        on_retry: Callables ``(request, record)`` called before each retry's wait.
        clock: Time sources (tests pass :class:`restwell.testing.FakeClock`).
        random: Jitter source (floats in ``[0, 1)``).
        backend: The HTTP library to use; urllib3 by default.
        session: A session you already have — ``requests.Session``, ``httpx2.Client`` /
            ``httpx.Client`` or ``urllib3.PoolManager`` — to send through, keeping its own
            settings (its headers win over restwell's defaults; its own retries are turned
            off so attempts are not multiplied).
        max_hosts: Hosts with a connection pool (default backend).
        max_connections_per_host: Pool size per host (default backend).
        verify: TLS verification: ``True``, ``False`` (unsafe) or a CA bundle path.
        cert: Client certificate for mutual TLS.
        max_body_size: Largest response body accepted, in bytes.
        allow_in_event_loop: Permit blocking calls from inside a running event loop.
        cache: An HTTP cache storage (``MemoryCache``, ``SQLiteCache``, ``RedisCache``):
            responses are stored and served by RFC 9111 rules, outside the retry layer.
        cache_policy: The cache's rules (private by default; ``CachePolicy(shared=True)`` for
            a shared cache, ``default_ttl=`` for responses without freshness information).
        cache_collapse: Request collapsing: when concurrent ``GET``/``HEAD`` requests miss
            the cache for the same key (URL and credentials), only the first goes to the
            origin; the others wait for it, then are answered from what it stored (or go
            to the origin themselves when nothing was stored). Streamed requests and
            ``cache_mode="refresh"``/``"skip"`` never collapse. Off by default.
        cache_collapse_timeout: Longest a collapsed request waits for the first one, in
            seconds, before going to the origin itself.
        default_headers: Send restwell's default ``Accept`` and ``User-Agent`` (and let the
            HTTP library add its own). ``False`` sends exactly the headers given.
        decode_content: Undo ``Content-Encoding``; ``False`` keeps the body as received.

    To forward requests verbatim, e.g. as the cache of a reverse proxy::

        Client(origin, default_headers=False, decode_content=False, follow_redirects=False,
               retry=None, cache=MemoryCache(), cache_policy=CachePolicy(shared=True))
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        backend: SyncBackend | None = None,
        session: object | None = None,
        max_hosts: int = 10,
        max_connections_per_host: int = 20,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        max_body_size: int | None = None,
        allow_in_event_loop: bool = False,
        decode_content: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        if session is not None:
            backend = sync_backend_for(session, max_body_size=max_body_size)
        self._backend: SyncBackend = backend or Urllib3Backend(
            max_hosts=max_hosts,
            max_connections_per_host=max_connections_per_host,
            verify=verify,
            cert=cert,
            max_body_size=max_body_size,
            decode_content=decode_content,
            bare=self._bare,
        )
        self._adopt(self._backend)
        self._allow_in_loop = allow_in_event_loop

    def _perform(self, action: FlowAction) -> Any:
        kind = type(action)
        if kind is Send:
            assert isinstance(action, Send)
            return self._backend.send(action.request, action.timeout, action.stream)
        if kind is SendFirst:
            assert isinstance(action, SendFirst)
            return self._attempt(action.request, action.timeout, action.stream)
        if kind is Sleep:
            assert isinstance(action, Sleep)
            return sleep(action.seconds)
        if kind is Close:
            assert isinstance(action, Close)
            return action.response.close()
        if kind is CacheGet or kind is CachePut or kind is CacheDelete:
            return perform_cache(self._cache, action)  # type: ignore[arg-type]
        if kind is Collapse:
            assert isinstance(action, Collapse)
            return self._collapse(action.key)
        if kind is Spawn:
            assert isinstance(action, Spawn)
            return self._revalidations.start_thread(action, self._perform)
        raise TypeError(f"unexpected flow action {action!r}")

    def _new_collapser(self, timeout: float) -> Collapser[threading.Event]:
        return Collapser(timeout, threading.Event, threading.Event.set)

    def _collapse(self, key: str) -> Ticket:
        """Lead ``key``, or block until its leader ends (at most the collapse timeout)."""
        assert self._collapser is not None
        joined = self._collapser.join(key)
        if isinstance(joined, Ticket):
            return joined
        start = time.monotonic()
        woken = joined.wait(self._collapser.timeout)
        return Ticket(False, time.monotonic() - start, not woken)

    def send(
        self,
        request: Request,
        *,
        timeout: TimeoutArg | _Default = DEFAULT,
        retry: RetryPolicy | int | _Default | None = DEFAULT,
        stream: bool = False,
        cache_mode: CacheMode = "default",
        cache_key: str | None = None,
    ) -> Response:
        """Send a built request through the cache, retry, breaker and redirect flow.

        Args:
            request: What to send (see :meth:`build_request`).
            timeout: Overrides the client's timeouts for this call.
            retry: Overrides the client's retry policy for this call.
            stream: Leave the body on the wire.
            cache_mode: ``"default"``, ``"refresh"`` (revalidate even a fresh entry) or
                ``"skip"`` (neither read nor write the cache).
            cache_key: A custom cache key for this call.
        """
        if not self._allow_in_loop and asyncio._get_running_loop() is not None:
            raise BlockingCallError(
                "restwell.Client would block the running event loop: use restwell.AsyncClient, "
                "or call it through asyncio.to_thread() (or pass allow_in_event_loop=True)"
            )
        lane = None
        if self._fast(retry) or (
            (lane := self._lane(request, timeout, retry, stream, cache_mode, cache_key)) is not None
        ):
            if isinstance(lane, Response):
                return lane  # found in the cache
            limits = self._timeout(timeout)
            response = self._attempt(request, limits, stream)
            if not isinstance(response, Response):
                flow = request_flow(request, limits, self._config, stream=stream, first=response)
                response = run_sync(flow, self._perform)
            return response if lane is None else lane.keep(response)
        flow = self._flow(request, timeout, retry, stream, cache_mode, cache_key)
        return run_sync(flow, self._perform)

    def _attempt(
        self, request: Request, limits: Timeout, stream: bool
    ) -> Response | FirstAttempt | None:
        """Attempt 1 made here rather than in a flow (see :class:`SendFirst`)."""
        path = FastPath.begin(request, limits, self._config)
        if path is None:
            return None
        try:
            response = self._backend.send(request, path.timeout, stream)
        except TransportError as exc:
            return path.failed(exc)
        return path.settle(response, self._config) or response

    def request(
        self,
        method: str,
        url: str,
        *,
        timeout: TimeoutArg | _Default = DEFAULT,
        retry: RetryPolicy | int | _Default | None = DEFAULT,
        **kwargs: Any,
    ) -> Response:
        """Send a request and return its response (any status: see ``raise_for_status``).

        Keyword arguments are those of :meth:`build_request`, plus ``timeout``, ``retry``,
        ``cache_mode`` and ``cache_key`` as in :meth:`send`.
        """
        options = _send_options(kwargs)
        return self.send(
            self.build_request(method, url, **kwargs), timeout=timeout, retry=retry, **options
        )

    @contextmanager
    def stream(self, method: str, url: str, **kwargs: Any) -> Iterator[Response]:
        """Send a request and leave its body on the wire: iterate ``iter_bytes()`` inside.

        Retries happen before the body is handed over; the connection is released on exit.
        """
        options = _send_options(kwargs)
        response = self.send(self.build_request(method, url, **kwargs), stream=True, **options)
        try:
            yield response
        finally:
            response.close()

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request; raise the typed error for a 4xx/5xx; else return the decoded JSON.

        The status is checked before the body is decoded, so an HTML error page raises
        :class:`~restwell.errors.HTTPStatusError`, never a ``JSONDecodeError``. A 204 or an
        empty body gives ``None``.
        """
        return _json_body(self.request(method, url, **kwargs))

    def close(self) -> None:
        """Release every pooled connection. The client cannot be used afterwards.

        Background revalidations still running get a moment to finish first.
        """
        if not self._closed:
            for thread in list(self._revalidations.threads):
                thread.join(1.0)
            self._closed = True
            self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(slots=True)
class _LoopEvent:
    """An ``asyncio.Event`` with the loop it belongs to (set only from that loop's thread)."""

    loop: asyncio.AbstractEventLoop
    event: asyncio.Event

    @staticmethod
    def new() -> _LoopEvent:
        return _LoopEvent(asyncio.get_running_loop(), asyncio.Event())

    def set(self) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.event.set()
        elif not self.loop.is_closed():
            # A leader's flow finalised elsewhere (garbage collected on another thread).
            self.loop.call_soon_threadsafe(self.event.set)


@dataclass(slots=True)
class Result(Generic[T]):
    """One item of :meth:`AsyncClient.gather`: its value or its error.

    Attributes:
        value: The awaitable's result (``None`` if it failed).
        error: The exception it raised (``None`` if it succeeded).
    """

    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class AsyncClient(_ClientBase, _Verbs[Coroutine[Any, Any, Response], Coroutine[Any, Any, Any]]):
    """The asyncio twin of :class:`Client`, on aiohttp by default.

    Takes the same arguments as :class:`Client` (``max_connections`` sizes the pool for all
    hosts together; ``session`` takes an ``aiohttp.ClientSession`` or an ``httpx2.AsyncClient``
    / ``httpx.AsyncClient``), and adds :meth:`gather` for bounded concurrent fan-out.
    With ``cache_collapse=True``, tasks missing the cache for the same key at once send one
    request to the origin (the others await it, at most ``cache_collapse_timeout`` seconds).
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        backend: AsyncBackend | None = None,
        session: object | None = None,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        max_body_size: int | None = None,
        decode_content: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(base_url, **options)
        if session is not None:
            backend = async_backend_for(session, max_body_size=max_body_size)
        self._backend: AsyncBackend = backend or AiohttpBackend(
            max_connections=max_connections,
            max_connections_per_host=max_connections_per_host,
            verify=verify,
            cert=cert,
            max_body_size=max_body_size,
            decode_content=decode_content,
            bare=self._bare,
        )
        self._adopt(self._backend)

    def _perform(self, action: FlowAction) -> Awaitable[Any]:
        # A plain function handing back the awaitable: one coroutine fewer per action.
        kind = type(action)
        if kind is Send:
            assert isinstance(action, Send)
            return self._backend.send(action.request, action.timeout, action.stream)
        if kind is SendFirst:
            assert isinstance(action, SendFirst)
            return self._attempt(action.request, action.timeout, action.stream)
        if kind is Sleep:
            assert isinstance(action, Sleep)
            return asleep(action.seconds)
        if kind is Close:
            assert isinstance(action, Close)
            return action.response.aclose()
        if kind is CacheGet or kind is CachePut or kind is CacheDelete:
            return aperform_cache(self._cache, action)  # type: ignore[arg-type]
        if kind is Collapse:
            assert isinstance(action, Collapse)
            return self._collapse(action.key)
        if kind is Spawn:
            assert isinstance(action, Spawn)
            return self._spawn(action)
        raise TypeError(f"unexpected flow action {action!r}")

    def _new_collapser(self, timeout: float) -> Collapser[_LoopEvent]:
        # The event is made (and set) by the leader's task, on the loop it runs on.
        return Collapser(timeout, _LoopEvent.new, _LoopEvent.set)

    async def _collapse(self, key: str) -> Ticket:
        """Lead ``key``, or await its leader's end (at most the collapse timeout)."""
        assert self._collapser is not None
        joined = self._collapser.join(key)
        if isinstance(joined, Ticket):
            return joined
        loop = asyncio.get_running_loop()
        if joined.loop is not loop:
            # A leader on another event loop (a client shared across loops): its event
            # cannot be awaited here, so this request neither waits nor leads.
            return Ticket(False)
        start = loop.time()
        try:
            async with asyncio.timeout(self._collapser.timeout):
                await joined.event.wait()
        except TimeoutError:
            return Ticket(False, loop.time() - start, True)
        return Ticket(False, loop.time() - start)

    async def _spawn(self, action: Spawn) -> None:
        self._revalidations.start_task(action, self._perform)

    async def send(
        self,
        request: Request,
        *,
        timeout: TimeoutArg | _Default = DEFAULT,
        retry: RetryPolicy | int | _Default | None = DEFAULT,
        stream: bool = False,
        cache_mode: CacheMode = "default",
        cache_key: str | None = None,
    ) -> Response:
        """Send a built request through the flow (arguments as in :meth:`Client.send`)."""
        lane = None
        if self._fast(retry) or (
            (lane := self._lane(request, timeout, retry, stream, cache_mode, cache_key)) is not None
        ):
            if isinstance(lane, Response):
                return lane  # found in the cache
            limits = self._timeout(timeout)
            response = await self._attempt(request, limits, stream)
            if not isinstance(response, Response):
                flow = request_flow(request, limits, self._config, stream=stream, first=response)
                response = await run_async(flow, self._perform)
            return response if lane is None else lane.keep(response)
        flow = self._flow(request, timeout, retry, stream, cache_mode, cache_key)
        return await run_async(flow, self._perform)

    async def _attempt(
        self, request: Request, limits: Timeout, stream: bool
    ) -> Response | FirstAttempt | None:
        """Attempt 1 made here rather than in a flow (see :class:`SendFirst`)."""
        path = FastPath.begin(request, limits, self._config)
        if path is None:
            return None
        try:
            response = await self._backend.send(request, path.timeout, stream)
        except TransportError as exc:
            return path.failed(exc)
        return path.settle(response, self._config) or response

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: TimeoutArg | _Default = DEFAULT,
        retry: RetryPolicy | int | _Default | None = DEFAULT,
        **kwargs: Any,
    ) -> Response:
        """Send a request and return its response (see :meth:`Client.request`)."""
        options = _send_options(kwargs)
        request = self.build_request(method, url, **kwargs)
        return await self.send(request, timeout=timeout, retry=retry, **options)

    @asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[Response]:
        """Send a request and leave its body on the wire: iterate ``aiter_bytes()`` inside."""
        options = _send_options(kwargs)
        request = self.build_request(method, url, **kwargs)
        response = await self.send(request, stream=True, **options)
        try:
            yield response
        finally:
            await response.aclose()

    async def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send; raise the typed error for 4xx/5xx; else decode JSON (see ``Client``)."""
        return _json_body(await self.request(method, url, **kwargs))

    async def gather(
        self, awaitables: Iterable[Awaitable[T]], *, limit: int = 20
    ) -> list[Result[T]]:
        """Await many calls with at most ``limit`` in flight; results in input order.

        Failures do not cancel the others: each item is a :class:`Result` holding its value or
        its exception. Pass a generator to create the calls lazily, as slots free up::

            results = await client.gather((client.get_json(f"/users/{i}") for i in ids), limit=10)

        Args:
            awaitables: The calls (coroutines or other awaitables).
            limit: Most calls in flight at once.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        items = iter(awaitables)
        source = enumerate(items)
        results: dict[int, Result[T]] = {}

        async def worker() -> None:
            for index, awaitable in source:
                try:
                    results[index] = Result(value=await awaitable)
                except Exception as exc:
                    results[index] = Result(error=exc)
                except asyncio.CancelledError as exc:
                    # The item cancelled itself: record it. Our own cancellation propagates.
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    results[index] = Result(error=exc)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(limit):
                    group.create_task(worker())
        finally:
            if inspect.isgenerator(items):
                # A lazy source: its remaining calls were never created; stop it there.
                items.close()
            else:
                # Cancelled midway: close the coroutines never started, so none leaks a warning.
                for pending in items:
                    close = getattr(pending, "close", None)
                    if close is not None:
                        close()
        return [results[i] for i in range(len(results))]

    async def get_many(
        self, urls: Iterable[str], *, limit: int = 20, **kwargs: Any
    ) -> list[Result[Response]]:
        """``GET`` every URL with at most ``limit`` in flight (see :meth:`gather`)."""
        return await self.gather((self.get(url, **kwargs) for url in urls), limit=limit)

    async def aclose(self) -> None:
        """Release every pooled connection. The client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            await self._revalidations.cancel_tasks()
            await self._backend.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
