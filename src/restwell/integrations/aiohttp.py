"""restwell's retry policy as an aiohttp client middleware (aiohttp >= 3.12).

::

    import aiohttp
    from restwell.integrations.aiohttp import RetryMiddleware

    async with aiohttp.ClientSession(middlewares=(RetryMiddleware(),)) as session:
        async with session.get(url) as response:          # retried by restwell's policy
            ...
        async with session.get(url, middlewares=()) as r:  # this call: no middleware, no retries
            ...

aiohttp keeps following redirects and raising its own exceptions; the response carries
``response.restwell`` (attempts and retries made). The session's ``ClientTimeout`` applies to
each attempt; a policy ``deadline`` bounds the waits between them.

With ``cache=`` (``RetryMiddleware(cache=MemoryCache())``), GET and HEAD are answered from the
cache by RFC 9111's rules; ``response.restwell_cache`` (and ``response.restwell["cache"]``) says
what it did. One call chooses its mode with the ``Restwell-Cache`` request header (``refresh``
or ``skip``) and its key with ``Restwell-Cache-Key``; both are removed before the request is
sent or weighed by the cache. ``middlewares=()`` still turns restwell off for one call.

A hit is a :class:`CachedResponse`, a ``ClientResponse`` with no connection whose ``content``
holds the stored body: ``read()``, ``text()``, ``json()``, ``content.iter_chunked()`` and
``async with`` behave as for any response. Bodies are stored as aiohttp hands them over
(decoded, unless the session has ``auto_decompress=False``); a response is read whole to be
stored only when its ``Content-Length`` is within the storage's ``max_entry_bytes`` (one of
unknown length streams through uncached). A hit sets no cookies.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import payload
from aiohttp.base_protocol import BaseProtocol
from multidict import CIMultiDict, CIMultiDictProxy

from restwell._flow import FlowAction, Send, run_async
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._aiohttp import _no_hidden_retry, translate_aiohttp, wrap_aiohttp_headers
from restwell.integrations._common import (
    CACHE_KEY_HEADER,
    CACHE_MODE_HEADER,
    NATIVE_ERRORS,
    IntegrationBase,
    cache_mode,
    native_error,
    report,
)

__all__ = ["CACHE_KEY_HEADER", "CACHE_MODE_HEADER", "CachedResponse", "RetryMiddleware"]

_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
_NONE: list[str] = []
_UNBOUNDED = Timeout(None, None, None)

# aiohttp resends an idempotent request once, through every middleware again, when it fails
# with one of these (connector errors excepted) and the session's hidden retry is on.
_RESENT = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)
_NOT_RESENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# The request (its aiohttp timer, one per logical request) and the error restwell gave up with,
# while aiohttp may still resend it: that resend is refused with the same error.
_GAVE_UP: ContextVar[tuple[object, BaseException] | None] = ContextVar(
    "restwell_aiohttp_gave_up", default=None
)


async def _prefixed(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk


class _Closer:
    __slots__ = ("native",)

    def __init__(self, native: aiohttp.ClientResponse) -> None:
        self.native = native

    async def aiter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        async for chunk in self.native.content.iter_chunked(chunk_size):
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.native.read()  # small error bodies: read so the connection is reused
        except _ERRORS:
            self.native.close()
        else:
            self.native.release()


def _fed(body: bytes, loop: asyncio.AbstractEventLoop) -> aiohttp.StreamReader:
    """A finished ``StreamReader`` holding ``body``, as aiohttp's parser would leave it."""
    # Room for the whole body, so feeding it never asks the (absent) transport to pause.
    reader = aiohttp.StreamReader(BaseProtocol(loop), max(len(body), 2**16), loop=loop)
    if body:
        reader.feed_data(body)
    reader.feed_eof()
    return reader


class _NoWriter:
    """Stands for the request writer of a response that was never sent (nothing written)."""

    output_size = 0


class CachedResponse(aiohttp.ClientResponse):
    """An aiohttp response answered by restwell's cache: no connection, the body in memory.

    aiohttp has no public way to make a ``ClientResponse`` without a connection: its
    constructor expects a request being written, and ``start()`` reads the status line and
    headers from a connection. This subclass calls the constructor as a request already sent
    (passing only the arguments the installed aiohttp takes, which have changed between 3.x
    releases), then sets what ``start()`` would: the public ``status``, ``reason``,
    ``version`` and ``content``, and the two fields behind ``headers`` and ``raw_headers``.
    """

    @classmethod
    def answer(
        cls,
        request: aiohttp.ClientRequest,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> CachedResponse:
        """The response to ``request`` made of a stored ``status``, ``headers`` and ``body``."""
        loop = asyncio.get_running_loop()
        accepted = _response_parameters()
        given: dict[str, Any] = {
            "writer": None,  # already sent
            "continue100": None,
            "timer": None,
            "request_info": request.request_info,
            "traces": [],
            "loop": loop,
            "session": request.session,
            "stream_writer": _NoWriter(),
        }
        response = cls(
            request.method, request.url, **{k: v for k, v in given.items() if k in accepted}
        )
        response.status = status
        try:
            response.reason = HTTPStatus(status).phrase
        except ValueError:
            response.reason = ""
        response.version = aiohttp.HttpVersion11
        response._headers = CIMultiDictProxy(CIMultiDict(headers))
        response._raw_headers = tuple(
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
        )
        response.content = _fed(body, loop)
        return response


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


@functools.cache
def _response_parameters() -> frozenset[str]:
    return frozenset(inspect.signature(aiohttp.ClientResponse.__init__).parameters)


async def _read_whole(native: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """Read the body so the cache can store it, if its length is known to fit ``limit``.

    ``content`` is then refilled with the body, so the caller can still stream it. A body of
    unknown length is left alone (``None``) unless ``limit`` is -1 (read all of it).
    """
    if limit >= 0:
        length = native.content_length
        if length is None or length > limit:
            return None
    body = await native.read()
    native.content = _fed(body, asyncio.get_running_loop())
    return body


class RetryMiddleware(IntegrationBase):
    """An aiohttp client middleware whose retries are restwell's.

    Args:
        **options: As :class:`restwell.integrations._common.IntegrationBase`.
    """

    async def __call__(
        self,
        request: aiohttp.ClientRequest,
        handler: Any,
    ) -> aiohttp.ClientResponse:
        """Send ``request`` through ``handler`` under the retry policy."""
        timer = getattr(request, "_timer", None)
        gave_up = _GAVE_UP.get()
        if gave_up is not None:
            _GAVE_UP.set(None)
            if timer is not None and gave_up[0] is timer:
                # aiohttp's own resend of a request restwell already gave up on: refused, so
                # attempts are not multiplied.
                raise gave_up[1]
        session = request.session
        # aiohttp decided before calling us whether it may resend this request; turn its
        # hidden resend off for the session's later requests, and remember this one's.
        resend = bool(getattr(session, "_retry_connection", False))
        resend = resend and request.method in _IDEMPOTENT and timer is not None
        _no_hidden_retry(session)
        native_headers = request.headers
        mode = cache_mode(_first(native_headers.popall(CACHE_MODE_HEADER, _NONE)))
        custom_key = _first(native_headers.popall(CACHE_KEY_HEADER, _NONE))
        key = self.key_to_add(request.method, self.key_header in native_headers)
        if key is not None:
            native_headers[self.key_header] = key
        replayable = await self._replayable(request)
        if self.cache is None:
            headers = Headers.wrap(
                functools.partial(native_headers.getall, default=_NONE), native_headers.items
            )
        else:
            # A copy: the cache adds validators to aiohttp's request.
            headers = Headers(native_headers.items())
        ours = Request(
            request.method,
            str(request.url),
            headers,
            None,
            {"native": request},
            origin=self.origins(str(request.url)),
            replayable=replayable,
        )

        async def perform(action: FlowAction) -> Any:
            if type(action) is not Send:
                return await self.aperform_other(action, perform)
            assert isinstance(action, Send)
            for name, value in self.validators(action.request):
                if value is None:
                    native_headers.popall(name, None)
                else:
                    native_headers[name] = value
            try:
                native = await handler(request)
                headers = wrap_aiohttp_headers(native.headers)
                body = None
                if self.cache is not None:
                    limit = self.body_limit(ours, action.stream, native.status, headers)
                    if limit is not None:
                        body = await _read_whole(native, limit)
            except _ERRORS as exc:
                raise translate_aiohttp(exc, ours) from exc
            response = Response(
                native.status, headers, request=ours, content=body, stream=_Closer(native)
            )
            response.native = native
            return response

        coded = not getattr(session, "auto_decompress", True)
        flow = self.flow(ours, _UNBOUNDED, None, mode, custom_key, coded=coded)
        try:
            result = await run_async(flow, perform)
        except NATIVE_ERRORS as exc:
            error = native_error(exc)
            if resend and isinstance(error, _RESENT) and not isinstance(error, _NOT_RESENT):
                _GAVE_UP.set((timer, error))
            raise error from None
        native: aiohttp.ClientResponse | None = result.native
        if native is None:
            # Answered by the cache (a hit, a revalidated or stale entry).
            native = CachedResponse.answer(
                request, result.status_code, result.headers.raw(), result.content
            )
        done = native.restwell = report(result)  # type: ignore[attr-defined]
        if "cache" in done:
            native.restwell_cache = done["cache"]  # type: ignore[attr-defined]
        return native

    async def _replayable(self, request: aiohttp.ClientRequest) -> bool:
        """Whether the body can be sent again; a small streamed body is buffered so it can."""
        body = request.body
        # Bytes-backed payloads (bytes, str, JSON, forms) can be written again.
        if isinstance(body, payload.BytesPayload) or not body:
            return True
        # An async iterable: buffer up to max_replay_bytes. Other streams (files) are sent once.
        chunks = getattr(body, "_iter", None)
        if not isinstance(body, payload.AsyncIterablePayload) or body.consumed or chunks is None:
            return False
        head = bytearray()
        async for chunk in chunks:
            head += chunk
            if len(head) > self.max_replay_bytes:
                await request.update_body(_prefixed(bytes(head), chunks))
                return False
        await request.update_body(bytes(head))
        return True
