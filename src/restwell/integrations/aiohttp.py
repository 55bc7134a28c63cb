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
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import aiohttp
from aiohttp import payload

from restwell._flow import Close, FlowAction, Send, Sleep, asleep, request_flow, run_async
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._aiohttp import _no_hidden_retry, translate_aiohttp
from restwell.integrations._common import NATIVE_ERRORS, IntegrationBase, native_error, report

__all__ = ["RetryMiddleware"]

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
        key = self.key_to_add(request.method, self.key_header in request.headers)
        if key is not None:
            request.headers[self.key_header] = key
        replayable = await self._replayable(request)
        native_headers = request.headers
        ours = Request(
            request.method,
            str(request.url),
            Headers.wrap(
                functools.partial(native_headers.getall, default=_NONE), native_headers.items
            ),
            None,
            {"native": request},
            origin=self.origins(str(request.url)),
            replayable=replayable,
        )

        async def perform(action: FlowAction) -> Any:
            if type(action) is Send:
                assert isinstance(action, Send)
                try:
                    native = await handler(request)
                except _ERRORS as exc:
                    raise translate_aiohttp(exc, ours) from exc
                response = Response(
                    native.status,
                    Headers.wrap(
                        functools.partial(native.headers.getall, default=_NONE),
                        native.headers.items,
                    ),
                    request=ours,
                    stream=_Closer(native),
                )
                response.native = native
                return response
            if type(action) is Sleep:
                assert isinstance(action, Sleep)
                return await asleep(action.seconds)
            assert isinstance(action, Close)
            return await action.response.aclose()

        flow = request_flow(ours, _UNBOUNDED, self.flow_config, stream=True)
        try:
            result = await run_async(flow, perform)
        except NATIVE_ERRORS as exc:
            error = native_error(exc)
            if resend and isinstance(error, _RESENT) and not isinstance(error, _NOT_RESENT):
                _GAVE_UP.set((timer, error))
            raise error from None
        native: aiohttp.ClientResponse = result.native
        native.restwell = report(result)  # type: ignore[attr-defined]
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
