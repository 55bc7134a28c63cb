"""One synchronous face over every way restwell sends requests, so one test suite covers all.

Each driver wraps a restwell client on one backend; async ones run on a private event loop.
Later backends and integrations add a driver here and inherit the whole integration suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import restwell


class Driver(Protocol):
    name: str

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response: ...

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any: ...

    def close(self) -> None: ...


class SyncDriver:
    def __init__(self, name: str, client: restwell.Client) -> None:
        self.name = name
        self.client = client

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self.client.request(method, url, **kwargs)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.client.request_json(method, url, **kwargs)

    def close(self) -> None:
        self.client.close()


class AsyncDriver:
    def __init__(self, name: str, factory: Callable[[], restwell.AsyncClient]) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()

        async def make() -> restwell.AsyncClient:
            return factory()

        self.client = self.loop.run_until_complete(make())

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kwargs))

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.loop.run_until_complete(self.client.request_json(method, url, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


DriverFactory = Callable[..., Driver]


def make_driver(kind: str, base_url: str, **options: Any) -> Driver:
    """A driver of ``kind`` with restwell client ``options``."""
    if kind == "urllib3":
        return SyncDriver(kind, restwell.Client(base_url, **options))
    if kind == "aiohttp":
        return AsyncDriver(kind, lambda: restwell.AsyncClient(base_url, **options))
    raise ValueError(kind)


KINDS = ["urllib3", "aiohttp"]
