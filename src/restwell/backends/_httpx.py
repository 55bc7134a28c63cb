"""Backends over an ``httpx2`` (or legacy ``httpx``) client the user already has.

Both modules share one API, so one translation serves both; the module is taken from the
client's own type. The client keeps its settings (transport, proxies, certificates, cookies,
headers, auth); restwell sends with ``follow_redirects=False`` and does the retrying.
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._base import aread_limited, read_limited
from restwell.errors import (
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    InvalidURL,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    TransportError,
    WriteTimeout,
)

__all__ = ["AsyncHttpxBackend", "HttpxBackend", "disable_transport_retries"]


def _module_of(client: object) -> ModuleType:
    name = type(client).__module__.split(".")[0]
    if name not in ("httpx", "httpx2"):
        raise TypeError(f"expected an httpx2/httpx client, got {type(client).__name__}")
    return importlib.import_module(name)


def translate_httpx(mod: Any, exc: Exception, request: Request) -> Exception:
    """Translate an httpx2/httpx exception into restwell's (the caller chains the original)."""
    if isinstance(exc, mod.ConnectTimeout):
        return ConnectTimeout("connect timed out", request=request)
    if isinstance(exc, mod.PoolTimeout):
        return PoolTimeout("no free pooled connection", request=request)
    if isinstance(exc, mod.ReadTimeout):
        return ReadTimeout("read timed out", request=request)
    if isinstance(exc, mod.WriteTimeout):
        return WriteTimeout("write timed out", request=request)
    if isinstance(exc, mod.ConnectError | mod.ProxyError):
        return ConnectError(f"cannot connect: {exc}", request=request)
    if isinstance(exc, mod.ReadError | mod.WriteError | mod.RemoteProtocolError):
        return ConnectionDropped(f"connection dropped: {exc}", request=request)
    if isinstance(exc, mod.UnsupportedProtocol | mod.InvalidURL):
        return InvalidURL.for_request(request, exc)
    if isinstance(exc, mod.LocalProtocolError | mod.DecodingError):
        return ProtocolError(f"invalid exchange: {exc}", request=request)
    return TransportError(f"{type(exc).__name__}: {exc}", request=request)


def disable_transport_retries(transport: Any) -> int:
    """Turn off the connect retries of an httpx transport (``retries=``); returns how many it had.

    restwell's policy retries instead, so connect attempts are not multiplied (as the requests
    backend turns off urllib3's retries). New connections of the pool see the change.
    """
    pool: Any = getattr(transport, "_pool", None)
    retries = getattr(pool, "_retries", 0)
    if retries:
        pool._retries = 0
    return int(retries or 0)


def _warn_transport_retries(client: Any) -> None:
    # httpx transports can retry failed connects themselves (`retries=`): turn it off, say so.
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    retries = max((disable_transport_retries(t) for t in transports if t is not None), default=0)
    if retries:
        warnings.warn(
            f"restwell turned off the connect retries of the httpx client's transport (retries="
            f"{retries}): restwell's policy retries instead, so attempts are not multiplied",
            RuntimeWarning,
            stacklevel=4,
        )


class _HttpxBase:
    """What the sync and async httpx backends share: conversion both ways."""

    def __init__(self, client: Any, max_body_size: int | None, owned: bool) -> None:
        self.client = client
        self._mod = _module_of(client)
        self._max_body = max_body_size
        self._owned = owned
        self._timeouts: dict[Timeout, Any] = {}
        _warn_transport_retries(client)

    @property
    def session_headers(self) -> Headers:
        """Headers the client sends itself (they win over restwell's defaults)."""
        return Headers(self.client.headers.multi_items())

    def _native_request(self, request: Request, timeout: Timeout) -> Any:
        native_timeout = self._timeouts.get(timeout)
        if native_timeout is None:
            native_timeout = self._mod.Timeout(
                connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.pool
            )
            if len(self._timeouts) < 64:
                self._timeouts[timeout] = native_timeout
        return self.client.build_request(
            request.method,
            request.url,
            headers=request.headers.to_dict(),
            content=request.content,
            timeout=native_timeout,
        )

    def _response(
        self, raw: Any, request: Request, content: bytes | None, started: float
    ) -> Response:
        native = raw.headers
        return Response(
            raw.status_code,
            Headers.wrap(native.get_list, native.multi_items),
            request=request,
            content=content,
            stream=None,
            elapsed=time.perf_counter() - started,
        )


class _Stream:
    __slots__ = ("_mod", "_raw", "_request")

    def __init__(self, mod: Any, raw: Any, request: Request) -> None:
        self._mod, self._raw, self._request = mod, raw, request

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from self._raw.iter_bytes(chunk_size)
        except self._mod.HTTPError as exc:
            raise translate_httpx(self._mod, exc, self._request) from exc

    def close(self) -> None:
        self._raw.close()


class _AsyncStream:
    __slots__ = ("_mod", "_raw", "_request")

    def __init__(self, mod: Any, raw: Any, request: Request) -> None:
        self._mod, self._raw, self._request = mod, raw, request

    async def aiter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._raw.aiter_bytes(chunk_size):
                yield chunk
        except self._mod.HTTPError as exc:
            raise translate_httpx(self._mod, exc, self._request) from exc

    async def aclose(self) -> None:
        await self._raw.aclose()


class HttpxBackend(_HttpxBase):
    """Sends requests through an ``httpx2.Client`` (or ``httpx.Client``).

    Args:
        client: The client (not closed by restwell unless ``owned``).
        max_body_size: Largest response body read, in bytes (``None``: no limit).
        owned: Close the client when the restwell client closes.
    """

    def __init__(
        self, client: Any, *, max_body_size: int | None = None, owned: bool = False
    ) -> None:
        super().__init__(client, max_body_size, owned)

    def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once (no retries, no redirects)."""
        started = time.perf_counter()
        mod = self._mod
        try:
            raw = self.client.send(
                self._native_request(request, timeout), stream=True, follow_redirects=False
            )
            content = None
            if not stream:
                try:
                    if self._max_body is None:
                        content = raw.read()
                    else:
                        content = read_limited(raw.iter_bytes(), self._max_body, request)
                finally:
                    raw.close()
        except (mod.HTTPError, mod.InvalidURL) as exc:  # InvalidURL is no HTTPError
            raise translate_httpx(mod, exc, request) from exc
        response = self._response(raw, request, content, started)
        if stream:
            response._stream = _Stream(mod, raw, request)
        return response

    def close(self) -> None:
        """Close the client if restwell created it."""
        if self._owned:
            self.client.close()


class AsyncHttpxBackend(_HttpxBase):
    """Sends requests through an ``httpx2.AsyncClient`` (or ``httpx.AsyncClient``).

    Args:
        client: The client (not closed by restwell unless ``owned``).
        max_body_size: Largest response body read, in bytes (``None``: no limit).
        owned: Close the client when the restwell client closes.
    """

    def __init__(
        self, client: Any, *, max_body_size: int | None = None, owned: bool = False
    ) -> None:
        super().__init__(client, max_body_size, owned)

    async def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once (no retries, no redirects)."""
        started = time.perf_counter()
        mod = self._mod
        try:
            raw = await self.client.send(
                self._native_request(request, timeout), stream=True, follow_redirects=False
            )
            content = None
            if not stream:
                try:
                    content = await self._aread(raw, request)
                finally:
                    await raw.aclose()
        except (mod.HTTPError, mod.InvalidURL) as exc:  # InvalidURL is no HTTPError
            raise translate_httpx(mod, exc, request) from exc
        response = self._response(raw, request, content, started)
        if stream:
            response._stream = _AsyncStream(mod, raw, request)
        return response

    async def _aread(self, raw: Any, request: Request) -> bytes:
        if self._max_body is None:
            return bytes(await raw.aread())
        return await aread_limited(raw.aiter_bytes(), self._max_body, request)

    async def aclose(self) -> None:
        """Close the client if restwell created it."""
        if self._owned:
            await self.client.aclose()
