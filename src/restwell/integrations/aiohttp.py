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
from typing import Any

import aiohttp
from aiohttp import payload

from restwell._flow import Close, FlowAction, Send, Sleep, asleep, request_flow, run_async
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._aiohttp import translate_aiohttp
from restwell.errors import TransportError
from restwell.integrations._common import IntegrationBase

__all__ = ["RetryMiddleware"]

_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
_NONE: list[str] = []
_UNBOUNDED = Timeout(None, None, None)


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
        key = self.key_to_add(request.method, self.key_header in request.headers)
        if key is not None:
            request.headers[self.key_header] = key
        body = request.body
        # Bytes-backed payloads (bytes, str, JSON, forms) can be written again; streams cannot.
        replayable = isinstance(body, payload.BytesPayload) or not body
        native_headers = request.headers
        ours = Request(
            request.method,
            str(request.url),
            Headers.wrap(
                functools.partial(native_headers.getall, default=_NONE), native_headers.items
            ),
            None,
            {"native": request},
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
        except TransportError as exc:
            raise (exc.__cause__ or exc) from None
        native: aiohttp.ClientResponse = result.native
        native.restwell = {"attempts": result.attempts, "retries": result.retries}  # type: ignore[attr-defined]
        return native
