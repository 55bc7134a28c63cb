"""One run of one HTTP-cache contender, in a fresh process (started by ``cache.py``).

Two modes:

* ``hit``: one priming GET (a miss, which stores the response), ``--warmup`` untimed hits,
  then ``--requests`` timed GETs of the same URL, every one of which must be a cache hit.
  The origin sees the priming request only.
* ``miss``: ``--warmup`` untimed then ``--requests`` timed GETs, each to a URL of its own
  (``?n=<i>``, the same path): every one is a miss that goes to the origin and, with a cache,
  is looked up and stored. The uncached contender sends exactly the same requests.

Every response is checked: status 200, the exact body length, and what the cache says it did
(restwell's ``response.cache_status``, hishel's ``response.extensions["caching"]``). Any
mismatch makes the worker exit non-zero. It prints one JSON object on stdout.

Each SQLite-backed contender gets a new database file in a temporary directory of its own.
Run by hand under a profiler::

    .venv/bin/python -m cProfile -s tottime benchmarks/cache_worker.py restwell-memory-sync \\
        --mode hit --url http://127.0.0.1:PORT/item.json --body-length 211 --requests 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from contextlib import contextmanager as _contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

Mode = Literal["hit", "miss"]

Sample = tuple[int, int, str]
"""What one request yields: (status code, body length, what the cache did)."""

Fetch = Callable[[str], Sample]
"""Send one GET of a URL and return its sample."""

FanOut = Callable[[list[str]], Awaitable[list[Sample]]]
"""GET every URL with bounded concurrency; the samples, in any order."""

NO_CACHE = "none"
"""The cache status reported by a client without a cache."""


@dataclass(frozen=True, slots=True)
class Job:
    url: str
    mode: Mode
    requests: int
    warmup: int
    concurrency: int
    body_length: int
    workdir: Path


class BenchmarkError(Exception):
    """A response was not what it should be: the measurement is invalid."""


def _hishel_status(response: Any) -> str:
    caching = response.extensions.get("caching") or {}
    if caching.get("from_cache"):
        return "hit"
    if caching.get("revalidated"):
        return "revalidated"
    return "miss"


def _restwell_status(response: Any) -> str:
    status = response.cache_status
    return NO_CACHE if status is None else str(status)


# --- restwell ------------------------------------------------------------------------------


def _restwell_cache(kind: str, job: Job) -> Any:
    from restwell import MemoryCache, SQLiteCache

    if kind == "memory":
        return MemoryCache()
    if kind == "sqlite":
        return SQLiteCache(job.workdir / "restwell.sqlite3")
    return None


def _restwell_sync(kind: str) -> Callable[[Job], AbstractContextManager[Fetch]]:
    @_contextmanager
    def factory(job: Job) -> Iterator[Fetch]:
        import restwell

        cache = _restwell_cache(kind, job)
        # Client defaults otherwise (retries, budget, breaker, rate-limit gate all on) and the
        # default private RFC 9111 policy.
        with restwell.Client(cache=cache) as client:

            def fetch(url: str) -> Sample:
                response = client.get(url)
                return response.status_code, len(response.content), _restwell_status(response)

            yield fetch
        if cache is not None:
            cache.close()

    return factory


def _restwell_async(kind: str) -> Callable[[Job], AbstractAsyncContextManager[FanOut]]:
    @asynccontextmanager
    async def factory(job: Job) -> AsyncIterator[FanOut]:
        import restwell

        cache = _restwell_cache(kind, job)
        async with restwell.AsyncClient(cache=cache) as client:

            async def one(url: str) -> Sample:
                response = await client.get(url)
                return response.status_code, len(response.content), _restwell_status(response)

            async def fan_out(urls: list[str]) -> list[Sample]:
                results = await client.gather((one(u) for u in urls), limit=job.concurrency)
                return [result.unwrap() for result in results]

            yield fan_out
        if cache is not None:
            await cache.aclose()

    return factory


# --- the founding document's cache, for reference ----------------------------------------


class PlainTTLCache:
    """The founding document's exercise: responses in a dict by URL, kept for their max-age.

    ``Cache-Control: max-age`` sets the time to live; ``no-store``, ``no-cache`` and a
    missing max-age keep a response out; nothing else of RFC 9111 (no Vary, validation,
    credentials, byte bound or eviction). The miss scenarios run it around restwell's
    uncached clients: the least any cache that stores responses adds to a miss.
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, Any]] = {}

    def lookup(self, url: str) -> Any | None:
        """The stored response for ``url`` while it lives, else ``None``."""
        found = self._kept.get(url)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._kept[url]
            return None
        return found[1]

    def keep(self, url: str, response: Any) -> None:
        """Store a 200 that gives itself a max-age and forbids nothing."""
        if response.status_code != 200:
            return
        max_age = None
        for directive in (response.headers.get("cache-control") or "").split(","):
            name, _, value = directive.strip().partition("=")
            name = name.lower()
            if name in ("no-store", "no-cache"):
                return
            if name == "max-age" and value.isdigit():
                max_age = int(value)
        if max_age:
            self._kept[url] = (time.monotonic() + max_age, response)


def _plain_sync() -> Callable[[Job], AbstractContextManager[Fetch]]:
    @_contextmanager
    def factory(job: Job) -> Iterator[Fetch]:
        import restwell

        cache = PlainTTLCache()
        with restwell.Client() as client:

            def fetch(url: str) -> Sample:
                response = cache.lookup(url)
                status = "hit"
                if response is None:
                    response, status = client.get(url), "miss"
                    cache.keep(url, response)
                return response.status_code, len(response.content), status

            yield fetch

    return factory


def _plain_async() -> Callable[[Job], AbstractAsyncContextManager[FanOut]]:
    @asynccontextmanager
    async def factory(job: Job) -> AsyncIterator[FanOut]:
        import restwell

        cache = PlainTTLCache()
        async with restwell.AsyncClient() as client:

            async def one(url: str) -> Sample:
                response = cache.lookup(url)
                status = "hit"
                if response is None:
                    response, status = await client.get(url), "miss"
                    cache.keep(url, response)
                return response.status_code, len(response.content), status

            async def fan_out(urls: list[str]) -> list[Sample]:
                results = await client.gather((one(u) for u in urls), limit=job.concurrency)
                return [result.unwrap() for result in results]

            yield fan_out

    return factory


# --- hishel 2 (RFC 9111 mode) on httpx2 ----------------------------------------------------


def _hishel_sync(kind: str) -> Callable[[Job], AbstractContextManager[Fetch]]:
    @_contextmanager
    def factory(job: Job) -> Iterator[Fetch]:
        from hishel import SqliteStorage
        from hishel.httpx2 import CacheClient

        if kind == "memory":
            # hishel 2 has no memory storage of its own: its SQLite storage over an in-memory
            # database (the `connection=` it documents for custom connections) is the nearest.
            memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            storage = SqliteStorage(connection=memory)
        else:
            storage = SqliteStorage(database_path=job.workdir / "hishel.sqlite3")
        # rfc=True: hishel's RFC 9111 state machine, with its default options (shared cache,
        # GET and HEAD, no stale responses). Without it hishel ignores Cache-Control.
        with CacheClient(storage=storage, rfc=True) as client:

            def fetch(url: str) -> Sample:
                response = client.get(url)
                return response.status_code, len(response.content), _hishel_status(response)

            yield fetch

    return factory


def _hishel_async(kind: str) -> Callable[[Job], AbstractAsyncContextManager[FanOut]]:
    @asynccontextmanager
    async def factory(job: Job) -> AsyncIterator[FanOut]:
        import anysqlite
        from hishel import AsyncSqliteStorage
        from hishel.httpx2 import AsyncCacheClient

        if kind == "memory":
            memory = await anysqlite.connect(":memory:", isolation_level=None)
            storage = AsyncSqliteStorage(connection=memory)
        else:
            storage = AsyncSqliteStorage(database_path=job.workdir / "hishel.sqlite3")
        async with AsyncCacheClient(storage=storage, rfc=True) as client:
            slots = asyncio.Semaphore(job.concurrency)

            async def one(url: str) -> Sample:
                async with slots:
                    response = await client.get(url)
                    return response.status_code, len(response.content), _hishel_status(response)

            async def fan_out(urls: list[str]) -> list[Sample]:
                return await asyncio.gather(*(one(u) for u in urls))

            yield fan_out

    return factory


def _httpx2_sync() -> Callable[[Job], AbstractContextManager[Fetch]]:
    @_contextmanager
    def factory(job: Job) -> Iterator[Fetch]:
        import httpx2

        with httpx2.Client() as client:

            def fetch(url: str) -> Sample:
                response = client.get(url)
                return response.status_code, len(response.content), NO_CACHE

            yield fetch

    return factory


def _httpx2_async() -> Callable[[Job], AbstractAsyncContextManager[FanOut]]:
    @asynccontextmanager
    async def factory(job: Job) -> AsyncIterator[FanOut]:
        import httpx2

        async with httpx2.AsyncClient() as client:
            slots = asyncio.Semaphore(job.concurrency)

            async def one(url: str) -> Sample:
                async with slots:
                    response = await client.get(url)
                    return response.status_code, len(response.content), NO_CACHE

            async def fan_out(urls: list[str]) -> list[Sample]:
                return await asyncio.gather(*(one(u) for u in urls))

            yield fan_out

    return factory


SYNC: dict[str, tuple[Callable[[Job], AbstractContextManager[Fetch]], str]] = {
    "restwell-uncached-sync": (_restwell_sync("none"), "restwell"),
    "restwell-memory-sync": (_restwell_sync("memory"), "restwell"),
    "restwell-sqlite-sync": (_restwell_sync("sqlite"), "restwell"),
    "hishel-memory-sync": (_hishel_sync("memory"), "hishel"),
    "hishel-sqlite-sync": (_hishel_sync("sqlite"), "hishel"),
    "plain-memory-sync": (_plain_sync(), "restwell"),
    "httpx2-uncached-sync": (_httpx2_sync(), "httpx2"),
}
ASYNC: dict[str, tuple[Callable[[Job], AbstractAsyncContextManager[FanOut]], str]] = {
    "restwell-uncached-async": (_restwell_async("none"), "restwell"),
    "restwell-memory-async": (_restwell_async("memory"), "restwell"),
    "restwell-sqlite-async": (_restwell_async("sqlite"), "restwell"),
    "hishel-memory-async": (_hishel_async("memory"), "hishel"),
    "hishel-sqlite-async": (_hishel_async("sqlite"), "hishel"),
    "plain-memory-async": (_plain_async(), "restwell"),
    "httpx2-uncached-async": (_httpx2_async(), "httpx2"),
}
CONTENDERS = sorted([*SYNC, *ASYNC])


# --- the measurement -----------------------------------------------------------------------


def _urls(job: Job, start: int, n: int) -> list[str]:
    """The URLs of n requests: the same one (hit), or one of their own each (miss)."""
    if job.mode == "hit":
        return [job.url] * n
    sep = "&" if "?" in job.url else "?"
    return [f"{job.url}{sep}n={i}" for i in range(start, start + n)]


def _check(samples: list[Sample], expected: int, cache: str, job: Job, phase: str) -> None:
    if len(samples) != expected:
        raise BenchmarkError(f"{phase}: {len(samples)} responses for {expected} requests")
    want = (200, job.body_length, cache)
    bad = [s for s in samples if s != want]
    if bad:
        raise BenchmarkError(
            f"{phase}: {len(bad)} of {expected} responses were not (status, body length, cache) "
            f"= {want}, e.g. {bad[0]}"
        )


def _expected_status(name: str, mode: Mode) -> str:
    if "uncached" in name:
        return NO_CACHE
    return "hit" if mode == "hit" else "miss"


def measure_sync(name: str, job: Job) -> tuple[float, float]:
    factory, _ = SYNC[name]
    status = _expected_status(name, job.mode)
    with factory(job) as fetch:
        if job.mode == "hit":
            _check([fetch(job.url)], 1, "miss", job, "priming request")
        warm = _urls(job, 0, job.warmup)
        timed = _urls(job, job.warmup, job.requests)
        _check([fetch(u) for u in warm], job.warmup, status, job, "warm-up")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        samples = [fetch(u) for u in timed]
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        _check(samples, job.requests, status, job, "timed run")
    return wall, cpu


async def measure_async(name: str, job: Job) -> tuple[float, float]:
    factory, _ = ASYNC[name]
    status = _expected_status(name, job.mode)
    async with factory(job) as fan_out:
        if job.mode == "hit":
            _check(await fan_out([job.url]), 1, "miss", job, "priming request")
        warm = _urls(job, 0, job.warmup)
        timed = _urls(job, job.warmup, job.requests)
        _check(await fan_out(warm), job.warmup, status, job, "warm-up")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        samples = await fan_out(timed)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        _check(samples, job.requests, status, job, "timed run")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--mode", choices=["hit", "miss"], default="hit")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-length", type=int, required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        parser.error("benchmarks only ever send traffic to 127.0.0.1")
    name: str = args.contender
    with tempfile.TemporaryDirectory(prefix="restwell-bench-cache-") as tmp:
        job = Job(
            args.url,
            args.mode,
            args.requests,
            args.warmup,
            args.concurrency,
            args.body_length,
            Path(tmp),
        )
        try:
            if name in ASYNC:
                wall, cpu = asyncio.run(measure_async(name, job))
                package = ASYNC[name][1]
            else:
                wall, cpu = measure_sync(name, job)
                package = SYNC[name][1]
        except BenchmarkError as exc:
            print(f"worker {name}: INVALID RUN: {exc}", file=sys.stderr)
            return 2
    report: dict[str, Any] = {
        "contender": name,
        "mode": job.mode,
        "package": package,
        "version": version(package),
        "python": platform.python_version(),
        "requests": job.requests,
        "warmup": job.warmup,
        # What the origin must have seen: the priming request only, or every request.
        "origin_requests": 1 if job.mode == "hit" else job.warmup + job.requests,
        "concurrency": job.concurrency if name in ASYNC else 1,
        "wall_s": wall,
        "cpu_s": cpu,
    }
    restwell = sys.modules.get("restwell")
    if restwell is not None:
        report["restwell_file"] = restwell.__file__
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
