"""What every integration shares: options, idempotency keys, body replay rules, and the cache.

The cache parts are the library-independent half of running :func:`restwell._flow.cached_flow`
inside another library: which per-call mode and key apply, whether a response is worth reading
into memory so it can be stored, the validators the flow adds, storage actions, and background
revalidation (a thread for the sync integrations, a task for the async ones). Each integration
keeps only its library's I/O: sending, reading a body, and building its native response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from restwell._flow import (
    CacheDelete,
    CacheGet,
    CacheMode,
    CachePut,
    Close,
    Flow,
    FlowAction,
    FlowConfig,
    RetryHook,
    Sleep,
    Spawn,
    aperform_cache,
    asleep,
    build_config,
    cached_flow,
    coerce_policy,
    perform_cache,
    request_flow,
    sleep,
)
from restwell._flow._background import Revalidations
from restwell._flow._core import Clock
from restwell._models import Headers, Request, Response, Timeout
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
)
from restwell.policy.cache import CachePolicy, parse_cache_control

__all__ = [
    "CACHE_KEY_HEADER",
    "CACHE_MODES",
    "CACHE_MODE_HEADER",
    "MAX_REPLAY_BYTES",
    "NATIVE_ERRORS",
    "VALIDATORS",
    "BodyBuffer",
    "IntegrationBase",
    "cache_mode",
    "native_error",
    "override_policy",
    "report",
]

CACHE_MODE_HEADER = "Restwell-Cache"
"""Request header (requests, aiohttp) choosing the cache mode of one call: ``default``,
``refresh`` or ``skip``. Removed before the request is sent or weighed by the cache."""

CACHE_KEY_HEADER = "Restwell-Cache-Key"
"""Request header (requests, aiohttp) giving one call a custom cache key. Removed before the
request is sent or weighed by the cache."""

CACHE_MODES: frozenset[str] = frozenset({"default", "refresh", "skip"})
"""The cache modes a call may ask for."""

VALIDATORS = ("if-none-match", "if-modified-since")
"""Request fields the cache flow adds to validate a stored response (RFC 9111 §4.3.1)."""

_BUFFER = "restwell_buffer"
"""Request extension: this call's responses may be read whole so the cache can store them."""

MAX_REPLAY_BYTES = 1024 * 1024
"""Streamed request bodies up to this size are buffered so a retry can send them again."""

_UNSET: Any = object()

NATIVE_ERRORS = (TransportError, InvalidURL)
"""restwell errors that stand for a library's own exception (kept as ``__cause__``): an
integration raises that exception instead, so its users catch what their library raises."""


def report(outcome: Response | TransportError) -> dict[str, Any]:
    """What the policy did for one request: attempts, retries, why it stopped, and the cache.

    With a cache, ``"cache"`` says what it did: ``hit``, ``miss``, ``revalidated``, ``stale``
    or ``bypass``. A response served from the cache made 0 attempts.
    """
    done: dict[str, Any] = {
        "attempts": outcome.attempts,
        "retries": outcome.retries,
        "stop_reason": outcome.stop_reason,
    }
    status = getattr(outcome, "cache_status", None)
    if status is not None:
        done["cache"] = status
    return done


def cache_mode(value: object) -> CacheMode:
    """A per-call cache mode, checked (``None``: ``default``)."""
    if value is None:
        return "default"
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in CACHE_MODES:
        raise ValueError(f"the cache mode must be one of default, refresh, skip; not {value!r}")
    return text  # type: ignore[return-value]


def native_error(exc: Exception) -> BaseException:
    """The library's own exception behind ``exc``, carrying restwell's report as ``.restwell``.

    The report says how many attempts were made and why no further one was (e.g. a request
    body that could not be sent again).
    """
    native = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(exc, TransportError) and native is not exc:
        # (Every exception has a __dict__, so any library's can carry the report.)
        native.restwell = report(exc)  # type: ignore[attr-defined]
    return native


def override_policy(value: Any) -> RetryPolicy | None:
    """A per-request policy override: a policy, an attempt count, ``None``/``False`` for none."""
    if value is _UNSET:
        return None
    if value is None or value is False:
        return RetryPolicy.never()
    return coerce_policy(value)


class IntegrationBase:
    """Options every integration takes, and the flow configuration they make.

    Args:
        retry: Retry policy (``None`` for no retries).
        budget: Retry budget (``True``: a default one; ``False``: none; or a shared instance).
        breaker: Circuit breaker per origin (as ``budget``).
        rate_limit: Pacing by rate-limit headers (as ``budget``).
        idempotency_keys: Add an ``Idempotency-Key`` to POST/PATCH requests without one, so
            they can be retried (only for APIs that honour the header).
        max_replay_bytes: Streamed request bodies up to this size are buffered for retries;
            larger ones are sent once and never retried.
        on_retry: Callables ``(request, record)`` called before each retry's wait.
        clock: Time sources (tests).
        random: Jitter source (tests).
        cache: An HTTP cache storage (:class:`~restwell.cache.MemoryCache`,
            :class:`~restwell.cache.SQLiteCache`, :class:`~restwell.cache.RedisCache`): GET
            and HEAD are answered from it by RFC 9111's rules, outside the retries, as
            ``restwell.Client(cache=...)`` does. ``None``: no cache.
        cache_policy: The cache's rules (default: a private cache, ``CachePolicy()``).
    """

    def __init__(
        self,
        *,
        retry: RetryPolicy | int | None = RetryPolicy(),  # noqa: B008 - immutable
        budget: RetryBudget | bool = True,
        breaker: CircuitBreaker | bool = True,
        rate_limit: RateLimitGate | bool = True,
        idempotency_keys: bool = False,
        max_replay_bytes: int = MAX_REPLAY_BYTES,
        on_retry: RetryHook | Iterable[RetryHook] = (),
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
        cache: CacheStorage | None = None,
        cache_policy: CachePolicy | None = None,
    ) -> None:
        # The wrapped library follows redirects itself; each hop comes through here.
        self.flow_config: FlowConfig = build_config(
            retry=retry,
            budget=budget,
            breaker=breaker,
            rate_limit=rate_limit,
            follow_redirects=False,
            on_retry=on_retry,
            clock=clock,
            random=random,
        )
        self.idempotency_keys = idempotency_keys
        self.origins = OriginCache()
        self.max_replay_bytes = max_replay_bytes
        self.cache = cache
        self.cache_policy = cache_policy or CachePolicy()
        # Background revalidations running, by key: one at a time per stored response.
        self._revalidations = Revalidations()

    def key_to_add(self, method: str, has_key: bool) -> str | None:
        """The idempotency key to add to a request, if the option asks for one."""
        if self.idempotency_keys and method.upper() in NEEDS_KEY_METHODS and not has_key:
            return new_idempotency_key()
        return None

    @property
    def key_header(self) -> str:
        """The idempotency header name of the policy."""
        return self.flow_config.retry.idempotency_header

    # -- the cache -------------------------------------------------------------------------

    def flow(
        self,
        request: Request,
        timeout: Timeout,
        policy: RetryPolicy | None,
        mode: CacheMode = "default",
        key: str | None = None,
        *,
        coded: bool = True,
    ) -> Flow[Response]:
        """The flow of one call: through the cache when there is one, else straight out.

        Responses come back streamed (their body unread) unless the cache read one to store
        it; either way the integration hands its library a native response. ``coded``: the
        library hands over bodies as received, content coding kept (httpx's and requests'
        raw streams do); such entries are stored apart from decoded ones.
        """
        if self.cache is None:
            return request_flow(request, timeout, self.flow_config, stream=True, policy=policy)
        if mode != "skip" and request.method in self.cache_policy.cacheable_methods:
            request.extensions[_BUFFER] = True
        return cached_flow(
            request,
            timeout,
            self.flow_config,
            self.cache_policy,
            # Streamed, so a response the cache will not keep reaches the caller unread; one
            # it may keep is read by the integration (see buffer_limit), and the flow stores
            # any response whose body is in memory.
            stream=True,
            retry=policy,
            mode=mode,
            key=key,
            max_entry_bytes=self.cache.max_entry_bytes,
            coded=coded,
            # Called in place: its calls never block (see InlineStorage).
            inline=self.cache if isinstance(self.cache, NonBlockingStorage) else None,
        )

    def buffer_limit(self, request: Request, status: int, headers: Headers) -> int | None:
        """How many body bytes to read so the cache can store this response, or ``None``.

        ``None`` leaves the body streaming: no cache, a call that does not store (``skip``, an
        uncached method), or a response the policy is sure to refuse or the storage to drop
        (over ``max_entry_bytes`` by its ``Content-Length``). This only spares reading bodies
        that cannot be stored; :meth:`CachePolicy.decide_store` still makes the decision.
        """
        cache = self.cache
        if cache is None or not request.extensions.get(_BUFFER) or request.method == "HEAD":
            return None
        # 206 and 304 are never stored (§3, §4.3.4); 1xx never reach here.
        if status < 200 or status in (206, 304):
            return None
        policy = self.cache_policy
        cc_value = headers.get("cache-control")
        if (
            cc_value is None
            and policy.default_ttl is None
            and policy.stale_if_error is None
            and not any(name in headers for name in ("expires", "etag", "last-modified"))
        ):
            # Nothing to be fresh or validated by, and no policy allowance: never stored.
            return None
        cc = parse_cache_control(cc_value)
        if cc.no_store and not cc.must_understand:  # §5.2.2.5 (must-understand: §5.2.2.3)
            return None
        if policy.shared and cc.private:  # §5.2.2.7
            return None
        if policy.request_directives(request.headers).no_store:  # §5.2.1.5
            return None
        limit = cache.max_entry_bytes
        length = headers.get("content-length")
        if length is not None:
            try:
                if int(length) > limit:
                    return None
            except ValueError:
                pass
        return limit

    def body_limit(
        self, request: Request, stream: bool, status: int, headers: Headers
    ) -> int | None:
        """How much of a response's body to read now: ``None`` none, ``-1`` all of it.

        A ``Send`` that is not streamed is a background revalidation's (integrations always
        stream otherwise): nobody reads that answer, so it is read whole to be stored.
        """
        if not stream:
            return -1
        return self.buffer_limit(request, status, headers)

    def validators(self, request: Request) -> list[tuple[str, str | None]]:
        """The validator fields to send for ``request`` (``None``: remove that field).

        The cache flow validates with a copy of the request carrying ``If-None-Match`` /
        ``If-Modified-Since``; the library's own request object must get them, and lose them
        again when the flow sends the original request. Empty without a cache.
        """
        if self.cache is None:
            return []
        return [(name, request.headers.get(name)) for name in VALIDATORS]

    def perform_other(self, action: FlowAction, perform: Callable[[FlowAction], Any]) -> Any:
        """Carry out a flow action other than ``Send`` (sync integrations).

        ``perform`` is the integration's whole performer: a background revalidation runs
        with it, in a daemon thread, so the caller gets the stale answer at once.
        """
        kind = type(action)
        if kind is Sleep:
            assert isinstance(action, Sleep)
            return sleep(action.seconds)
        if kind is Close:
            assert isinstance(action, Close)
            return action.response.close()
        if kind is CacheGet or kind is CachePut or kind is CacheDelete:
            return perform_cache(self.cache, action)  # type: ignore[arg-type]
        if kind is Spawn:
            assert isinstance(action, Spawn)
            return self._revalidations.start_thread(action, perform)
        raise TypeError(f"unexpected flow action {action!r}")

    async def aperform_other(
        self, action: FlowAction, perform: Callable[[FlowAction], Awaitable[Any]]
    ) -> Any:
        """The async twin of :meth:`perform_other`: a background revalidation is a task."""
        kind = type(action)
        if kind is Sleep:
            assert isinstance(action, Sleep)
            return await asleep(action.seconds)
        if kind is Close:
            assert isinstance(action, Close)
            return await action.response.aclose()
        if kind is CacheGet or kind is CachePut or kind is CacheDelete:
            return await aperform_cache(self.cache, action)  # type: ignore[arg-type]
        if kind is Spawn:
            assert isinstance(action, Spawn)
            return self._revalidations.start_task(action, perform)
        raise TypeError(f"unexpected flow action {action!r}")


class BodyBuffer:
    """A response body read into memory so the cache can store it, up to a limit.

    The integrations' sync and async readers differ only in how they iterate; this holds what
    they share.
    """

    __slots__ = ("limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit  # -1: no limit
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; True once the body is over the limit (stop reading, stream on)."""
        self.parts.append(chunk)
        self.size += len(chunk)
        return 0 <= self.limit < self.size

    def value(self) -> bytes:
        """What was read."""
        return b"".join(self.parts)
