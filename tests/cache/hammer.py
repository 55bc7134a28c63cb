"""Workers for the multi-process tests, importable by ``spawn``-ed children.

Each worker process opens its own storage on the shared target (a SQLite file or a Redis
server), runs blocking threads plus one thread with an asyncio loop of tasks, all doing mixed
get/put/delete on a small set of overlapping keys, and reports counts, errors and any value
that fails :func:`tests.cache.payload.problem`.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import random
import threading
import time
import traceback
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from restwell.cache import CacheStorage, RedisCache, SQLiteCache
from tests.cache import payload

KEYS = [f"https://api.example/items/{i}" for i in range(12)]
VARIANTS = ["", "accept=application/json", "accept=text/html"]


def open_storage(kind: str, target: str) -> CacheStorage:
    if kind == "sqlite":
        return SQLiteCache(target, timeout=30.0)
    url, _, prefix = target.partition(" ")
    return RedisCache(url, prefix=prefix)


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops = {"get": 0, "put": 0, "delete": 0, "hits": 0}
        self.errors: list[str] = []
        self.torn: list[str] = []


def _choose(rng: random.Random) -> tuple[str, str, int]:
    # Mostly small values, sometimes large ones, so some writes take a while.
    size = rng.choice((0, 64, 700, 4_000, 20_000)) if rng.random() < 0.9 else 120_000
    return rng.choice(KEYS), rng.choice(VARIANTS), size


def _check(tally: _Tally, key: str, found: list[tuple[str, bytes]]) -> None:
    problems = [
        f"{key} {variant!r}: {why}"
        for variant, value in found
        if (why := payload.problem(key, variant, value)) is not None
    ]
    with tally.lock:
        tally.ops["hits"] += len(found)
        tally.torn += problems


# Each loop runs for the given seconds and at least MIN_OPS operations (so a loaded machine
# still tests something), but never past CAP seconds.
MIN_OPS = 40
CAP = 20.0


def _more(done: int, deadline: float) -> bool:
    now = time.monotonic()
    return (now < deadline or done < MIN_OPS) and now < deadline + CAP


def _blocking_loop(storage: CacheStorage, tally: _Tally, name: str, deadline: float) -> None:
    rng = random.Random(name)
    seq = done = 0
    while _more(done, deadline):
        done += 1
        key, variant, size = _choose(rng)
        roll = rng.random()
        try:
            if roll < 0.5:
                _check(tally, key, storage.get(key))
                op = "get"
            elif roll < 0.92:
                seq += 1
                ttl = rng.choice((None, 30.0, 0.05))
                value = payload.make(key, variant, name, seq, size, rng)
                storage.put(key, variant, value, ttl)
                op = "put"
            else:
                storage.delete(key)
                op = "delete"
        except Exception:
            with tally.lock:
                tally.errors.append(traceback.format_exc())
            continue
        with tally.lock:
            tally.ops[op] += 1


async def _async_loop(
    storage: CacheStorage,
    tally: _Tally,
    name: str,
    deadline: float,
    blocking_done: threading.Event,
) -> None:
    async def task(index: int) -> None:
        rng = random.Random(f"{name}-{index}")
        seq = done = 0
        while _more(done, deadline):
            done += 1
            key, variant, size = _choose(rng)
            roll = rng.random()
            try:
                if roll < 0.5:
                    _check(tally, key, await storage.aget(key))
                    op = "get"
                elif roll < 0.92:
                    seq += 1
                    value = payload.make(key, variant, f"{name}-{index}", seq, size, rng)
                    await storage.aput(key, variant, value, rng.choice((None, 30.0, 0.05)))
                    op = "put"
                else:
                    await storage.adelete(key)
                    op = "delete"
            except Exception:
                with tally.lock:
                    tally.errors.append(traceback.format_exc())
                continue
            with tally.lock:
                tally.ops[op] += 1

    try:
        await asyncio.gather(*(task(i) for i in range(4)))
    finally:
        # Close (this loop's clients too) only once the blocking threads are done with it.
        await asyncio.to_thread(blocking_done.wait)
        await storage.aclose()


def hammer(
    kind: str,
    target: str,
    threads: int,
    seconds: float,
    ready: Any,
    go: Any,
    results: Any,
    open_late: bool,
) -> None:
    """One worker process: report ``ready``, wait for ``go``, hammer, put a summary dict.

    With ``open_late`` the storage is opened after ``go``, so the processes race to open it.
    """
    summary: dict[str, Any] = {"pid": os.getpid()}
    try:
        counter = _Counter()
        logging.getLogger("restwell.cache").addHandler(counter)
        storage = None if open_late else open_storage(kind, target)
        tally = _Tally()
        ready.put(os.getpid())
        if not go.wait(60):
            raise RuntimeError("never told to go")
        if storage is None:
            storage = open_storage(kind, target)
        deadline = time.monotonic() + seconds
        blocking_done = threading.Event()
        name = f"{os.getpid()}-async"
        awaiting = threading.Thread(
            target=asyncio.run, args=(_async_loop(storage, tally, name, deadline, blocking_done),)
        )
        blocking = [
            threading.Thread(
                target=_blocking_loop, args=(storage, tally, f"{os.getpid()}-{i}", deadline)
            )
            for i in range(threads)
        ]
        for worker in [awaiting, *blocking]:
            worker.start()
        for worker in blocking:
            worker.join()
        blocking_done.set()
        awaiting.join()
        storage.close()
        summary.update(
            ops=tally.ops,
            errors=tally.errors[:5],
            error_count=len(tally.errors),
            torn=tally.torn[:5],
            torn_count=len(tally.torn),
            warnings=counter.records[:5],
        )
    except BaseException:
        summary["errors"] = [traceback.format_exc()]
        summary["error_count"] = 1
        ready.put(os.getpid())
    results.put(summary)


def crash_writer(
    path: str, seed: int, writing: Synchronized[int], writes: Synchronized[int]
) -> None:
    """Write large entries in a loop until killed; ``writing`` is 1 while inside ``put``."""
    storage = SQLiteCache(path, timeout=30.0)
    rng = random.Random(seed)
    seq = 0
    while True:
        seq += 1
        key, variant = rng.choice(KEYS), rng.choice(VARIANTS)
        value = payload.make(
            key, variant, f"crash-{seed}", seq, rng.randrange(50_000, 600_000), rng
        )
        writing.value = 1
        storage.put(key, variant, value)
        writing.value = 0
        writes.value += 1


def context() -> multiprocessing.context.ForkServerContext:
    """Fresh interpreters without paying restwell's import time in each: a preloaded forkserver."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.cache.hammer"])
    return ctx


def run_processes(
    kind: str,
    target: str,
    *,
    processes: int = 8,
    threads: int = 3,
    seconds: float = 2.0,
    open_late: bool = False,
) -> list[dict[str, Any]]:
    """Start ``processes`` workers on one storage target, hammer, return their summaries."""
    ctx = context()
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    args = (kind, target, threads, seconds, ready, go, results, open_late)
    workers = [ctx.Process(target=hammer, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:  # all storages open before anyone starts, so they really overlap
            ready.get(timeout=60)
        go.set()
        summaries = [results.get(timeout=seconds + CAP + 60) for _ in workers]
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
                worker.join()
    return summaries


def assert_clean(summaries: list[dict[str, Any]]) -> dict[str, int]:
    """No worker saw an error, a torn value or a storage warning; returns the op totals."""
    for summary in summaries:
        assert summary["error_count"] == 0, summary["errors"]
        assert summary["torn_count"] == 0, summary["torn"]
        assert summary["warnings"] == [], summary["warnings"]
    totals = {op: sum(s["ops"][op] for s in summaries) for op in ("get", "put", "delete", "hits")}
    # Every process really worked on shared data.
    assert all(s["ops"]["put"] > 10 and s["ops"]["get"] > 10 for s in summaries), summaries
    assert totals["hits"] > 100, totals
    return totals
