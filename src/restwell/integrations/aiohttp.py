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
from yarl import URL

from restwell._flow import FastPath, FirstAttempt, FlowAction, Send, request_flow, run_async
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._aiohttp import _no_hidden_retry, translate_aiohttp, wrap_aiohttp_headers
from restwell.errors import TransportError
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
# The text and origin of URLs requested (a pure function of the URL; bounded as OriginCache).
_URLS: dict[URL, tuple[str, str]] = {}
_URLS_KEPT = 256

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


class _Fields:
    """``getall`` of an aiohttp request's fields, for ``Headers.wrap``.

    One object where ``functools.partial(headers.getall, default=[])`` makes three (a bound
    method, the keywords, the partial): every allocation on this path is paid per request.
    """

    __slots__ = ("native",)

    def __init__(self, native: CIMultiDict[str]) -> None:
        self.native = native

    def __call__(self, name: str) -> list[str]:
        return self.native.getall(name, _NONE)


class _Exchange:
    """One call through the middleware: sends aiohttp's ``request`` through its ``handler``.

    An object rather than a closure in ``__call__``: the performer hands itself on (to run a
    background revalidation), and a closure that refers to itself is a reference cycle. That
    cycle kept each call's aiohttp request, response and connection objects alive until the
    cycle collector ran, which cost more than everything else the middleware does.
    """

    __slots__ = ("handler", "middleware", "native", "ours")

    def __init__(
        self,
        middleware: RetryMiddleware,
        native: aiohttp.ClientRequest,
        ours: Request,
        handler: Any,
    ) -> None:
        self.middleware = middleware
        self.native = native
        self.ours = ours
        self.handler = handler

    async def send(self, sent: Request, stream: bool) -> Response:
        """One attempt: ``sent`` is ``ours`` or the cache's copy of it carrying validators."""
        middleware, request, ours = self.middleware, self.native, self.ours
        cache = middleware.cache
        if cache is not None:
            native_headers = request.headers
            for name, value in middleware.validators(sent):
                if value is None:
                    native_headers.popall(name, None)
                else:
                    native_headers[name] = value
        try:
            native = await self.handler(request)
            headers = wrap_aiohttp_headers(native.headers)
            body = None
            if cache is not None:
                limit = middleware.body_limit(ours, stream, native.status, headers)
                if limit is not None:
                    body = await _read_whole(native, limit)
        except _ERRORS as exc:
            raise translate_aiohttp(exc, ours) from exc
        response = Response(
            native.status, headers, request=ours, content=body, stream=_Closer(native)
        )
        response.native = native
        return response

    async def perform(self, action: FlowAction) -> Any:
        """Carry out one action of the flow."""
        if type(action) is not Send:
            return await self.middleware.aperform_other(action, self.perform)
        assert isinstance(action, Send)
        return await self.send(action.request, action.stream)


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
        if resend:
            _no_hidden_retry(session)
        resend = resend and request.method in _IDEMPOTENT and timer is not None
        native_headers = request.headers
        modes = native_headers.popall(CACHE_MODE_HEADER, _NONE)
        mode = cache_mode(modes[0]) if modes else "default"
        keys = native_headers.popall(CACHE_KEY_HEADER, _NONE)
        custom_key = keys[0] if keys else None
        if self.idempotency_keys:
            key = self.key_to_add(request.method, self.key_header in native_headers)
            if key is not None:
                native_headers[self.key_header] = key
        body = request.body
        # No body or a bytes-backed one (bytes, str, JSON, forms), as nearly every request
        # has, can be sent again: checked here to spare awaiting _replayable.
        replayable = not body or isinstance(body, payload.BytesPayload)
        if not replayable:
            replayable = await self._replayable(request)
        cache = self.cache
        if cache is None:
            headers = Headers.wrap(_Fields(native_headers), native_headers.items)
        else:
            # A copy: the cache adds validators to aiohttp's request.
            headers = Headers(native_headers.items())
        # aiohttp hands over one URL object per URL string (yarl memoises parsing), so its
        # text and origin are looked up, not rebuilt, for each request.
        url = request.url
        known = _URLS.get(url)
        if known is None:
            text = str(url)
            known = (text, self.origins(text))
            if len(_URLS) < _URLS_KEPT:
                _URLS[url] = known
        ours = Request(
            request.method,
            known[0],
            headers,
            None,
            {"native": request},
            origin=known[1],
            replayable=replayable,
        )
        exchange = _Exchange(self, request, ours, handler)
        cfg = self.flow_config
        try:
            # Attempt 1 made here, as restwell's clients make it (FastPath): a request that
            # succeeds at once never starts a flow. Anything else is handed to request_flow
            # as if it had sent the attempt. With a cache, the cache's flow decides instead.
            path = FastPath.begin(ours, _UNBOUNDED, cfg) if cache is None else None
            if path is not None:
                first: FirstAttempt | None
                try:
                    result = await exchange.send(ours, True)
                except TransportError as exc:
                    first = path.failed(exc)
                else:
                    first = path.settle(result, cfg)
                if first is not None:
                    flow = request_flow(ours, _UNBOUNDED, cfg, stream=True, first=first)
                    result = await run_async(flow, exchange.perform)
            else:
                coded = not getattr(session, "auto_decompress", True)
                flow = self.flow(ours, _UNBOUNDED, None, mode, custom_key, coded=coded)
                result = await run_async(flow, exchange.perform)
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
