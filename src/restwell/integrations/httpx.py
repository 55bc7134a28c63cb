"""restwell's retry policy as an httpx2 (or legacy httpx) transport.

::

    import httpx2
    from restwell.integrations.httpx import RetryTransport

    client = httpx2.Client(transport=RetryTransport(), timeout=httpx2.Timeout(30, connect=5))
    client.get(url)                                            # retried by restwell's policy
    client.get(url, extensions={"restwell_retry": None})       # this call: no retries

The transport wraps an inner one (by default ``HTTPTransport()`` of the request's own module,
with its connect retries off). httpx keeps following redirects and raising its own exceptions;
each response carries ``response.extensions["restwell"]`` with the attempts and retries made.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from restwell._flow import (
    Close,
    FlowAction,
    Send,
    Sleep,
    asleep,
    request_flow,
    run_async,
    run_sync,
    sleep,
)
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._httpx import disable_transport_retries, translate_httpx
from restwell.integrations._common import (
    _UNSET,
    NATIVE_ERRORS,
    IntegrationBase,
    native_error,
    override_policy,
    report,
)

__all__ = ["AsyncRetryTransport", "RetryTransport"]

EXTENSION = "restwell_retry"
"""Request extension holding a per-call policy override (policy, attempt count, or None)."""


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
        request = Request(
            native.method,
            url,
            Headers.wrap(native.headers.get_list, native.headers.multi_items),
            None,
            {"native": native, "module": mod},
            origin=self.origins(url),
            replayable=replayable,
        )
        return request, timeout, override_policy(native.extensions.get(EXTENSION, _UNSET))

    @staticmethod
    def _shrink(request: Request, timeout: Timeout) -> Any:
        native = request.extensions["native"]
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

    @staticmethod
    def _response(native: Any, request: Request) -> Response:
        response = Response(
            native.status_code,
            Headers.wrap(native.headers.get_list, native.headers.multi_items),
            request=request,
            stream=_Closer(native),
        )
        response.native = native
        return response

    @staticmethod
    def _finish(response: Response) -> Any:
        native = response.native
        native.extensions["restwell"] = report(response)
        return native


class _Prefixed(_StreamBase):
    """A request body too large to buffer: what was read, then the rest (sent once)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head, self._rest = head, rest

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        yield from self._rest

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        async for chunk in self._rest:
            yield chunk


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
        if type(action) is Send:
            assert isinstance(action, Send)
            request = action.request
            mod = request.extensions["module"]
            try:
                native = self._inner.handle_request(self._shrink(request, action.timeout))
            except mod.HTTPError as exc:
                raise translate_httpx(mod, exc, request) from exc
            return self._response(native, request)
        if type(action) is Sleep:
            assert isinstance(action, Sleep)
            return sleep(action.seconds)
        assert isinstance(action, Close)
        return action.response.close()

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
        ours, timeout, policy = self._prepare(request, mod, replayable)
        flow = request_flow(ours, timeout, self.flow_config, stream=True, policy=policy)
        try:
            return self._finish(run_sync(flow, self._perform))
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
        if type(action) is Send:
            assert isinstance(action, Send)
            request = action.request
            mod = request.extensions["module"]
            try:
                native = await self._inner.handle_async_request(
                    self._shrink(request, action.timeout)
                )
            except mod.HTTPError as exc:
                raise translate_httpx(mod, exc, request) from exc
            return self._response(native, request)
        if type(action) is Sleep:
            assert isinstance(action, Sleep)
            return await asleep(action.seconds)
        assert isinstance(action, Close)
        return await action.response.aclose()

    async def handle_async_request(self, request: Any) -> Any:
        """Send ``request`` (an httpx2/httpx ``Request``) under the retry policy."""
        mod = _module_of(request)
        if self._inner is None:
            self._inner = mod.AsyncHTTPTransport()
        replayable = await _areplayable(request, mod, self.max_replay_bytes)
        ours, timeout, policy = self._prepare(request, mod, replayable)
        flow = request_flow(ours, timeout, self.flow_config, stream=True, policy=policy)
        try:
            return self._finish(await run_async(flow, self._perform))
        except NATIVE_ERRORS as exc:
            raise native_error(exc) from None

    async def aclose(self) -> None:
        """Close the inner transport."""
        if self._inner is not None:
            await self._inner.aclose()
