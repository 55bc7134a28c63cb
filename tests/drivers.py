"""One synchronous face over every way restwell sends requests, so one test suite covers all.

Each driver wraps a restwell client on one backend; async ones run on a private event loop.
Later backends and integrations add a driver here (and its kind to ``SYNC_KINDS`` or
``ASYNC_KINDS``) and inherit the whole integration suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any, Protocol, TypeVar, cast

import restwell

T = TypeVar("T")


class Driver(Protocol):
    name: str
    is_async: bool

    @property
    def client(self) -> restwell.Client | restwell.AsyncClient: ...

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response: ...

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any: ...

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        """Stream a request: its response and the chunks read (at most ``max_chunks``)."""
        ...

    def exit(self) -> None:
        """Leave the client's ``with`` / ``async with`` block (closes it)."""
        ...

    def close(self) -> None: ...


class SyncDriver:
    is_async = False

    def __init__(self, name: str, client: restwell.Client) -> None:
        self.name = name
        # Used as a context manager, as applications do; `exit()` leaves the block.
        self._client = client.__enter__()

    @property
    def client(self) -> restwell.Client:
        return self._client

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self._client.request(method, url, **kwargs)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._client.request_json(method, url, **kwargs)

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        out: list[bytes] = []
        with self._client.stream(method, url, **kwargs) as response:
            chunks = cast(Generator[bytes, None, None], response.iter_bytes(chunk_size))
            try:
                if max_chunks != 0:
                    for chunk in chunks:
                        out.append(chunk)
                        if max_chunks is not None and len(out) >= max_chunks:
                            break
            finally:
                chunks.close()
        return response, out

    def exit(self) -> None:
        self._client.__exit__(None, None, None)

    def close(self) -> None:
        self._client.close()


class AsyncDriver:
    is_async = True

    def __init__(self, name: str, factory: Callable[[], restwell.AsyncClient]) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()

        async def make() -> restwell.AsyncClient:
            return await factory().__aenter__()

        try:
            self._client = self.loop.run_until_complete(make())
        except BaseException:
            self.loop.close()
            raise

    @property
    def client(self) -> restwell.AsyncClient:
        return self._client

    def run(self, fn: Callable[[restwell.AsyncClient], Coroutine[Any, Any, T]]) -> T:
        """Run ``fn(client)`` on the driver's event loop and return its result."""
        return self.loop.run_until_complete(fn(self._client))

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self.loop.run_until_complete(self._client.request(method, url, **kwargs))

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.loop.run_until_complete(self._client.request_json(method, url, **kwargs))

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        async def read() -> tuple[restwell.Response, list[bytes]]:
            out: list[bytes] = []
            async with self._client.stream(method, url, **kwargs) as response:
                chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes(chunk_size))
                try:
                    if max_chunks != 0:
                        async for chunk in chunks:
                            out.append(chunk)
                            if max_chunks is not None and len(out) >= max_chunks:
                                break
                finally:
                    await chunks.aclose()
            return response, out

        return self.loop.run_until_complete(read())

    def exit(self) -> None:
        self.loop.run_until_complete(self._client.__aexit__(None, None, None))

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self._client.aclose())
            self.loop.close()


DriverFactory = Callable[..., Driver]
SyncDriverFactory = Callable[..., SyncDriver]
AsyncDriverFactory = Callable[..., AsyncDriver]


def make_driver(kind: str, base_url: str, **options: Any) -> Driver:
    """A driver of ``kind`` with restwell client ``options``."""
    if kind in SYNC_KINDS:
        return make_sync_driver(kind, base_url, **options)
    return make_async_driver(kind, base_url, **options)


def make_sync_driver(kind: str, base_url: str, **options: Any) -> SyncDriver:
    """A driver over the sync :class:`restwell.Client` on backend ``kind``."""
    if kind == "urllib3":
        return SyncDriver(kind, restwell.Client(base_url, **options))
    raise ValueError(kind)


def make_async_driver(kind: str, base_url: str, **options: Any) -> AsyncDriver:
    """A driver over :class:`restwell.AsyncClient` on backend ``kind``."""
    if kind == "aiohttp":
        return AsyncDriver(kind, lambda: restwell.AsyncClient(base_url, **options))
    raise ValueError(kind)


SYNC_KINDS = ["urllib3"]
ASYNC_KINDS = ["aiohttp"]
KINDS = SYNC_KINDS + ASYNC_KINDS
