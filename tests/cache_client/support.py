"""Glue for the client cache tests: one blocking face over ``Client`` and ``AsyncClient``.

The async client runs on a private event loop in its own thread, so its background work
(``stale-while-revalidate``) goes on between calls exactly as it would in an application,
and the same test body drives both clients.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from restwell import AsyncClient, Client, Response
from restwell.cache import CacheStorage
from restwell.policy.cache import CachePolicy, StoredResponse

__all__ = ["AsyncDriver", "Driver", "SyncDriver", "stored", "wait_until"]

T = TypeVar("T")
CALL_TIMEOUT = 30.0


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; whether it held."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(step)
    return True


def stored(storage: CacheStorage, url: str, suffix: str = "") -> list[StoredResponse]:
    """The responses stored for ``GET url`` (``suffix``: the credential part of the key)."""
    key = CachePolicy().cache_key("GET", url) + suffix
    return [StoredResponse.from_bytes(value) for _, value in storage.get(key)]


class Driver:
    """A client of either kind behind blocking calls."""

    kind = ""
    client: Client | AsyncClient
    storage: CacheStorage | None

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        raise NotImplementedError

    def get(self, url: str, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        return self.request("PUT", url, **kwargs)

    def stream_get(self, url: str, **kwargs: Any) -> tuple[Response, bytes]:
        """``GET`` with the body left on the wire, then read it whole inside the stream."""
        raise NotImplementedError

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) for the client's known background work; whether it finished."""
        return True

    def close(self) -> None:
        raise NotImplementedError


class SyncDriver(Driver):
    kind = "sync"

    def __init__(self, storage: CacheStorage | None, **options: Any) -> None:
        self.storage = storage
        self.client = self._client = Client(cache=storage, **options)

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        return self._client.request(method, url, **kwargs)

    def stream_get(self, url: str, **kwargs: Any) -> tuple[Response, bytes]:
        with self._client.stream("GET", url, **kwargs) as response:
            return response, response.read()

    def close(self) -> None:
        self._client.close()


class AsyncDriver(Driver):
    kind = "async"

    def __init__(self, storage: CacheStorage | None, **options: Any) -> None:
        self.storage = storage
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def make() -> AsyncClient:
            return AsyncClient(cache=storage, **options)

        self.client = self._client = self._run(make())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT)

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        return self._run(self._client.request(method, url, **kwargs))

    def stream_get(self, url: str, **kwargs: Any) -> tuple[Response, bytes]:
        async def read() -> tuple[Response, bytes]:
            async with self._client.stream("GET", url, **kwargs) as response:
                return response, await response.aread()

        return self._run(read())

    def settle(self, timeout: float = 5.0) -> bool:
        async def pending() -> int:
            return len(self._client._revalidations.tasks)

        return wait_until(lambda: self._run(pending()) == 0, timeout)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._client.aclose())
            if self.storage is not None:
                self._run(self.storage.aclose())  # this loop's connections (Redis)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
