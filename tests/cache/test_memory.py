"""MemoryCache: the byte bound, LRU order, and consistency under threads and asyncio tasks."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from restwell.cache import MemoryCache
from tests.cache import payload
from tests.cache.conftest import FakeTime


def entry_size(key: str, variant: str, value: bytes) -> int:
    return len(key.encode()) + len(variant.encode()) + len(value)


def assert_consistent(cache: MemoryCache) -> None:
    """Internal bookkeeping agrees with itself and with the bound (checked under the lock)."""
    with cache._lock:
        entries = cache._entries
        assert cache._bytes == sum(size for _, _, size in entries.values())
        assert cache._bytes <= cache.max_bytes
        for (key, variant), (value, _, size) in entries.items():
            assert size == entry_size(key, variant, value)
            assert variant in cache._index[key]
        assert sum(len(v) for v in cache._index.values()) == len(entries)
        assert all(cache._index.values())  # no empty per-key index left behind


def test_size_counts_utf8_bytes_of_key_and_variant_plus_the_value() -> None:
    cache = MemoryCache(1000)
    cache.put("ké", "vé", b"12345")
    assert cache.current_bytes == 3 + 3 + 5
    cache.put("ké", "vé", b"1")  # replacing frees the old size
    assert cache.current_bytes == 3 + 3 + 1
    cache.put("ké", "w", b"")
    assert cache.current_bytes == 7 + 3 + 1
    assert len(cache) == 2
    cache.delete("ké")
    assert cache.current_bytes == 0
    assert len(cache) == 0


def test_the_byte_bound_is_exact() -> None:
    cache = MemoryCache(100)
    cache.put("a", "", b"x" * 49)  # 50 bytes
    cache.put("b", "", b"x" * 49)  # 50 bytes: exactly full, nothing evicted
    assert cache.current_bytes == 100
    assert [len(cache.get(k)) for k in "ab"] == [1, 1]
    cache.put("c", "", b"")  # one byte over: the least recently used goes
    assert cache.current_bytes == 51
    assert cache.get("a") == []
    assert cache.get("b") == [("", b"x" * 49)]
    assert_consistent(cache)


def test_reading_refreshes_lru_order() -> None:
    cache = MemoryCache(90)
    for key in "abc":
        cache.put(key, "", b"x" * 29)  # 30 bytes each
    cache.get("a")  # now b is the least recently used
    cache.put("d", "", b"x" * 29)
    assert [bool(cache.get(k)) for k in "abcd"] == [True, False, True, True]


def test_lru_is_per_variant() -> None:
    cache = MemoryCache(60)
    cache.put("k", "old", b"x" * 24)  # 30 bytes
    cache.put("k", "new", b"x" * 24)
    cache.put("j", "", b"x" * 28)  # evicts k/old only
    assert cache.get("k") == [("new", b"x" * 24)]
    assert_consistent(cache)


def test_an_entry_bigger_than_the_whole_cache_is_not_stored() -> None:
    cache = MemoryCache(100, max_entry_bytes=1000)
    assert cache.max_entry_bytes == 100
    cache.put("keep", "", b"x")
    assert cache.put("k", "", b"x" * 100) is False  # 1 + 100 > 100 with the key counted
    assert cache.get("keep") == [("", b"x")]  # and nothing was evicted for it
    assert cache.put("k", "", b"x" * 99) is True
    assert cache.current_bytes == 100


def test_ttl_uses_the_injected_clock() -> None:
    clock = FakeTime()
    cache = MemoryCache(1000, clock=clock)
    cache.put("k", "", b"v", ttl=5)
    clock.advance(4.999)
    assert cache.get("k") == [("", b"v")]
    clock.advance(0.001)
    assert cache.get("k") == []
    assert cache.current_bytes == 0  # dropped when read


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_bytes": 0}, "max_bytes"), ({"max_entry_bytes": -1}, "max_entry_bytes")],
)
def test_limits_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MemoryCache(**kwargs)


def test_close_releases_the_memory() -> None:
    cache = MemoryCache(1000)
    with cache:
        cache.put("k", "", b"v")
    assert cache.current_bytes == 0


def _hammer(cache: MemoryCache, seed: int, ops: int, failures: list[str]) -> None:
    rng = random.Random(seed)
    for seq in range(ops):
        key = f"k{rng.randrange(40)}"
        variant = rng.choice("abc")
        roll = rng.random()
        if roll < 0.5:
            for found_variant, value in cache.get(key):
                if (why := payload.problem(key, found_variant, value)) is not None:
                    failures.append(why)
        elif roll < 0.9:
            value = payload.make(key, variant, str(seed), seq, rng.randrange(0, 3000), rng)
            cache.put(key, variant, value, rng.choice((None, 0.001, 60)))
        elif roll < 0.99:
            cache.delete(key)
        else:
            cache.clear()
        if seq % 200 == 0:
            assert_consistent(cache)


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms, so operations interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("fast_switching")
def test_threads_hammering_keep_it_consistent_and_bounded() -> None:
    cache = MemoryCache(40_000, max_entry_bytes=2_500)
    failures: list[str] = []
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            _hammer(cache, seed, 2_000, failures)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert failures == []
    assert_consistent(cache)


@pytest.mark.anyio
async def test_asyncio_tasks_hammering_keep_it_consistent_and_bounded() -> None:
    cache = MemoryCache(30_000, max_entry_bytes=2_500)
    failures: list[str] = []

    async def task(seed: int) -> None:
        rng = random.Random(seed)
        for seq in range(300):
            key, variant = f"k{rng.randrange(30)}", rng.choice("ab")
            if rng.random() < 0.5:
                for found_variant, value in await cache.aget(key):
                    if (why := payload.problem(key, found_variant, value)) is not None:
                        failures.append(why)
            else:
                value = payload.make(key, variant, str(seed), seq, rng.randrange(0, 3000), rng)
                await cache.aput(key, variant, value, None)
            await anyio.sleep(0)  # interleave with the other tasks
        assert_consistent(cache)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            for seed in range(50):
                group.start_soon(task, seed)
    assert failures == []
    assert_consistent(cache)


@pytest.mark.anyio
async def test_the_async_methods_run_inline() -> None:
    seen: list[int] = []

    class Recording(MemoryCache):
        def get(self, key: str) -> list[tuple[str, bytes]]:
            seen.append(threading.get_ident())
            return super().get(key)

    async with Recording(1000) as cache:
        await cache.aput("k", "", b"v")
        assert await cache.aget("k") == [("", b"v")]
    assert seen == [threading.get_ident()]
    assert cache.current_bytes == 0  # closed on the way out


def test_entries_are_left_untracked_by_the_garbage_collector() -> None:
    # A full cache must not lengthen every full collection: entries are tuples of atoms,
    # which the collector stops tracking once it has looked at them.
    import gc

    cache = MemoryCache()
    for i in range(10):
        assert cache.put(f"k{i}", "", b"v" * i, 60.0 if i % 2 else None)
    gc.collect()
    with cache._lock:
        assert len(cache._entries) == 10
        assert not any(gc.is_tracked(entry) for entry in cache._entries.values())
