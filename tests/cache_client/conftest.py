"""Fixtures: the caching test origin, each storage, and clients of both kinds on a fake clock.

``make_client`` is parametrised over the sync ``Client`` and the ``AsyncClient``, and
``storage`` over ``MemoryCache``, ``SQLiteCache`` (a file in the test's tmp dir) and
``RedisCache`` on the real redis-server of ``tests/cache/conftest.py`` (skipped without the
binary unless ``CI`` is set, where it fails). Clients use the test's :class:`FakeClock` in
testing mode, so freshness moves only when a test advances the clock and retry waits are
skipped (and advance it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from restwell.cache import CacheStorage, MemoryCache, RedisCache, SQLiteCache
from restwell.testing import FakeClock
from tests.cache.conftest import redis_url  # noqa: F401  (the session's redis-server)
from tests.cache_client.origin import CacheOrigin, running_cache_origin
from tests.cache_client.support import AsyncDriver, Driver, SyncDriver

StorageFactory = Callable[..., CacheStorage]
ClientFactory = Callable[..., Driver]

STORAGES = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
KINDS = ["sync", "async"]


@pytest.fixture(scope="session")
def cache_origin() -> Iterator[CacheOrigin]:
    with running_cache_origin() as server:
        yield server


@pytest.fixture
def origin(cache_origin: CacheOrigin, fake_clock: FakeClock) -> Iterator[CacheOrigin]:
    """The origin, its ``Date`` on the test's fake clock."""
    cache_origin.clock = fake_clock.time
    yield cache_origin
    cache_origin.clock = time.time


@pytest.fixture
def key() -> str:
    """A resource key of this test alone."""
    return uuid.uuid4().hex


@pytest.fixture
def url(origin: CacheOrigin, key: str) -> str:
    """The absolute URL of this test's resource."""
    return f"{origin.url}/r/{key}"


def _storage(name: str, request: pytest.FixtureRequest, tmp_path: Path, **options: Any) -> Any:
    if name == "memory":
        return MemoryCache(16 * 1024 * 1024, **options)
    if name == "sqlite":
        return SQLiteCache(tmp_path / f"cache-{uuid.uuid4().hex}.sqlite", **options)
    redis: str = request.getfixturevalue("redis_url")
    return RedisCache(redis, prefix=f"cache-client-{uuid.uuid4().hex}:", **options)


@pytest.fixture(params=STORAGES)
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageFactory]:
    """Make storages of the parametrised kind (cleared and closed at the end of the test)."""
    made: list[CacheStorage] = []

    def factory(**options: Any) -> CacheStorage:
        storage: CacheStorage = _storage(request.param, request, tmp_path, **options)
        made.append(storage)
        return storage

    factory.name = request.param  # type: ignore[attr-defined]
    yield factory
    for storage in made:
        if isinstance(storage, RedisCache):
            storage.clear()
        storage.close()


@pytest.fixture
def storage(make_storage: StorageFactory) -> CacheStorage:
    """One storage of the parametrised kind, with default limits."""
    return make_storage()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """``sync`` (``Client``) or ``async`` (``AsyncClient``)."""
    value: str = request.param
    return value


@pytest.fixture
def make_client(kind: str, origin: CacheOrigin, fake_clock: FakeClock) -> Iterator[ClientFactory]:
    """Build ``Client`` or ``AsyncClient`` drivers (closed at the end of the test).

    ``make_client(storage, **options)``: ``clock`` defaults to the test's fake clock and
    ``base_url`` to the origin; ``connections=N`` sizes the connection pool of either kind;
    the other keywords are client options.
    """
    made: list[Driver] = []
    driver_class = AsyncDriver if kind == "async" else SyncDriver

    def factory(storage: CacheStorage | None, **options: Any) -> Driver:
        connections = options.pop("connections", None)
        if connections is not None:  # one pool size for both kinds
            name = "max_connections" if kind == "async" else "max_connections_per_host"
            options[name] = connections
        options.setdefault("clock", fake_clock)
        options.setdefault("base_url", origin.url)
        driver = driver_class(storage, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()


@pytest.fixture
def client(make_client: ClientFactory, storage: CacheStorage) -> Driver:
    """A client of the parametrised kind on the parametrised storage, default policy."""
    return make_client(storage)
