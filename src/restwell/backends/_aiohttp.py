"""The default async backend: one ``aiohttp.ClientSession``."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._base import aread_limited
from restwell.errors import (
    BodyTooLarge,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    InvalidURL,
    ProtocolError,
    ReadTimeout,
    TransportError,
)

__all__ = ["AiohttpBackend", "translate_aiohttp", "wrap_aiohttp_headers"]


def translate_aiohttp(exc: BaseException, request: Request) -> Exception:
    """Translate an aiohttp exception into restwell's (the caller chains the original)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectTimeout("connect timed out", request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return ReadTimeout("read timed out", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ClientSSLError):
        return ConnectError(f"cannot connect: {exc}", request=request)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return InvalidURL.for_request(request, exc)
    if isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientOSError
        | aiohttp.ClientPayloadError
        | ConnectionError,
    ):
        return ConnectionDropped(f"connection dropped: {exc}", request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return ProtocolError(f"invalid response: {exc.message}", request=request)
    return TransportError(f"{type(exc).__name__}: {exc}", request=request)


_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_NONE: list[str] = []


# HTTP field values are ISO-8859-1 octets (RFC 9110 §5.5); aiohttp decodes them as UTF-8 with
# surrogate escapes. Re-decoded, a value reads the same as on every other backend (http.client
# and h11 use ISO-8859-1), and a cache forwarding it sends the very bytes it received.
def _latin1(value: str) -> str:
    return value if value.isascii() else value.encode("utf-8", "surrogateescape").decode("latin-1")


class _Fields:
    """A response's aiohttp fields as ``Headers.wrap`` reads them (its ``getall``).

    One object per response: bound methods and partials would be several, each tracked by
    the garbage collector.
    """

    __slots__ = ("_native",)

    def __init__(self, native: CIMultiDictProxy[str]) -> None:
        self._native = native

    def __call__(self, name: str) -> list[str]:
        values = self._native.getall(name, _NONE)
        for value in values:
            if not value.isascii():
                return [_latin1(v) for v in values]
        return values

    def items(self) -> list[tuple[str, str]]:
        pairs = list(self._native.items())
        for _, value in pairs:
            if not value.isascii():
                return [(name, _latin1(value)) for name, value in pairs]
        return pairs  # the usual fields, all ASCII: as aiohttp has them


def wrap_aiohttp_headers(native: CIMultiDictProxy[str]) -> Headers:
    """A response's aiohttp headers as restwell's, read lazily, values as ISO-8859-1."""
    fields = _Fields(native)
    return Headers.wrap(fields, fields.items, native.__contains__)


# asyncio's selector transports receive up to 256 KiB per read. glibc serves an allocation
# that size with mmap unless its adaptive threshold happens to have risen, and CPython then
# shrinks the bytes object to what arrived (mremap) and frees it (munmap): three system calls
# and a page fault per read, about a tenth of the cost of a small request. 64 KiB reads are
# served from the heap whatever the allocator's history; large bodies take more, cheaper reads.
_READ_SIZE = 64 * 1024


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, setting the read size of each connection it opens."""

    # aiohttp's hook for a new connection is private; should it change, this override is
    # never called and connections keep asyncio's read size: slower, never wrong.
    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        protocol = await super()._create_connection(*args, **kwargs)
        transport = getattr(protocol, "transport", None)
        # `max_size` is the selector transport's read size (an SSL transport has none: it
        # reads into a buffer of its own).
        if getattr(transport, "max_size", 0) > _READ_SIZE:
            transport.max_size = _READ_SIZE  # type: ignore[union-attr]
        return protocol


def _no_hidden_retry(session: aiohttp.ClientSession) -> None:
    # aiohttp silently resends idempotent requests once when a pooled connection drops;
    # restwell's policy does the retrying, so every attempt is counted and budgeted once.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


class _Stream:
    """An aiohttp response body still on the wire."""

    __slots__ = ("_raw", "_request")

    def __init__(self, raw: aiohttp.ClientResponse, request: Request) -> None:
        self._raw = raw
        self._request = request

    async def aiter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._raw.content.iter_chunked(chunk_size):
                yield chunk
        except _ERRORS as exc:
            raise translate_aiohttp(exc, self._request) from exc

    async def aclose(self) -> None:
        self._raw.release()


class AiohttpBackend:
    """Sends requests through one pooled :class:`aiohttp.ClientSession`.

    The session is created on first use, inside the running event loop.

    Args:
        max_connections: Connections in the pool, all hosts together.
        max_connections_per_host: Per host (0: no separate limit).
        verify: ``True`` (system CAs), ``False`` (no verification: unsafe), or a CA bundle path.
        cert: Client certificate file (PEM, key included) or ``(cert, key)`` paths.
        max_body_size: Largest response body read, in bytes (``None``: no limit).
        session: A ready ``ClientSession`` to use instead (its own settings are kept; it is
            not closed by :meth:`aclose`).
        decode_content: Undo ``Content-Encoding``; ``False`` hands the body over as received.
        bare: Add no header of aiohttp's own (``Accept``, ``Accept-Encoding``, ``User-Agent``).
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_connections_per_host: int = 0,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        max_body_size: int | None = None,
        session: aiohttp.ClientSession | None = None,
        decode_content: bool = True,
        bare: bool = False,
    ) -> None:
        self._decode = decode_content
        # aiohttp adds Accept, Accept-Encoding and User-Agent unless told to skip them.
        # None, not (): aiohttp builds a set per request from any value given.
        self._skip: tuple[str, ...] | None = (
            ("Accept", "Accept-Encoding", "User-Agent") if bare else None
        )
        self._session = session
        self._owned = session is None
        if session is not None:
            _no_hidden_retry(session)
        self._limits = (max_connections, max_connections_per_host)
        self._ssl: ssl.SSLContext | bool = True
        if verify is False:
            self._ssl = False
        elif isinstance(verify, str) or cert is not None:
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
            if cert is not None:
                certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
                context.load_cert_chain(certfile, keyfile)
            self._ssl = context
        self._max_body = max_body_size
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        self._last: tuple[Timeout | None, aiohttp.ClientTimeout] = (None, aiohttp.ClientTimeout())

    @property
    def decodes_content(self) -> bool:
        """Whether bodies arrive with their ``Content-Encoding`` undone."""
        if self._session is not None and not self._owned:
            return bool(getattr(self._session, "auto_decompress", True))
        return self._decode

    @property
    def session_headers(self) -> Headers | None:
        """Headers a session the user gave sends itself (they win over restwell's defaults).

        Per-request headers override a ``ClientSession``'s own, so without this restwell's
        ``User-Agent``/``Accept`` defaults would replace the user's.
        """
        if self._owned or self._session is None:
            return None
        return Headers(list(self._session.headers.items()))

    def _timeout(self, timeout: Timeout) -> aiohttp.ClientTimeout:
        last = self._last
        if last[0] is timeout:  # the client's default object, nearly always
            return last[1]
        converted = self._timeouts.get(timeout)
        if converted is None:
            connect = timeout.connect
            # aiohttp's `connect` covers waiting for a pool slot plus connecting.
            pool_and_connect = (
                None if timeout.pool is None or connect is None else timeout.pool + connect
            )
            converted = aiohttp.ClientTimeout(
                total=None, connect=pool_and_connect, sock_connect=connect, sock_read=timeout.read
            )
            if len(self._timeouts) < 64:
                self._timeouts[timeout] = converted
        self._last = (timeout, converted)
        return converted

    def _open(self) -> aiohttp.ClientSession:
        limit, per_host = self._limits
        session = aiohttp.ClientSession(
            connector=_Connector(limit=limit, limit_per_host=per_host, ssl=self._ssl),
            auto_decompress=self._decode,
        )
        _no_hidden_retry(session)
        self._session = session
        return session

    async def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once (no retries, no redirects)."""
        session = self._session or self._open()
        started = time.perf_counter()
        try:
            raw = await session.request(
                request.method,
                request.url,
                headers=request.headers.to_dict(),
                skip_auto_headers=self._skip,
                data=request.content,
                allow_redirects=False,
                timeout=self._timeout(timeout),
            )
            if stream:
                content = None
            elif self._max_body is None:
                content = await raw.read()  # inline: one coroutine fewer per request
                raw.release()
            else:
                content = await self._read(raw, request)
        except _ERRORS as exc:
            raise translate_aiohttp(exc, request) from exc
        return Response(
            raw.status,
            wrap_aiohttp_headers(raw.headers),
            request=request,
            content=content,
            stream=_Stream(raw, request) if stream else None,
            url=request.url,
            elapsed=time.perf_counter() - started,
        )

    async def _read(self, raw: aiohttp.ClientResponse, request: Request) -> bytes:
        if self._max_body is None:
            data = await raw.read()
        else:
            try:
                data = await aread_limited(raw.content.iter_chunked(65536), self._max_body, request)
            except BodyTooLarge:
                raw.close()
                raise
        raw.release()
        return data

    async def aclose(self) -> None:
        """Close the session this backend created."""
        if self._session is not None and self._owned:
            await self._session.close()
        self._session = None
