"""restwell's retry policy as an httpx2 (or legacy httpx) transport.

::

    import httpx2
    from restwell.integrations.httpx import RetryTransport

    client = httpx2.Client(transport=RetryTransport(), timeout=httpx2.Timeout(30, connect=5))
    client.get(url)                                            # retried by restwell's policy
    client.get(url, extensions={"restwell_retry": None})       # this call: no retries

    cached = httpx2.Client(transport=RetryTransport(cache=MemoryCache()))
    cached.get(url).extensions["restwell_cache"]               # "miss", then "hit", ...
    cached.get(url, extensions={"restwell_cache_mode": "refresh"})   # or "skip"
    cached.get(url, extensions={"restwell_cache_key": "mine"})       # a custom key

The transport wraps an inner one (by default ``HTTPTransport()`` of the request's own module,
with its connect retries off). httpx keeps following redirects and raising its own exceptions;
each response carries ``response.extensions["restwell"]`` with the attempts and retries made
(and, with a cache, ``"cache"``: what the cache did, also in ``extensions["restwell_cache"]``).

With ``cache=``, bodies are stored as the transport receives them (content-coded, as the
origin sent them); httpx decodes them above the transport, for a hit as for a miss.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from restwell._flow import FlowAction, Send, run_async, run_sync
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._httpx import disable_transport_retries, translate_httpx
from restwell.integrations._common import (
    _UNSET,
    NATIVE_ERRORS,
    BodyBuffer,
    IntegrationBase,
    cache_mode,
    native_error,
    override_policy,
    report,
)

__all__ = [
    "CACHE_KEY_EXTENSION",
    "CACHE_MODE_EXTENSION",
    "CACHE_STATUS_EXTENSION",
    "EXTENSION",
    "AsyncRetryTransport",
    "RetryTransport",
]

EXTENSION = "restwell_retry"
"""Request extension holding a per-call policy override (policy, attempt count, or None)."""

CACHE_MODE_EXTENSION = "restwell_cache_mode"
"""Request extension choosing the cache mode of one call: ``default``, ``refresh``, ``skip``."""

CACHE_KEY_EXTENSION = "restwell_cache_key"
"""Request extension giving one call a custom cache key."""

CACHE_STATUS_EXTENSION = "restwell_cache"
"""Response extension: what the cache did (``hit``, ``miss``, ``revalidated``, ``stale``,
``bypass``); absent without a cache."""


def _modules() -> list[ModuleType]:
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    if not found:
        raise ImportError(
            "restwell.integrations.httpx needs httpx2 (or httpx): pip install 'restwell[httpx]'"
        )
    return found


_MODULES = _modules()

if TYPE_CHECKING:
    import httpx2

    _SyncBase = httpx2.BaseTransport
    _AsyncBase = httpx2.AsyncBaseTransport

    class _StreamBase(httpx2.SyncByteStream, httpx2.AsyncByteStream):
        pass

else:
    # Subclass the transport bases of every installed module, so either client accepts it.
    _SyncBase = type("_SyncBase", tuple(m.BaseTransport for m in _MODULES), {})
    _AsyncBase = type("_AsyncBase", tuple(m.AsyncBaseTransport for m in _MODULES), {})
    # Likewise for request bodies: httpx transports assert their stream is one of theirs.
    _StreamBase = type(
        "_StreamBase",
        tuple(base for m in _MODULES for base in (m.SyncByteStream, m.AsyncByteStream)),
        {},
    )


def _module_of(native: Any) -> ModuleType:
    return importlib.import_module(type(native).__module__.split(".")[0])


class _Closer:
    """Lets the flow release a failed attempt's httpx response."""

    __slots__ = ("native",)

    def __init__(self, native: Any) -> None:
        self.native = native

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        return self.native.iter_bytes(chunk_size)  # type: ignore[no-any-return]

    def aiter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        return self.native.aiter_bytes(chunk_size)  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            self.native.read()  # small error bodies: read so the connection can be reused
        finally:
            self.native.close()

    async def aclose(self) -> None:
        try:
            await self.native.aread()
        finally:
            await self.native.aclose()


class _TransportBase(IntegrationBase):
    """Request/response conversion shared by the sync and async transports."""

    def _prepare(
        self, native: Any, mod: ModuleType, replayable: bool
    ) -> tuple[Request, Timeout, Any]:
        key = self.key_to_add(native.method, self.key_header in native.headers)
        if key is not None:
            native.headers[self.key_header] = key
        timeouts = native.extensions.get("timeout") or {}
        timeout = Timeout(timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool"))
        url = str(native.url)
        if self.cache is None:
            headers = Headers.wrap(native.headers.get_list, native.headers.multi_items)
        else:
            # A copy: the cache adds validators to httpx's request, and a background
            # revalidation may send after the caller's client moved on.
            headers = Headers(native.headers.multi_items())
        request = Request(
            native.method,
            url,
            headers,
            None,
            {"native": native, "module": mod},
            origin=self.origins(url),
            replayable=replayable,
        )
        return request, timeout, override_policy(native.extensions.get(EXTENSION, _UNSET))

    def _flow_of(self, native: Any, mod: ModuleType, replayable: bool) -> Any:
        ours, timeout, policy = self._prepare(native, mod, replayable)
        if self.cache is None:
            return self.flow(ours, timeout, policy)
        extensions = native.extensions
        mode = cache_mode(extensions.get(CACHE_MODE_EXTENSION))
        return self.flow(ours, timeout, policy, mode, extensions.get(CACHE_KEY_EXTENSION))

    def _outgoing(self, action: Send) -> Any:
        """The httpx request to send for ``action``, with the cache's validators on it."""
        request = action.request
        native = request.extensions["native"]
        if not action.stream:
            # A background revalidation: its own request, so the caller's (already answered)
            # one is left alone; GET and HEAD have no body to carry over.
            mod = request.extensions["module"]
            native = mod.Request(
                request.method,
                request.url,
                headers=request.headers.raw(),
                extensions=dict(native.extensions),
            )
        else:
            for name, value in self.validators(request):
                if value is None:
                    native.headers.pop(name, None)
                else:
                    native.headers[name] = value
        timeout = action.timeout
        native.extensions = {
            **native.extensions,
            "timeout": {
                "connect": timeout.connect,
                "read": timeout.read,
                "write": timeout.read,
                "pool": timeout.pool,
            },
        }
        return native

    def _response(self, native: Any, request: Request, stream: bool) -> tuple[Response, int | None]:
        headers = Headers.wrap(native.headers.get_list, native.headers.multi_items)
        response = Response(native.status_code, headers, request=request, stream=_Closer(native))
        response.native = native
        limit = (
            None
            if self.cache is None
            else self.body_limit(request, stream, native.status_code, headers)
        )
        return response, limit

    @staticmethod
    def _kept(response: Response, body: bytes | None) -> Response:
        """``response`` with its body in memory (``None``: over the limit, still streaming)."""
        if body is not None:
            native = response.native
            native.stream = response.request.extensions["module"].ByteStream(body)
            response._content = body
        return response

    @staticmethod
    def _finish(response: Response, request: Any) -> Any:
        native = response.native
        if native is None:
            # Answered by the cache (a hit, a revalidated or stale entry): a response of the
            # request's own module over the stored bytes.
            mod = _module_of(request)
            native = mod.Response(
                response.status_code,
                headers=response.headers.raw(),
                stream=mod.ByteStream(response.content),
            )
        done = report(response)
        native.extensions["restwell"] = done
        if "cache" in done:
            native.extensions[CACHE_STATUS_EXTENSION] = done["cache"]
        return native


class _Prefixed(_StreamBase):
    """A body too large to buffer: what was read, then the rest.

    A request body (sent once), or a response body over the cache's limit (streamed on to
    the caller; ``source`` is the response stream closed with it).
    """

    def __init__(self, head: bytes, rest: Any, source: Any = None) -> None:
        self._head, self._rest, self._source = head, rest, source

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        yield from self._rest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        async for chunk in self._rest:
            yield chunk

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    async def aclose(self) -> None:
        if self._source is not None:
            await self._source.aclose()


def _read(native: Any, limit: int) -> bytes | None:
    """Read a response body up to ``limit`` bytes (-1: all); ``None`` if it is longer.

    A longer body is left streaming: the caller gets what was read, then the rest.
    """
    source = native.stream
    rest = iter(source)
    buffer = BodyBuffer(limit)
    for chunk in rest:
        if buffer.add(chunk):
            native.stream = _Prefixed(buffer.value(), rest, source)
            return None
    source.close()
    return buffer.value()


async def _aread(native: Any, limit: int) -> bytes | None:
    """The async twin of :func:`_read` (only the iteration differs)."""
    source = native.stream
    rest = aiter(source)
    buffer = BodyBuffer(limit)
    async for chunk in rest:
        if buffer.add(chunk):
            native.stream = _Prefixed(buffer.value(), rest, source)
            return None
    await source.aclose()
    return buffer.value()


def _replayable(request: Any, mod: ModuleType, limit: int) -> bool:
    """Buffer a streamed body up to ``limit`` bytes so it can be resent; False if larger."""
    if isinstance(request.stream, mod.ByteStream):
        return True
    rest = iter(request.stream)
    head = bytearray()
    for chunk in rest:
        head += chunk
        if len(head) > limit:
            request.stream = _Prefixed(bytes(head), rest)
            return False
    request.stream = mod.ByteStream(bytes(head))
    return True


async def _areplayable(request: Any, mod: ModuleType, limit: int) -> bool:
    """The async twin of :func:`_replayable` (only the iteration differs)."""
    if isinstance(request.stream, mod.ByteStream):
        return True
    rest = aiter(request.stream)
    head = bytearray()
    async for chunk in rest:
        head += chunk
        if len(head) > limit:
            request.stream = _Prefixed(bytes(head), rest)
            return False
    request.stream = mod.ByteStream(bytes(head))
    return True


def _no_inner_retries(transport: Any) -> None:
    # An inner transport made with `retries=N` would retry failed connects under restwell's own
    # retries: turn that off and say so, as the httpx backend does.
    retries = disable_transport_retries(transport) if transport is not None else 0
    if retries:
        warnings.warn(
            f"restwell turned off the connect retries of the inner httpx transport (retries="
            f"{retries}): restwell's policy retries instead, so attempts are not multiplied",
            RuntimeWarning,
            stacklevel=3,
        )


class RetryTransport(_TransportBase, _SyncBase):
    """A sync httpx2/httpx transport that retries with restwell's policy.

    Args:
        transport: The transport that sends each attempt (default: the request module's
            ``HTTPTransport(retries=0)``).
        **options: As :class:`restwell.integrations._common.IntegrationBase`.
    """

    def __init__(self, transport: Any = None, **options: Any) -> None:
        super().__init__(**options)
        _no_inner_retries(transport)
        self._inner = transport
        self._lock = threading.Lock()

    def _perform(self, action: FlowAction) -> Any:
        if type(action) is not Send:
            return self.perform_other(action, self._perform)
        assert isinstance(action, Send)
        request = action.request
        mod = request.extensions["module"]
        try:
            native = self._inner.handle_request(self._outgoing(action))
            response, limit = self._response(native, request, action.stream)
            if limit is not None:
                return self._kept(response, _read(native, limit))
        except mod.HTTPError as exc:
            raise translate_httpx(mod, exc, request) from exc
        return response

    def handle_request(self, request: Any) -> Any:
        """Send ``request`` (an httpx2/httpx ``Request``) under the retry policy."""
        mod = _module_of(request)
        if self._inner is None:
            # One default transport (and pool) even when threads send the first requests at
            # once: a transport made by a losing thread would leak its open connections.
            with self._lock:
                if self._inner is None:
                    self._inner = mod.HTTPTransport()
        replayable = _replayable(request, mod, self.max_replay_bytes)
        flow = self._flow_of(request, mod, replayable)
        try:
            return self._finish(run_sync(flow, self._perform), request)
        except NATIVE_ERRORS as exc:
            raise native_error(exc) from None

    def close(self) -> None:
        """Close the inner transport."""
        if self._inner is not None:
            self._inner.close()


class AsyncRetryTransport(_TransportBase, _AsyncBase):
    """An async httpx2/httpx transport that retries with restwell's policy.

    Args:
        transport: The transport that sends each attempt (default: the request module's
            ``AsyncHTTPTransport()``).
        **options: As :class:`restwell.integrations._common.IntegrationBase`.
    """

    def __init__(self, transport: Any = None, **options: Any) -> None:
        super().__init__(**options)
        _no_inner_retries(transport)
        self._inner = transport

    async def _perform(self, action: FlowAction) -> Any:
        if type(action) is not Send:
            return await self.aperform_other(action, self._perform)
        assert isinstance(action, Send)
        request = action.request
        mod = request.extensions["module"]
        try:
            native = await self._inner.handle_async_request(self._outgoing(action))
            response, limit = self._response(native, request, action.stream)
            if limit is not None:
                return self._kept(response, await _aread(native, limit))
        except mod.HTTPError as exc:
            raise translate_httpx(mod, exc, request) from exc
        return response

    async def handle_async_request(self, request: Any) -> Any:
        """Send ``request`` (an httpx2/httpx ``Request``) under the retry policy."""
        mod = _module_of(request)
        if self._inner is None:
            self._inner = mod.AsyncHTTPTransport()
        replayable = await _areplayable(request, mod, self.max_replay_bytes)
        flow = self._flow_of(request, mod, replayable)
        try:
            return self._finish(await run_async(flow, self._perform), request)
        except NATIVE_ERRORS as exc:
            raise native_error(exc) from None

    async def aclose(self) -> None:
        """Close the inner transport (background revalidations still running are cancelled)."""
        await self._revalidations.cancel_tasks()
        if self._inner is not None:
            await self._inner.aclose()
