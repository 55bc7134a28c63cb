"""One blocking face over every integration with a cache, for ``test_cache.py``.

Each driver is the user's own library with restwell's integration inside, configured with a
cache, and sends in that library's native way: the per-call cache mode and key go through the
integration's native per-request mechanism (httpx request extensions, the ``Restwell-Cache`` /
``Restwell-Cache-Key`` headers for requests and aiohttp), credentials through the library's own
``auth=``. What comes back is an :class:`Answer`: status, headers, the body as the library
decoded it, and the cache status read from where the integration reports it. Async libraries
run on a private event loop in a thread, so their background revalidations go on between
calls, as in an application.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
import httpx2
import requests

from restwell.cache import CacheStorage, RedisCache
from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import (
    CACHE_KEY_EXTENSION,
    CACHE_MODE_EXTENSION,
    CACHE_STATUS_EXTENSION,
    AsyncRetryTransport,
    RetryTransport,
)
from restwell.integrations.requests import CACHE_KEY_HEADER, CACHE_MODE_HEADER, RetryAdapter
from tests.origin import serving

T = TypeVar("T")

KINDS = ["httpx2", "httpx2-async", "httpx", "requests", "aiohttp"]
"""Every integration: httpx2 sync and async transports, the sync transport in a legacy httpx
client, the requests adapter and the aiohttp middleware."""

CALL_TIMEOUT = 30.0


@dataclass
class Answer:
    """One response as the test sees it."""

    status: int
    headers: dict[str, str]
    body: bytes
    cache: str | None
    report: dict[str, Any]
    native: Any


def _httpx_options(mode: str | None, key: str | None) -> dict[str, Any]:
    extensions: dict[str, Any] = {}
    if mode is not None:
        extensions[CACHE_MODE_EXTENSION] = mode
    if key is not None:
        extensions[CACHE_KEY_EXTENSION] = key
    return extensions


def _control_headers(
    headers: dict[str, str] | None, mode: str | None, key: str | None
) -> dict[str, str]:
    merged = dict(headers or {})
    if mode is not None:
        merged[CACHE_MODE_HEADER] = mode
    if key is not None:
        merged[CACHE_KEY_HEADER] = key
    return merged


def _lower(items: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}


class CacheDriver:
    """A library with restwell's integration and a cache, behind blocking calls."""

    kind = ""

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        mode: str | None = None,
        key: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        raise NotImplementedError

    def get(self, url: str, **kwargs: Any) -> Answer:
        return self.request("GET", url, **kwargs)

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) until the integration's background revalidations ended."""
        return True

    def close(self) -> None:
        raise NotImplementedError


class HttpxDriver(CacheDriver):
    def __init__(self, mod: Any, **options: Any) -> None:
        self.kind = mod.__name__
        self.transport = RetryTransport(**options)
        self.client = mod.Client(transport=self.transport)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        mode: str | None = None,
        key: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        native = self.client.request(
            method, url, headers=headers, auth=auth, extensions=_httpx_options(mode, key)
        )
        return Answer(
            native.status_code,
            _lower(native.headers.multi_items()),
            native.content,
            native.extensions.get(CACHE_STATUS_EXTENSION),
            native.extensions["restwell"],
            native,
        )

    def settle(self, timeout: float = 5.0) -> bool:
        return _wait_threads(timeout)

    def close(self) -> None:
        self.client.close()


def _wait_threads(timeout: float) -> bool:
    for thread in threading.enumerate():
        if thread.name == "restwell-revalidate":
            thread.join(timeout)
            if thread.is_alive():
                return False
    return True


class RequestsDriver(CacheDriver):
    kind = "requests"

    def __init__(self, **options: Any) -> None:
        self.adapter = RetryAdapter(**options)
        self.session = requests.Session()
        self.session.mount("http://", self.adapter)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        mode: str | None = None,
        key: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        native = self.session.request(
            method, url, headers=_control_headers(headers, mode, key), auth=auth, timeout=10
        )
        return Answer(
            native.status_code,
            _lower(native.headers.items()),
            native.content,
            getattr(native, "restwell_cache", None),
            native.restwell,  # type: ignore[attr-defined]
            native,
        )

    def settle(self, timeout: float = 5.0) -> bool:
        return _wait_threads(timeout)

    def close(self) -> None:
        self.session.close()


class _Loop:
    """A private event loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(CALL_TIMEOUT)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class _AsyncDriver(CacheDriver):
    """An async library on a private loop: its integration (``owner``) and its client."""

    def __init__(self, owner: Any, storage: CacheStorage | None) -> None:
        self._storage = storage
        self._loop = _Loop()
        self._owner = owner

    async def _aclose_client(self) -> None:
        raise NotImplementedError

    def settle(self, timeout: float = 5.0) -> bool:
        return _settle_tasks(self._loop, self._owner, timeout)

    def close(self) -> None:
        try:
            self._loop.run(self._aclose_client())
            _close_storage(self._loop, self._storage)
        finally:
            self._loop.stop()


class AsyncHttpxDriver(_AsyncDriver):
    kind = "httpx2-async"

    def __init__(self, **options: Any) -> None:
        self.transport = AsyncRetryTransport(**options)
        super().__init__(self.transport, options.get("cache"))

        async def make() -> httpx2.AsyncClient:
            return httpx2.AsyncClient(transport=self.transport)

        self.client = self._loop.run(make())

    async def _aclose_client(self) -> None:
        await self.client.aclose()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        mode: str | None = None,
        key: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        async def send() -> httpx2.Response:
            return await self.client.request(
                method, url, headers=headers, auth=auth, extensions=_httpx_options(mode, key)
            )

        native = self._loop.run(send())
        return Answer(
            native.status_code,
            _lower(native.headers.multi_items()),
            native.content,
            native.extensions.get(CACHE_STATUS_EXTENSION),
            native.extensions["restwell"],
            native,
        )


def _close_storage(loop: _Loop, storage: CacheStorage | None) -> None:
    """Close what the storage opened on this loop (a Redis storage's async connections)."""
    if isinstance(storage, RedisCache):
        loop.run(storage.aclose())


def _settle_tasks(loop: _Loop, owner: Any, timeout: float) -> bool:
    async def wait() -> bool:
        pending = list(owner._revalidations.tasks)
        if not pending:
            return True
        _, still = await asyncio.wait(pending, timeout=timeout)
        return not still

    return loop.run(wait())


class AiohttpDriver(_AsyncDriver):
    kind = "aiohttp"

    def __init__(self, **options: Any) -> None:
        self.middleware = RetryMiddleware(**options)
        super().__init__(self.middleware, options.get("cache"))

        async def make() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(middlewares=(self.middleware,))

        self.session = self._loop.run(make())

    async def _aclose_client(self) -> None:
        await self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        mode: str | None = None,
        key: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        async def send() -> Answer:
            async with self.session.request(
                method,
                url,
                headers=_control_headers(headers, mode, key)
                | (_aiohttp_auth(*auth) if auth else {}),
            ) as native:
                body = await native.read()
                return Answer(
                    native.status,
                    _lower(native.headers.items()),
                    body,
                    getattr(native, "restwell_cache", None),
                    native.restwell,  # type: ignore[attr-defined]
                    native,
                )

        return self._loop.run(send())


def _aiohttp_auth(user: str, password: str) -> dict[str, str]:
    """aiohttp's own Basic credentials, as its ``auth=`` (deprecated in 3.14) would send them."""
    encode = getattr(aiohttp, "encode_basic_auth", None)
    if encode is not None:
        return {"Authorization": encode(user, password)}
    return {"Authorization": aiohttp.BasicAuth(user, password).encode()}


@contextmanager
def running_chunked_origin() -> Iterator[ChunkedOrigin]:
    """An origin whose bodies have no ``Content-Length`` (chunked), fresh for ten minutes.

    ``GET /{key}/{size}`` answers ``size`` bytes (byte ``i`` is ``i % 251``) in 1000-byte
    chunks; :meth:`ChunkedOrigin.hits` counts the requests per key.
    """
    origin = ChunkedOrigin()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                target = head.split(b" ", 2)[1].decode()
                key, size = target.strip("/").split("/")
                origin.count(key)
                body = bytes(i % 251 for i in range(int(size)))
                out = [
                    b"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\n"
                    b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                ]
                for start in range(0, len(body), 1000):
                    chunk = body[start : start + 1000]
                    out.append(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                out.append(b"0\r\n\r\n")
                writer.write(b"".join(out))
                await writer.drain()
        finally:
            writer.close()

    with serving(serve, "chunked origin") as port:
        origin.url = f"http://127.0.0.1:{port}"
        yield origin


class ChunkedOrigin:
    """What :func:`running_chunked_origin` saw."""

    def __init__(self) -> None:
        self.url = ""
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, key: str) -> None:
        with self._lock:
            self._hits[key] = self._hits.get(key, 0) + 1

    def hits(self, key: str) -> int:
        with self._lock:
            return self._hits.get(key, 0)


def make_cache_driver(kind: str, storage: CacheStorage, **options: Any) -> CacheDriver:
    """A driver of ``kind`` whose integration caches in ``storage``."""
    options["cache"] = storage
    if kind == "httpx2":
        return HttpxDriver(httpx2, **options)
    if kind == "httpx":
        return HttpxDriver(httpx, **options)
    if kind == "httpx2-async":
        return AsyncHttpxDriver(**options)
    if kind == "requests":
        return RequestsDriver(**options)
    if kind == "aiohttp":
        return AiohttpDriver(**options)
    raise ValueError(kind)
