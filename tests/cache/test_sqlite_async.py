"""SQLiteCache's async methods: reader and writer threads, batches and group commit."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from restwell.cache import SQLiteCache
from restwell.cache._lane import Job, Lane


@pytest.mark.anyio
async def test_concurrent_writes_commit_together_and_all_land(tmp_path: Path) -> None:
    commits: list[int] = []

    class Counting(SQLiteCache):
        def _commit_batch(self, jobs: list[Job]) -> None:
            commits.append(len(jobs))
            super()._commit_batch(jobs)

    async with Counting(tmp_path / "c.sqlite") as cache:
        stored = await asyncio.gather(
            *(cache.aput(f"k{i}", "", f"v{i}".encode(), 60.0) for i in range(200))
        )
        assert stored == [True] * 200
        found = await asyncio.gather(*(cache.aget(f"k{i}") for i in range(200)))
        assert found == [[("", f"v{i}".encode())] for i in range(200)]
    assert sum(commits) == 200
    assert len(commits) < 200  # writes queued together shared a transaction


@pytest.mark.anyio
async def test_a_failing_write_is_undone_alone(tmp_path: Path) -> None:
    async with SQLiteCache(tmp_path / "c.sqlite") as cache:

        def broken(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT INTO restwell_cache (key, variant, value) VALUES ('x', '', x'00')")
            raise sqlite3.OperationalError("disk on fire")

        results = await asyncio.gather(
            cache.aput("a", "", b"1"),
            cache._writes.submit(broken),
            cache.aput("b", "", b"2"),
            return_exceptions=True,
        )
        assert results[0] is True
        assert results[2] is True
        assert isinstance(results[1], sqlite3.OperationalError)
        assert await cache.aget("a") == [("", b"1")]
        assert await cache.aget("b") == [("", b"2")]
        assert await cache.aget("x") == []  # the broken write's own row was rolled back


@pytest.mark.anyio
async def test_async_results_match_the_sync_methods(tmp_path: Path) -> None:
    async with SQLiteCache(tmp_path / "c.sqlite", max_entry_bytes=4) as cache:
        assert await cache.aput("k", "v1", b"1234") is True
        assert await cache.aput("k", "v2", b"12345") is False  # over the limit
        assert await cache.aput("k", "v3", b"1", ttl=0) is False
        assert await cache.aget("k") == [("v1", b"1234")]
        await cache.adelete("k")
        assert cache.get("k") == []
        cache.put("j", "", b"1")
        await cache.aclear()
        assert await cache.aget("j") == []


@pytest.mark.anyio
async def test_a_cancelled_await_still_completes_the_write(tmp_path: Path) -> None:
    async with SQLiteCache(tmp_path / "c.sqlite") as cache:
        task = asyncio.ensure_future(cache.aput("k", "", b"v"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cache._writes.stop()  # drains the queue
        assert cache.get("k") == [("", b"v")]


@pytest.mark.anyio
async def test_close_finishes_queued_operations_first(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite")
    pending = [asyncio.ensure_future(cache.aput(f"k{i}", "", b"v")) for i in range(50)]
    await asyncio.sleep(0)
    await cache.aclose()
    assert await asyncio.gather(*pending) == [True] * 50
    with SQLiteCache(tmp_path / "c.sqlite") as again:
        assert all(again.get(f"k{i}") == [("", b"v")] for i in range(50))


@pytest.mark.anyio
async def test_a_lane_delivers_errors_and_restarts_after_stop() -> None:
    lane = Lane("test-lane")

    def fail() -> None:
        raise ValueError("nope")

    assert await lane.submit(lambda x: x + 1, 1) == 2
    with pytest.raises(ValueError, match="nope"):
        await lane.submit(fail)
    lane.stop()
    assert await lane.submit(threading.get_ident) != threading.get_ident()
    lane.stop()


@pytest.mark.anyio
async def test_a_batch_that_fails_as_a_whole_fails_each_job() -> None:
    def explode(jobs: list[Job]) -> None:
        raise RuntimeError("no transaction")

    lane = Lane("test-lane", explode)
    results = await asyncio.gather(lane.submit(int), lane.submit(int), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    lane.stop()


def _child_uses_the_cache(cache: SQLiteCache, out: Any) -> None:
    # The parent's cache object, inherited through fork with its threads gone.
    async def main() -> list[tuple[str, bytes]]:
        await cache.aput("child", "", b"c")
        found = await cache.aget("child")
        await cache.aclose()
        return found

    out.put(asyncio.run(main()))


@pytest.mark.anyio
async def test_a_forked_child_starts_its_own_threads(tmp_path: Path) -> None:
    async with SQLiteCache(tmp_path / "c.sqlite") as cache:
        await cache.aput("parent", "", b"p")  # the parent's threads are running
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        child = ctx.Process(target=_child_uses_the_cache, args=(cache, out))
        child.start()
        try:
            assert out.get(timeout=20) == [("", b"c")]
        finally:
            child.join(20)
            if child.is_alive():
                child.kill()
        assert await cache.aget("child") == [("", b"c")]
        assert await cache.aget("parent") == [("", b"p")]
