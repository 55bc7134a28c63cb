"""SQLiteCache: schema, lazy purging, threads, fork, 8 processes at once, and SIGKILL mid-write."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from restwell.cache import SQLiteCache
from restwell.cache._codec import decode
from restwell.cache._sqlite import SCHEMA_VERSION
from tests.cache import hammer, payload
from tests.cache.conftest import FakeTime


def raw_rows(path: Path) -> list[tuple[str, str, object, object]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT key, variant, value, expires FROM restwell_cache").fetchall()
    finally:
        conn.close()


def assert_every_row_intact(path: Path) -> int:
    """PRAGMA integrity_check passes and every stored row decodes to an intact payload."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    rows = raw_rows(path)
    for key, variant, blob, _ in rows:
        value = decode(blob)
        assert value is not None, f"undecodable row {key} {variant!r}"
        assert payload.problem(key, variant, value) is None
    return len(rows)


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "c.sqlite"
    with SQLiteCache(path) as cache:
        cache.put("k", "", b"v")
        assert cache.path == path
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        version = conn.execute(
            "SELECT value FROM restwell_cache_meta WHERE name = 'schema_version'"
        ).fetchone()
        assert version == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)  # left to its owner
    finally:
        conn.close()
    with SQLiteCache(path) as again:  # reopening keeps the data
        assert again.get("k") == [("", b"v")]


def test_a_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    SQLiteCache(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE restwell_cache_meta SET value = 99 WHERE name = 'schema_version'")
    conn.close()
    with pytest.raises(RuntimeError, match="schema version 99"):
        SQLiteCache(path)


def test_a_file_from_an_older_schema_is_emptied_and_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE restwell_cache_meta (name TEXT PRIMARY KEY, value INTEGER)")
        conn.execute("INSERT INTO restwell_cache_meta VALUES ('schema_version', 0)")
        conn.execute("CREATE TABLE restwell_cache (k TEXT, v BLOB)")  # some old layout
        conn.execute("INSERT INTO restwell_cache VALUES ('old', x'00')")
    conn.close()
    with SQLiteCache(path) as cache:
        assert cache.get("old") == []
        cache.put("new", "", b"v")
        assert cache.get("new") == [("", b"v")]


def test_a_file_that_is_not_a_database_raises(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        SQLiteCache(path)


@pytest.mark.parametrize("path", [":memory:", "", "file::memory:?cache=shared"])
def test_in_memory_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="MemoryCache"):
        SQLiteCache(path)


def test_closed_cache_refuses_work(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite")
    cache.close()
    cache.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        cache.get("k")


def test_expired_rows_are_purged_lazily(tmp_path: Path) -> None:
    clock = FakeTime(1_700_000_000.0)
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path, clock=clock, purge_interval=60)
    cache.put("a", "1", b"v", ttl=5)  # the first write sweeps (nothing yet) and schedules
    cache.put("a", "2", b"v", ttl=50)
    cache.put("b", "", b"v", ttl=5)
    clock.advance(10)
    assert cache.get("b") == []  # never served...
    assert len(raw_rows(path)) == 3  # ...but a read does not write
    cache.put("a", "3", b"v")  # a write purges that key's expired variants
    assert sorted((r[0], r[1]) for r in raw_rows(path)) == [("a", "2"), ("a", "3"), ("b", "")]
    clock.advance(60)  # the sweep interval has passed: the next write sweeps every key
    cache.put("c", "", b"v")
    assert sorted((r[0], r[1]) for r in raw_rows(path)) == [("a", "3"), ("c", "")]
    cache.put("d", "", b"v", ttl=1)
    clock.advance(2)
    assert cache.purge_expired() == 1
    cache.close()


def test_threads_share_one_cache(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite")
    errors: list[BaseException] = []
    torn: list[str] = []

    def run(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for seq in range(150):
                key, variant = rng.choice(hammer.KEYS), rng.choice(hammer.VARIANTS)
                if rng.random() < 0.5:
                    for found, value in cache.get(key):
                        if (why := payload.problem(key, found, value)) is not None:
                            torn.append(why)
                else:
                    value = payload.make(key, variant, str(seed), seq, rng.randrange(5000), rng)
                    cache.put(key, variant, value)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert torn == []
    assert len(cache._idle) <= 16  # the pool stays small
    cache.close()


def _use_in_child(cache: SQLiteCache, inherited: sqlite3.Connection) -> None:
    cache.put("child", "", b"from the child")
    assert cache.get("parent") == [("", b"from the parent")]
    assert all(conn is not inherited for conn in cache._idle)  # it opened its own


def test_a_forked_child_uses_its_own_connections(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite")
    cache.put("parent", "", b"from the parent")  # the parent now holds a pooled connection
    parent_connection = cache._idle[0]
    child = multiprocessing.get_context("fork").Process(
        target=_use_in_child, args=(cache, parent_connection)
    )
    child.start()
    child.join(30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    assert cache._idle[0] is parent_connection
    assert cache.get("child") == [("", b"from the child")]
    cache.close()


def test_eight_processes_with_threads_hammer_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    SQLiteCache(path).close()
    summaries = hammer.run_processes("sqlite", str(path), processes=8, threads=3, seconds=1.5)
    hammer.assert_clean(summaries)
    assert assert_every_row_intact(path) > 0


def test_processes_creating_the_same_new_file_at_once(tmp_path: Path) -> None:
    # No file yet: eight processes race to create the schema and switch it to WAL.
    path = tmp_path / "fresh.sqlite"
    summaries = hammer.run_processes(
        "sqlite", str(path), processes=8, threads=1, seconds=0.5, open_late=True
    )
    hammer.assert_clean(summaries)


def test_sigkill_mid_write_never_leaves_a_torn_entry(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    SQLiteCache(path).close()
    ctx = hammer.context()
    rng = random.Random(5)
    for round_ in range(3):
        writers = []
        for seed in range(2):  # two writers, so one is often waiting on the other's lock
            writing, writes = ctx.Value("i", 0), ctx.Value("i", 0)
            process = ctx.Process(
                target=hammer.crash_writer, args=(str(path), round_ * 10 + seed, writing, writes)
            )
            process.start()
            writers.append((process, writing, writes))
        deadline = time.monotonic() + 60
        for process, writing, writes in writers:
            # Let it write a few entries, then kill it while it is inside put().
            target = writes.value + rng.randrange(3, 15)
            while (writes.value < target or writing.value != 1) and time.monotonic() < deadline:
                assert process.is_alive()
                time.sleep(0.0005)
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
            process.join(10)
            assert process.exitcode == -signal.SIGKILL
        # Every entry a reader can see is whole, and the lock the victims held is free again.
        assert assert_every_row_intact(path) > 0
        with SQLiteCache(path, timeout=5.0) as cache:
            for key in hammer.KEYS:
                for variant, value in cache.get(key):
                    assert payload.problem(key, variant, value) is None
            started = time.monotonic()
            value = payload.make("after", "", "parent", round_, 10, rng)
            assert cache.put("after", "", value) is True
            assert time.monotonic() - started < 2


@pytest.mark.anyio
async def test_the_async_methods_run_in_a_worker_thread(tmp_path: Path) -> None:
    seen: list[int] = []

    class Recording(SQLiteCache):
        def get(self, key: str) -> list[tuple[str, bytes]]:
            seen.append(threading.get_ident())
            return super().get(key)

    async with Recording(tmp_path / "c.sqlite") as cache:
        assert await cache.aput("k", "", b"v") is True
        assert await cache.aget("k") == [("", b"v")]
        await cache.adelete("k")
        assert await cache.aget("k") == []
        await cache.aput("k", "", b"v")
        await cache.aclear()
        assert await cache.aget("k") == []
    assert seen
    assert threading.get_ident() not in seen
