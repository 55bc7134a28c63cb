"""Fixtures for the cache storages: real SQLite files, a real redis-server, fake clocks.

``redis-server`` is started once per session on a free 127.0.0.1 port in a temporary directory
(as RECIPES.md shows) and stopped by its PID at the end. Without the binary the Redis tests are
skipped, unless ``CI`` is set, where they fail instead (CI installs it).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from restwell.cache import CacheStorage, MemoryCache, RedisCache, SQLiteCache, Variants
from tests.redis_server import running_redis

STORAGES = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://`` URL of a private redis-server for the test session."""
    with running_redis() as (url, _):
        yield url


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the test server, for looking behind a RedisCache's back."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class FakeTime:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Case:
    """One storage under test, with the means to reach behind it."""

    name: str
    storage: Any  # CacheStorage and the concrete class's extras
    #: TTL that the test can make pass with :meth:`expire`.
    ttl: float
    expire: Callable[[], None]
    #: Overwrite the stored bytes of (key, variant) with ``junk`` (None: not possible).
    corrupt: Callable[[str, str, Any], None] | None
    #: The variant ids physically stored under a key, expired or not.
    stored_variants: Callable[[str], set[str]]
    cleanup: list[Callable[[], None]] = field(default_factory=list)


MAX_ENTRY = 1_000


def make_case(
    name: str, request: pytest.FixtureRequest, tmp_path: Path, max_entry_bytes: int = MAX_ENTRY
) -> Case:
    if name == "memory":
        clock = FakeTime()
        memory = MemoryCache(1_000_000, max_entry_bytes=max_entry_bytes, clock=clock)

        def memory_variants(key: str) -> set[str]:
            return {variant for (k, variant) in memory._entries if k == key}

        return Case(name, memory, 10.0, lambda: clock.advance(10.0), None, memory_variants)
    if name == "sqlite":
        clock = FakeTime(1_700_000_000.0)
        path = tmp_path / "cache" / "http.sqlite"
        sqlite = SQLiteCache(path, max_entry_bytes=max_entry_bytes, clock=clock)

        def sqlite_corrupt(key: str, variant: str, junk: Any) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute(
                    "UPDATE restwell_cache SET value = ? WHERE key = ? AND variant = ?",
                    (junk, key, variant),
                )
            conn.close()

        def sqlite_variants(key: str) -> set[str]:
            conn = sqlite3.connect(path)
            try:
                rows = conn.execute("SELECT variant FROM restwell_cache WHERE key = ?", (key,))
                return {row[0] for row in rows}
            finally:
                conn.close()

        return Case(
            name, sqlite, 10.0, lambda: clock.advance(10.0), sqlite_corrupt, sqlite_variants
        )
    url: str = request.getfixturevalue("redis_url")
    raw: redis.Redis = request.getfixturevalue("raw_redis")
    cache = RedisCache(url, prefix=f"test-{uuid.uuid4().hex}:", max_entry_bytes=max_entry_bytes)

    def redis_expire() -> None:
        # Real time: Redis expires on its own clock. Bounded wait for the short TTL to pass.
        time.sleep(0.55)

    def redis_corrupt(key: str, variant: str, junk: Any) -> None:
        raw.hset(cache.redis_key(key), b"v:" + variant.encode(), junk)

    def redis_variants(key: str) -> set[str]:
        fields: list[bytes] = raw.hkeys(cache.redis_key(key))  # type: ignore[assignment]
        return {f[2:].decode() for f in fields if f.startswith(b"v:")}

    case = Case(name, cache, 0.5, redis_expire, redis_corrupt, redis_variants)
    case.cleanup.append(cache.clear)
    return case


@pytest.fixture(params=STORAGES)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    """Each storage in turn (the Redis one on its own key prefix)."""
    made = make_case(request.param, request, tmp_path)
    yield made
    for step in made.cleanup:
        step()
    made.storage.close()


class Ops:
    """The storage's blocking or awaitable methods behind one awaitable interface."""

    def __init__(self, storage: CacheStorage, mode: str) -> None:
        self.storage = storage
        self.mode = mode

    async def get(self, key: str) -> Variants:
        if self.mode == "sync":
            return self.storage.get(key)
        return await self.storage.aget(key)

    async def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        if self.mode == "sync":
            return self.storage.put(key, variant, value, ttl)
        return await self.storage.aput(key, variant, value, ttl)

    async def delete(self, key: str) -> None:
        if self.mode == "sync":
            self.storage.delete(key)
        else:
            await self.storage.adelete(key)

    async def clear(self) -> None:
        if self.mode == "sync":
            self.storage.clear()
        else:
            await self.storage.aclear()


@pytest.fixture(params=["sync", "async"])
async def ops(request: pytest.FixtureRequest, case: Case) -> AsyncIterator[Ops]:
    """The case's storage driven through its blocking or its ``a``-methods."""
    yield Ops(case.storage, request.param)
    if request.param == "async":
        await case.storage.aclose()  # the asyncio clients belong to this test's event loop
