"""One benchmark run of one contender, in a fresh process.

``run.py`` starts this script once per contender per round. It warms the client up, times
``--requests`` GETs with ``time.perf_counter()`` (wall) and ``time.process_time()`` (CPU of this
process), checks that every response was a 200 with the expected body length, and prints one
JSON object on stdout. Any failed request, wrong status or wrong body makes it exit non-zero:
a benchmark that silently measures errors is worthless.

It can be run by hand, e.g. under a profiler::

    py-spy record -o profile.svg -- .venv/bin/python benchmarks/worker.py \\
        restwell-async --url http://127.0.0.1:PORT/item.json --body-length 200 --requests 50000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from contextlib import contextmanager as _contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

Sample = tuple[int, int]
"""What one request yields: (status code, body length)."""

FanOut = Callable[[int], Awaitable[list[Sample]]]
"""Send n GETs with bounded concurrency and return every sample, in any order."""

Fetch = Callable[[], Sample]
"""Send one GET and return its sample."""


@dataclass(frozen=True, slots=True)
class Job:
    url: str
    requests: int
    warmup: int
    concurrency: int
    body_length: int


class BenchmarkError(Exception):
    """A response was not what the origin serves: the measurement is invalid."""


# --- async contenders: each yields a fan-out function over one long-lived client ------------


@asynccontextmanager
async def restwell_async(job: Job) -> AsyncIterator[FanOut]:
    import restwell

    # Defaults on purpose: retries, retry budget, circuit breaker and rate-limit gate all on.
    async with restwell.AsyncClient() as client:

        async def one() -> Sample:
            response = await client.get(job.url)
            return response.status_code, len(response.content)

        async def fan_out(n: int) -> list[Sample]:
            results = await client.gather((one() for _ in range(n)), limit=job.concurrency)
            return [result.unwrap() for result in results]

        yield fan_out


@asynccontextmanager
async def _aiohttp_session(job: Job, **options: Any) -> AsyncIterator[FanOut]:
    import aiohttp

    async with aiohttp.ClientSession(**options) as session:
        slots = asyncio.Semaphore(job.concurrency)

        async def one() -> Sample:
            async with slots, session.get(job.url) as response:
                body = await response.read()
                return response.status, len(body)

        async def fan_out(n: int) -> list[Sample]:
            return await asyncio.gather(*(one() for _ in range(n)))

        yield fan_out


def aiohttp_async(job: Job) -> AbstractAsyncContextManager[FanOut]:
    return _aiohttp_session(job)


def aiohttp_timeouts_async(job: Job) -> AbstractAsyncContextManager[FanOut]:
    import aiohttp

    # The peer with the per-attempt timeouts restwell always sets (connect 5 s, read 30 s),
    # to tell the price of that default from restwell's own overhead.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=30.0)
    return _aiohttp_session(job, timeout=timeout)


def aiohttp_small_reads_async(job: Job) -> AbstractAsyncContextManager[FanOut]:
    from restwell.backends._aiohttp import _Connector

    # The peer with restwell's 64 KiB socket reads (asyncio's 256 KiB ones can cost an
    # mmap/mremap/munmap per read, depending on the allocator's history): what is left is the
    # price of restwell's own layers.
    return _aiohttp_session(job, connector=_Connector())


@asynccontextmanager
async def _httpx_client(job: Job, module: Any) -> AsyncIterator[FanOut]:
    # Stock settings, as users get them (httpx keeps at most 20 idle connections).
    async with module.AsyncClient() as client:
        slots = asyncio.Semaphore(job.concurrency)

        async def one() -> Sample:
            async with slots:
                response = await client.get(job.url)
                return response.status_code, len(response.content)

        async def fan_out(n: int) -> list[Sample]:
            return await asyncio.gather(*(one() for _ in range(n)))

        yield fan_out


def httpx2_async(job: Job) -> AbstractAsyncContextManager[FanOut]:
    import httpx2

    return _httpx_client(job, httpx2)


def httpx_async(job: Job) -> AbstractAsyncContextManager[FanOut]:
    import httpx

    return _httpx_client(job, httpx)


# --- sync contenders: each yields a one-request function over one long-lived client ---------


@_contextmanager
def restwell_sync(job: Job) -> Iterator[Fetch]:
    import restwell

    with restwell.Client() as client:  # defaults: retries, budget, breaker, rate-limit gate

        def fetch() -> Sample:
            response = client.get(job.url)
            return response.status_code, len(response.content)

        yield fetch


@_contextmanager
def urllib3_sync(job: Job) -> Iterator[Fetch]:
    import urllib3

    with urllib3.PoolManager() as pool:

        def fetch() -> Sample:
            response = pool.request("GET", job.url)
            return response.status, len(response.data)

        yield fetch


@_contextmanager
def urllib3_timeouts_sync(job: Job) -> Iterator[Fetch]:
    import urllib3

    # The peer with restwell's always-on timeouts (connect 5 s, read 30 s): a socket with a
    # timeout costs a poll() before each send and receive.
    with urllib3.PoolManager(timeout=urllib3.Timeout(connect=5.0, read=30.0)) as pool:

        def fetch() -> Sample:
            response = pool.request("GET", job.url)
            return response.status, len(response.data)

        yield fetch


@_contextmanager
def requests_sync(job: Job) -> Iterator[Fetch]:
    import requests

    with requests.Session() as session:

        def fetch() -> Sample:
            response = session.get(job.url)
            return response.status_code, len(response.content)

        yield fetch


@_contextmanager
def httpx2_sync(job: Job) -> Iterator[Fetch]:
    import httpx2

    with httpx2.Client() as client:

        def fetch() -> Sample:
            response = client.get(job.url)
            return response.status_code, len(response.content)

        yield fetch


ASYNC: dict[str, tuple[Callable[[Job], AbstractAsyncContextManager[FanOut]], str]] = {
    "restwell-async": (restwell_async, "restwell"),
    "aiohttp": (aiohttp_async, "aiohttp"),
    "aiohttp-timeouts": (aiohttp_timeouts_async, "aiohttp"),
    "aiohttp-small-reads": (aiohttp_small_reads_async, "aiohttp"),
    "httpx2-async": (httpx2_async, "httpx2"),
    "httpx-async": (httpx_async, "httpx"),
}
SYNC: dict[str, tuple[Callable[[Job], AbstractContextManager[Fetch]], str]] = {
    "restwell-sync": (restwell_sync, "restwell"),
    "urllib3": (urllib3_sync, "urllib3"),
    "urllib3-timeouts": (urllib3_timeouts_sync, "urllib3"),
    "requests": (requests_sync, "requests"),
    "httpx2-sync": (httpx2_sync, "httpx2"),
}


# --- integration contenders (benchmarks/integrations.py) -------------------------------------
# Each restwell integration against the same library bare: the bare ones reuse the contenders
# above where they exist, and both sides of a pair share one request loop below, so the only
# difference is the integration (adapter, transport, middleware) or restwell.Client on top.


def _httpx_fetch(client: Any, job: Job) -> Fetch:
    def fetch() -> Sample:
        response = client.get(job.url)
        return response.status_code, len(response.content)

    return fetch


def _requests_fetch(session: Any, job: Job) -> Fetch:
    def fetch() -> Sample:
        response = session.get(job.url)
        return response.status_code, len(response.content)

    return fetch


def _httpx_fan_out(client: Any, job: Job) -> FanOut:
    """Semaphore + gather over ``client.get`` (httpx2/httpx clients and restwell.AsyncClient)."""
    slots = asyncio.Semaphore(job.concurrency)

    async def one() -> Sample:
        async with slots:
            response = await client.get(job.url)
            return response.status_code, len(response.content)

    async def fan_out(n: int) -> list[Sample]:
        return await asyncio.gather(*(one() for _ in range(n)))

    return fan_out


def _aiohttp_fan_out(session: Any, job: Job) -> FanOut:
    slots = asyncio.Semaphore(job.concurrency)

    async def one() -> Sample:
        async with slots, session.get(job.url) as response:
            body = await response.read()
            return response.status, len(body)

    async def fan_out(n: int) -> list[Sample]:
        return await asyncio.gather(*(one() for _ in range(n)))

    return fan_out


@_contextmanager
def requests_retry_adapter_sync(job: Job) -> Iterator[Fetch]:
    import requests

    from restwell.integrations.requests import RetryAdapter

    with requests.Session() as session:
        adapter = RetryAdapter()  # defaults, as the bare Session's HTTPAdapter
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        yield _requests_fetch(session, job)


@_contextmanager
def restwell_requests_session_sync(job: Job) -> Iterator[Fetch]:
    import requests

    import restwell

    # restwell.Client with its defaults over the user's Session (which it does not close).
    with requests.Session() as session, restwell.Client(session=session) as client:
        yield _httpx_fetch(client, job)


@_contextmanager
def httpx2_retry_transport_sync(job: Job) -> Iterator[Fetch]:
    import httpx2

    from restwell.integrations.httpx import RetryTransport

    with httpx2.Client(transport=RetryTransport()) as client:
        yield _httpx_fetch(client, job)


@_contextmanager
def httpx_sync(job: Job) -> Iterator[Fetch]:
    import httpx

    with httpx.Client() as client:
        yield _httpx_fetch(client, job)


@_contextmanager
def httpx_retry_transport_sync(job: Job) -> Iterator[Fetch]:
    import httpx

    from restwell.integrations.httpx import RetryTransport

    # (Typed against httpx2's transport base; at run time it subclasses both modules' bases.)
    transport: Any = RetryTransport()
    with httpx.Client(transport=transport) as client:
        yield _httpx_fetch(client, job)


@asynccontextmanager
async def httpx2_retry_transport_async(job: Job) -> AsyncIterator[FanOut]:
    import httpx2

    from restwell.integrations.httpx import AsyncRetryTransport

    async with httpx2.AsyncClient(transport=AsyncRetryTransport()) as client:
        yield _httpx_fan_out(client, job)


@asynccontextmanager
async def httpx_retry_transport_async(job: Job) -> AsyncIterator[FanOut]:
    import httpx

    from restwell.integrations.httpx import AsyncRetryTransport

    transport: Any = AsyncRetryTransport()  # (typed against httpx2's base: see above)
    async with httpx.AsyncClient(transport=transport) as client:
        yield _httpx_fan_out(client, job)


@asynccontextmanager
async def aiohttp_retry_middleware_async(job: Job) -> AsyncIterator[FanOut]:
    import aiohttp

    from restwell.integrations.aiohttp import RetryMiddleware

    async with aiohttp.ClientSession(middlewares=(RetryMiddleware(),)) as session:
        yield _aiohttp_fan_out(session, job)


@asynccontextmanager
async def restwell_httpx2_session_async(job: Job) -> AsyncIterator[FanOut]:
    import httpx2

    import restwell

    # restwell.AsyncClient with its defaults over the user's client (which it does not close),
    # driven by the same Semaphore + gather loop as the bare httpx2-async contender.
    async with httpx2.AsyncClient() as session, restwell.AsyncClient(session=session) as client:
        yield _httpx_fan_out(client, job)


ASYNC.update(
    {
        "httpx2-async-retrytransport": (httpx2_retry_transport_async, "httpx2"),
        "httpx-async-retrytransport": (httpx_retry_transport_async, "httpx"),
        "aiohttp-retrymiddleware": (aiohttp_retry_middleware_async, "aiohttp"),
        "restwell-httpx2-session": (restwell_httpx2_session_async, "httpx2"),
    }
)
SYNC.update(
    {
        "requests-retryadapter": (requests_retry_adapter_sync, "requests"),
        "restwell-requests-session": (restwell_requests_session_sync, "requests"),
        "httpx2-sync-retrytransport": (httpx2_retry_transport_sync, "httpx2"),
        "httpx-sync": (httpx_sync, "httpx"),
        "httpx-sync-retrytransport": (httpx_retry_transport_sync, "httpx"),
    }
)

# --- end of the integration contenders ------------------------------------------------------


CONTENDERS = sorted([*ASYNC, *SYNC])


def check(samples: list[Sample], expected: int, job: Job, phase: str) -> None:
    if len(samples) != expected:
        raise BenchmarkError(f"{phase}: {len(samples)} responses for {expected} requests")
    bad = [s for s in samples if s != (200, job.body_length)]
    if bad:
        raise BenchmarkError(
            f"{phase}: {len(bad)} of {expected} responses were not 200 with a "
            f"{job.body_length}-byte body, e.g. (status, length) = {bad[0]}"
        )


async def measure_async(name: str, job: Job) -> tuple[float, float]:
    factory, _ = ASYNC[name]
    async with factory(job) as fan_out:
        if job.warmup:
            check(await fan_out(job.warmup), job.warmup, job, "warm-up")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        samples = await fan_out(job.requests)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        check(samples, job.requests, job, "timed run")
    return wall, cpu


def sequential(fetch: Fetch, n: int) -> list[Sample]:
    return [fetch() for _ in range(n)]


def measure_sync(name: str, job: Job) -> tuple[float, float]:
    factory, _ = SYNC[name]
    with factory(job) as fetch:
        if job.warmup:
            check(sequential(fetch, job.warmup), job.warmup, job, "warm-up")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        samples = sequential(fetch, job.requests)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        check(samples, job.requests, job, "timed run")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-length", type=int, required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    if not args.url.startswith(("http://127.0.0.1:", "http://localhost:")):
        parser.error("benchmarks only ever send traffic to 127.0.0.1")
    job = Job(args.url, args.requests, args.warmup, args.concurrency, args.body_length)
    name: str = args.contender
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
        "package": package,
        "version": version(package),
        "python": platform.python_version(),
        "requests": job.requests,
        "warmup": job.warmup,
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
