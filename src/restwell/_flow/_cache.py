"""The HTTP cache as a flow around the request flow (RFC 9111 decisions in ``policy.cache``).

The cache sits outside the retry layer: a hit never touches the network, and when the
request flow fails (retries exhausted, circuit open, transport error) or ends in a 5xx, a
stored response may still answer under ``stale-if-error``. Storage is reached through
actions (:class:`CacheGet`, :class:`CachePut`, :class:`CacheDelete`), so memory, SQLite and
Redis storages, sync and async, are driven by the same code; a storage whose calls never
block is called in place instead, by the same code (:class:`InlineStorage`). A storage that
fails is logged and treated as a miss, never as the request's failure.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from restwell._flow._collapse import Ticket
from restwell._flow._core import (
    CacheDelete,
    CacheGet,
    CachePut,
    Close,
    Collapse,
    Flow,
    FlowConfig,
    SendFirst,
    Spawn,
    request_flow,
)
from restwell._models import Headers, Request, Response, Timeout, redact_url
from restwell.errors import CircuitOpenError, DeadlineExceeded, RateLimitExceeded, TransportError
from restwell.policy import RetryPolicy
from restwell.policy.cache import (
    ERROR_STATUSES,
    SAFE_METHODS,
    CacheAction,
    CacheDecision,
    CachedResponse,
    CachePolicy,
    Freshened,
    StoredResponse,
)

__all__ = [
    "CacheLane",
    "CacheMode",
    "InlineStorage",
    "aperform_cache",
    "cached_flow",
    "perform_cache",
]

log = logging.getLogger("restwell.cache")

CacheMode = Literal["default", "refresh", "skip"]
"""Per request: use the cache; ``refresh`` (revalidate or refetch, then store); ``skip`` it."""

# Methods whose misses may be collapsed (they are the ones a lookup can answer).
_COLLAPSED = frozenset({"GET", "HEAD"})

_CREDENTIAL_FIELDS = ("authorization", "cookie")

# The origin failed in a way stale-if-error may cover (RFC 5861 §4).
_ORIGIN_FAILURES = (TransportError, CircuitOpenError, RateLimitExceeded, DeadlineExceeded)


class InlineStorage(Protocol):
    """A storage whose calls never block (``NonBlockingStorage``): the flow calls it directly.

    Its sync methods serve sync and async flows alike, as its async ones would: a call made
    in place costs a fraction of a round trip through the runner (an action object, a
    generator switch, the runner's dispatch, and an await in async code), a good part of
    what caching adds to a miss.
    """

    def get(self, key: str, /) -> Any:
        """Every stored variant of ``key``."""

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None, /) -> Any:
        """Store one variant."""

    def delete(self, key: str, /) -> Any:
        """Remove every variant of ``key``."""


def perform_cache(storage: Any, action: CacheGet | CachePut | CacheDelete) -> Any:
    """Carry out a cache action on a storage (sync)."""
    if type(action) is CacheGet:
        return storage.get(action.key)
    if type(action) is CachePut:
        return storage.put(action.key, action.variant, action.value, action.ttl)
    return storage.delete(action.key)


def aperform_cache(storage: Any, action: CacheGet | CachePut | CacheDelete) -> Awaitable[Any]:
    """Carry out a cache action on a storage (async): the awaitable to await."""
    # A plain function handing back the storage's awaitable: one coroutine fewer per action.
    pending: Awaitable[Any]
    if type(action) is CacheGet:
        pending = storage.aget(action.key)
    elif type(action) is CachePut:
        pending = storage.aput(action.key, action.variant, action.value, action.ttl)
    else:
        pending = storage.adelete(action.key)
    return pending


def _credential(request: Request) -> str:
    """A fingerprint of the request's credentials, part of each stored variant's id.

    So an answer cached for one credential is never served to another, in a private cache
    as much as in a shared one; the primary key stays the URI's, so a write by anyone
    invalidates every credential's copy (§4.4).
    """
    # Both, when both are sent: the same Authorization with another Cookie (session) is
    # another credential, and its answer may be just as personal.
    headers = request.headers
    if not headers.has_any(_CREDENTIAL_FIELDS):
        return ""  # most requests: no lookups, no hashing
    authorization, cookie = headers.get("authorization"), headers.get("cookie")
    if not authorization and not cookie:
        return ""
    found = (("authorization", authorization), ("cookie", cookie))
    auth = "\n".join(f"{name}: {value}" for name, value in found if value)
    return hashlib.sha256(auth.encode()).hexdigest()[:16]


def _partition(request: Request, coded: bool) -> str:
    """Whose stored answers a request may see: its credentials, and the body form it reads.

    A client that keeps bodies as received (content coding and all) and one that decodes
    them may share a storage; their entries are kept apart, since the same stored headers
    (``Content-Encoding: gzip``) would describe different bytes.
    """
    cred = _credential(request)
    return f"{cred}+coded" if coded else cred


def _slot(cred: str, variant: str) -> str:
    """The storage variant id: whose answer it is, then which ``Vary`` variant."""
    return f"{cred}|{variant}"


def _say(request: Request, status: str, reason: str) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "cache %s for %s %s: %s",
            status,
            request.method,
            redact_url(request.url),
            reason,
            extra={"restwell_cache": status, "restwell_reason": reason},
        )


def _waited(request: Request, ticket: Ticket) -> None:
    if log.isEnabledFor(logging.DEBUG):
        how = "gave up waiting" if ticket.timed_out else "waited"
        log.debug(
            "cache %s %.3gs for a concurrent request of %s %s (same cache key)",
            how,
            ticket.waited,
            request.method,
            redact_url(request.url),
            extra={"restwell_cache": "collapsed", "restwell_delay": ticket.waited},
        )


def _answer(cached: CachedResponse, request: Request, status: str) -> Response:
    response = Response(
        cached.status, Headers(cached.headers), request=request, content=cached.body
    )
    response.attempts = 0
    response.cache_status = status
    return response


def _served(request: Request, decision: CacheDecision) -> Response:
    """The answer a lookup found: fresh, or stale as allowed."""
    assert decision.response is not None
    what = "hit" if decision.action is CacheAction.FRESH else "stale"
    _say(request, what, decision.reason)
    return _answer(decision.response, request, what)


def _safe(
    action: CacheGet | CachePut | CacheDelete, inline: InlineStorage | None = None
) -> Flow[Any]:
    """Carry out one storage action (in place on ``inline``, else yielded to the runner).

    A storage failure is logged and read as "nothing".
    """
    if inline is not None:
        return _in_place(inline, action)
    try:
        return (yield action)
    except Exception as exc:  # a cache must never be why a request fails
        _storage_failed(exc)
        return None


def _in_place(inline: InlineStorage, action: CacheGet | CachePut | CacheDelete) -> Any:
    """:func:`_safe` on a storage that never blocks, without a generator."""
    try:
        return perform_cache(inline, action)
    except Exception as exc:
        _storage_failed(exc)
        return None


def _storage_failed(exc: Exception) -> None:
    log.warning("cache storage failed (%s: %s); going on without it", type(exc).__name__, exc)


class _Decoded:
    """Recently decoded entries by their stored bytes, so a hit does not parse them again.

    Decoding (header parsing, date parsing, validation) is most of what a hit costs; the bytes
    a storage returns for an unchanged entry are equal, and ``StoredResponse`` is immutable,
    so it can be shared. Bounded in count, and only small entries are kept.
    """

    def __init__(self, entries: int = 256, largest: int = 32 * 1024) -> None:
        self._known: OrderedDict[bytes, StoredResponse] = OrderedDict()
        self._entries, self._largest = entries, largest
        self._lock = threading.Lock()

    def __call__(self, blob: bytes) -> StoredResponse:
        if len(blob) > self._largest:
            return StoredResponse.from_bytes(blob)
        with self._lock:
            found = self._known.get(blob)
            if found is not None:
                self._known.move_to_end(blob)
                return found
        entry = StoredResponse.from_bytes(blob)
        with self._lock:
            self._known[blob] = entry
            if len(self._known) > self._entries:
                self._known.popitem(last=False)
        return entry


_decode = _Decoded()


def _entries(call: _Call) -> Flow[list[StoredResponse]]:
    if call.inline is not None:
        return _read(call.inline, call.key, call.cred)
    try:  # _safe's job, inline: this runs for every request
        raw = yield CacheGet(call.key)
    except Exception as exc:
        _storage_failed(exc)
        return []
    if not raw:
        return []
    entries, unreadable = _decoded(raw, call.cred)
    for variant in unreadable:
        yield from _safe(CachePut(call.key, variant, b"", 0.0))
    return entries


def _read(inline: InlineStorage, key: str, cred: str) -> list[StoredResponse]:
    """:func:`_entries` from a storage that never blocks, without a generator."""
    try:
        raw = inline.get(key)
    except Exception as exc:
        _storage_failed(exc)
        return []
    if not raw:
        return []
    entries, unreadable = _decoded(raw, cred)
    for variant in unreadable:
        _in_place(inline, CachePut(key, variant, b"", 0.0))
    return entries


def _decoded(raw: Any, cred: str) -> tuple[list[StoredResponse], list[str]]:
    """The stored variants ``cred`` may see, decoded; and the unreadable ones, to drop."""
    entries: list[StoredResponse] = []
    unreadable: list[str] = []
    mine = f"{cred}|"
    for variant, value in raw:
        if not variant.startswith(mine):
            continue  # another credential's answer
        try:
            entries.append(_decode(value))
        except ValueError as exc:
            log.warning("dropping an unreadable cache entry: %s", exc)
            unreadable.append(variant)
    return entries, unreadable


def _apply(call: _Call, result: Freshened, now: float) -> Flow[None]:
    key, cred, policy = call.key, call.cred, call.policy
    for entry in result.removed:
        yield from _safe(CachePut(key, _slot(cred, entry.variant), b"", 0.0), call.inline)
    for entry in result.updated:
        ttl = policy.storage_ttl(entry, now)
        blob = entry.to_bytes()
        yield from _safe(CachePut(key, _slot(cred, entry.variant), blob, ttl), call.inline)


@dataclass(slots=True)
class _Call:
    """What one cached request needs besides the flow configuration."""

    request: Request
    timeout: Timeout
    cfg: FlowConfig
    policy: CachePolicy
    retry: RetryPolicy | None
    key: str
    cred: str
    custom_key: bool
    max_entry_bytes: int | None
    stream: bool
    first_attempts: bool = False
    inline: InlineStorage | None = None


def _fetch(call: _Call, decision: CacheDecision) -> Flow[Response]:
    """Go to the origin (validating ``decision.entry`` if asked), then update the cache."""
    request, cfg, policy, clock = call.request, call.cfg, call.policy, call.cfg.clock
    sent = request
    if decision.conditional_headers:
        headers = request.headers.copy()
        for name, value in decision.conditional_headers:
            headers.set(name, value)
        sent = Request(request.method, request.url, headers, request.content, request.extensions)
        sent.origin, sent.replayable = request.origin, request.replayable
    request_time = clock.time()
    try:
        if call.first_attempts and call.retry is None:
            # Attempt 1 by the runner, as without a cache; the flow takes over if it must.
            first = yield SendFirst(sent, call.timeout, call.stream)
            if isinstance(first, Response):
                response = first
            else:
                response = yield from request_flow(
                    sent, call.timeout, cfg, stream=call.stream, first=first
                )
        else:
            response = yield from request_flow(
                sent, call.timeout, cfg, stream=call.stream, policy=call.retry
            )
    except _ORIGIN_FAILURES as exc:
        stale = policy.stale_on_error(request.method, request.headers, decision.entry, clock.time())
        if stale is None or stale.response is None:
            raise
        _say(request, "stale", f"{stale.reason} ({type(exc).__name__})")
        served = _answer(stale.response, request, "stale")
        if isinstance(exc, TransportError):  # the attempts that failed before this answer
            served.attempts, served.retries = exc.attempts, exc.retries
            served.stop_reason = exc.stop_reason
        return served
    response_time = clock.time()
    status = response.status_code
    if status in ERROR_STATUSES and decision.entry is not None:
        stale = policy.stale_on_error(
            request.method, request.headers, decision.entry, response_time, status
        )
        if stale is not None and stale.response is not None:
            _say(request, "stale", stale.reason)
            if call.stream:
                yield from _close(response)
            served = _answer(stale.response, request, "stale")
            served.attempts, served.retries = response.attempts, response.retries
            served.stop_reason = response.stop_reason
            return served
    raw_headers = response.headers.raw()
    if status == 304 and decision.conditional_headers:
        entries = yield from _entries(call)
        result = policy.freshen(
            request.method, request.headers, raw_headers, entries, request_time, response_time
        )
        yield from _apply(call, result, response_time)
        if result.entry is not None:
            _say(request, "revalidated", result.reason)
            answer = policy.respond(request.method, request.headers, result.entry, clock.time())
            revalidated = _answer(answer, request, "revalidated")
            revalidated.attempts, revalidated.retries = response.attempts, response.retries
            if call.stream:  # the 304 itself is not returned: release its connection
                yield from _close(response)
            return revalidated
        if not any(request.headers.get(n) for n in ("if-none-match", "if-modified-since")):
            # The 304 matched nothing stored: ask again without the validators (§4.3.3).
            if call.stream:
                yield from _close(response)
            response = yield from request_flow(
                request, call.timeout, cfg, stream=call.stream, policy=call.retry
            )
            status, raw_headers = response.status_code, response.headers.raw()
    # Only unsafe methods invalidate (§4.4); most requests here are GETs: skip the call.
    if not call.custom_key and request.method not in SAFE_METHODS:
        for stale_key in policy.invalidation_keys(request.method, request.url, status, raw_headers):
            yield from _safe(CacheDelete(stale_key), call.inline)
    if request.method == "HEAD":
        entries = yield from _entries(call)
        result = policy.freshen_with_head(
            request.headers, status, raw_headers, entries, request_time, response_time
        )
        yield from _apply(call, result, response_time)
    reason, put = _to_store(call, response, raw_headers, request_time, response_time)
    if put is not None:
        reason = _kept(reason, put, (yield from _safe(put, call.inline)))
    _say(request, "miss", reason)
    return response


def _to_store(
    call: _Call,
    response: Response,
    raw_headers: list[tuple[str, str]],
    request_time: float,
    response_time: float,
) -> tuple[str, CachePut | None]:
    """Mark a miss's answer, and decide what of it to store: (why, the put to make or None)."""
    response.cache_status = "miss"
    body = response._content
    if body is None:
        return "streamed response, not stored", None
    if response.history:
        # Redirects are followed below the cache: this is another URI's answer, and the
        # redirect that led to it was never weighed for storing (§4.1 keys on the target URI).
        return "reached through a redirect, not stored under the request's URI", None
    if call.max_entry_bytes is not None and len(body) > call.max_entry_bytes:
        return f"body over {call.max_entry_bytes} bytes, not stored", None
    request = call.request
    stored = call.policy.decide_store(
        request.method,
        request.url,
        request.headers,
        response.status_code,
        raw_headers,
        body,
        request_time,
        response_time,
        key=call.key,
    )
    if stored.store and stored.entry is not None and stored.key is not None:
        slot = _slot(call.cred, stored.entry.variant)
        return stored.reason, CachePut(stored.key, slot, stored.entry.to_bytes(), stored.ttl)
    return stored.reason, None


def _kept(reason: str, put: CachePut, kept: Any) -> str:
    """Why a miss was stored or not, given what the storage's ``put`` said."""
    if kept is False:  # the entry (headers and all) is over the storage's limit
        return f"not stored: the entry's {len(put.value)} bytes exceed the storage's limit"
    if kept is None:
        return "not stored: the storage failed"
    return reason


def _keep_post_answer(
    request: Request,
    response: Response,
    policy: CachePolicy,
    times: tuple[float, float],
    coded: bool,
    inline: InlineStorage | None,
) -> Flow[None]:
    """Store a POST's answer that says it is the target's current representation.

    RFC 9110 §9.3.3: a POST response with explicit freshness and a ``Content-Location`` equal
    to the target URI may answer later GETs of that URI; the policy decides whether this one
    does (it refuses everything else), after the POST has invalidated the URI (§4.4).
    """
    if response._content is None or response.history:
        return  # streamed (nothing to store) or another URI's answer
    stored = policy.decide_store(
        request.method,
        request.url,
        request.headers,
        response.status_code,
        response.headers.raw(),
        response.content,
        *times,
    )
    if stored.store and stored.entry is not None and stored.key is not None:
        slot = _slot(_partition(request, coded), stored.entry.variant)
        blob = stored.entry.to_bytes()
        yield from _safe(CachePut(stored.key, slot, blob, stored.ttl), inline)


def _close(response: Response) -> Flow[None]:
    yield Close(response)


def _background(call: _Call, decision: CacheDecision) -> Flow[Any]:
    try:
        # Read the body whole even when the caller streamed: nobody reads this answer, and
        # it is to be stored (a streamed one would be neither stored nor released).
        yield from _fetch(replace(call, stream=False), decision)
    except Exception as exc:
        log.info("background revalidation of %s failed: %s", redact_url(call.request.url), exc)


@dataclass(slots=True)
class CacheLane:
    """A cached GET taken without :func:`cached_flow`, where nothing in it needs a flow.

    The storage never blocks (it is called in place), and the lookup either finds an answer
    to give at once or nothing stored at all: then the runner sends the request as it sends
    an uncached one (attempt 1 itself, :func:`request_flow` after, if needed) and
    :meth:`keep` stores the answer. The generators, the runner's dispatch and, in async code,
    the coroutine that drive a flow are a good part of what caching adds to a miss. Anything
    else (validation, a stale answer in reserve, a background revalidation, collapsing,
    streams, other methods) goes through :func:`cached_flow`, which decides each step with
    the same functions.
    """

    call: _Call
    request_time: float

    @staticmethod
    def begin(
        request: Request,
        timeout: Timeout,
        cfg: FlowConfig,
        policy: CachePolicy,
        inline: InlineStorage,
        *,
        key: str | None = None,
        max_entry_bytes: int | None = None,
        coded: bool = False,
    ) -> Response | CacheLane | None:
        """The answer found, the lane for a miss, or ``None``: use :func:`cached_flow`.

        Arguments as in :func:`cached_flow`, for a request in ``default`` cache mode, not
        streamed, without collapsing or a per-request retry policy.
        """
        if request.method != "GET" or "GET" not in policy.cacheable_methods:
            return None
        primary = key if key is not None else policy.cache_key("GET", request.url)
        call = _Call(
            request,
            timeout,
            cfg,
            policy,
            retry=None,
            key=primary,
            cred=_partition(request, coded),
            custom_key=key is not None,
            max_entry_bytes=max_entry_bytes,
            stream=False,
            first_attempts=True,
            inline=inline,
        )
        entries = _read(inline, primary, call.cred)
        clock = cfg.clock
        decision = policy.lookup("GET", request.url, request.headers, entries, clock.time())
        if decision.response is not None:
            return None if decision.revalidate_in_background else _served(request, decision)
        if decision.action is CacheAction.MISS and decision.entry is None:
            return CacheLane(call, clock.time())
        return None

    def keep(self, response: Response) -> Response:
        """Store the answer to the miss (when the policy allows), and hand it back."""
        call = self.call
        response_time = call.cfg.clock.time()
        raw_headers = response.headers.raw()
        reason, put = _to_store(call, response, raw_headers, self.request_time, response_time)
        if put is not None and call.inline is not None:
            reason = _kept(reason, put, _in_place(call.inline, put))
        _say(call.request, "miss", reason)
        return response


def cached_flow(
    request: Request,
    timeout: Timeout,
    cfg: FlowConfig,
    policy: CachePolicy,
    *,
    stream: bool = False,
    retry: RetryPolicy | None = None,
    mode: CacheMode = "default",
    key: str | None = None,
    max_entry_bytes: int | None = None,
    coded: bool = False,
    collapse: bool = False,
    first_attempts: bool = False,
    inline: InlineStorage | None = None,
) -> Flow[Response]:
    """One request through the cache, then (if needed) through the request flow.

    Args:
        request: The request.
        timeout: Per-attempt timeouts.
        cfg: The client's flow configuration.
        policy: The RFC 9111 policy.
        stream: Leave the body unread (such responses are served from the cache but not
            stored).
        retry: Per-request retry policy override.
        mode: ``default``, ``refresh`` (validate or refetch even if fresh) or ``skip``.
        key: A custom primary key (it also skips URI-based invalidation for this request).
        max_entry_bytes: Larger bodies are passed through uncached.
        coded: The caller's bodies are as received, content coding undone by nobody (stored
            apart from decoded ones; see :func:`_partition`).
        collapse: Collapse concurrent misses of this key (yields :class:`Collapse`, which
            the runner must know): one request goes to the origin, the others wait for it
            and look the cache up again. Only for GET/HEAD, ``default`` mode, not streamed.
        first_attempts: The runner makes attempt 1 itself when asked (:class:`SendFirst`),
            as it does for requests without a cache.
        inline: The storage, when its calls never block: the flow then calls it in place
            rather than yielding storage actions (see :class:`InlineStorage`).
    """
    if mode == "skip" or request.method not in policy.cacheable_methods:
        sent_at = cfg.clock.time()
        response = yield from request_flow(request, timeout, cfg, stream=stream, policy=retry)
        if request.method not in policy.cacheable_methods:
            # Each answer the flow received counts, redirects it followed included: a 303
            # to a POST names in its Location a URI the cache must forget (§4.4).
            for answer in (*response.history, response):
                sent, status, raw = answer.request, answer.status_code, answer.headers.raw()
                for stale_key in policy.invalidation_keys(sent.method, sent.url, status, raw):
                    yield from _safe(CacheDelete(stale_key), inline)
            if request.method == "POST" and mode != "skip" and key is None:
                times = (sent_at, cfg.clock.time())
                yield from _keep_post_answer(request, response, policy, times, coded, inline)
        response.cache_status = "bypass"
        _say(request, "bypass", "skipped" if mode == "skip" else "method not cached")
        return response
    primary = key if key is not None else policy.cache_key(request.method, request.url)
    call = _Call(
        request,
        timeout,
        cfg,
        policy,
        retry,
        primary,
        _partition(request, coded),
        key is not None,
        max_entry_bytes,
        stream,
        first_attempts,
        inline,
    )
    lookup_headers: Any = request.headers
    if mode == "refresh":
        lookup_headers = _NoCache(request.headers)
    # A streamed answer is never stored, so it could not serve followers; refresh means
    # "go to the origin" for every caller, and only GET/HEAD answers serve later lookups.
    collapsing = collapse and mode == "default" and not stream and request.method in _COLLAPSED
    while True:
        entries = yield from _entries(call)
        now = cfg.clock.time()
        decision = policy.lookup(request.method, request.url, lookup_headers, entries, now)
        if decision.response is not None:
            if decision.revalidate_in_background:
                yield Spawn(_background(call, decision), f"{call.key}|{call.cred}")
            return _served(request, decision)
        if decision.action is CacheAction.ONLY_IF_CACHED_MISS:
            _say(request, "miss", decision.reason)
            gateway = CachedResponse(504, (("Content-Length", "0"),), b"", 0)
            return _answer(gateway, request, "miss")
        if decision.action is CacheAction.BYPASS:
            response = yield from request_flow(request, timeout, cfg, stream=stream, policy=retry)
            response.cache_status = "bypass"
            _say(request, "bypass", decision.reason)
            return response
        if not collapsing:
            return (yield from _fetch(call, decision))
        collapsing = False  # one wait at most: a follower that misses again goes itself
        ticket: Ticket = yield Collapse(f"{call.key}|{call.cred}")
        if ticket.lead:
            try:
                return (yield from _fetch(call, decision))
            finally:
                # Directly, not as an action: this must run when the flow is closed or
                # cancelled too, where nothing more can be yielded.
                ticket.done()
        _waited(request, ticket)


class _NoCache:
    """Request headers as seen by the cache with ``Cache-Control: no-cache`` added (refresh)."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def get(self, key: str, /) -> str | None:
        value = self._headers.get(key)
        if key.lower() == "cache-control":
            return f"{value}, no-cache" if value else "no-cache"
        return value if value is None else str(value)
