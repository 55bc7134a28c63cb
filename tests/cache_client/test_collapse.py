"""Request collapsing (``cache_collapse=True``): concurrent misses of one key, one origin request.

Ten requests for the same slow URL are sent at once (threads for ``Client``, ``gather`` on the
driver's loop for ``AsyncClient``) against the real test origin, which counts what arrives.
Every wait is bounded: the calls themselves by the drivers' timeout, the waits for the
collapsed requests by the client's ``cache_collapse_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from restwell import AsyncClient, Client, Response
from restwell.errors import TransportError
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory, StorageFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import AsyncDriver, Driver

N = 10
DELAY = 0.5


def concurrently(driver: Driver, url: str, n: int = N, **kwargs: Any) -> list[Any]:
    """``GET url`` ``n`` times at once; each item is a ``Response`` or the exception raised."""
    if isinstance(driver, AsyncDriver):
        client = driver.client
        assert isinstance(client, AsyncClient)

        async def all_at_once() -> list[Any]:
            calls = (client.get(url, **kwargs) for _ in range(n))
            return list(await asyncio.gather(*calls, return_exceptions=True))

        return driver._run(all_at_once())

    def one(_: int) -> Any:
        try:
            return driver.get(url, **kwargs)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n), timeout=30))


def leaders(driver: Driver) -> int:
    collapser = driver.client._collapser
    assert collapser is not None
    return len(collapser)


def statuses(answers: list[Any]) -> list[str]:
    return sorted(
        str(a.cache_status) if isinstance(a, Response) else type(a).__name__ for a in answers
    )


@pytest.fixture
def collapsing(make_client: ClientFactory, make_storage: StorageFactory) -> Driver:
    return make_client(make_storage(), cache_collapse=True, connections=N)


def test_concurrent_misses_send_one_request(
    collapsing: Driver, origin: CacheOrigin, key: str, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    origin.slow(key, DELAY)
    caplog.set_level(logging.DEBUG, logger="restwell.cache")
    answers = concurrently(collapsing, f"{url}?cc=max-age=60&api_key=s3cret")
    assert origin.hits(key) == 1
    assert statuses(answers) == ["hit"] * (N - 1) + ["miss"]
    assert all(a.status_code == 200 for a in answers)
    assert len({a.content for a in answers}) == 1
    assert leaders(collapsing) == 0
    waits = [r for r in caplog.records if getattr(r, "restwell_cache", "") == "collapsed"]
    assert waits, "a collapsed request logs that it waited"
    assert all("s3cret" not in r.getMessage() for r in waits)
    assert all("waited" in r.getMessage() and key in r.getMessage() for r in waits)


def test_uncacheable_answers_send_each_request_after_one_wait(
    collapsing: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.slow(key, DELAY)
    start = time.monotonic()
    answers = concurrently(collapsing, f"{url}?cc=no-store")
    elapsed = time.monotonic() - start
    assert origin.hits(key) == N
    assert statuses(answers) == ["miss"] * N
    # The leader, then everyone else at once: about two delays, never one after another.
    assert elapsed < 3 * DELAY + 0.5 < N * DELAY
    assert leaders(collapsing) == 0


@pytest.mark.parametrize("failure", ["503", "drop"])
def test_a_failing_leader_releases_its_followers(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    failure: str,
) -> None:
    driver = make_client(
        make_storage(), cache_collapse=True, connections=N, retry=None, breaker=False
    )
    origin.slow(key, DELAY)
    origin.fail(key, failure, times=1)
    start = time.monotonic()
    answers = concurrently(driver, f"{url}?cc=max-age=60")
    elapsed = time.monotonic() - start
    # The leader's failure stored nothing: each follower went to the origin itself.
    assert origin.hits(key) == N
    failed = [a for a in answers if not (isinstance(a, Response) and a.status_code == 200)]
    assert len(failed) == 1
    if failure == "drop":
        assert isinstance(failed[0], TransportError)
    else:
        assert failed[0].status_code == 503
    assert elapsed < 3 * DELAY + 0.5
    assert leaders(driver) == 0


def test_off_by_default(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    driver = make_client(make_storage(), connections=N)
    assert driver.client._collapser is None
    origin.slow(key, DELAY)
    answers = concurrently(driver, f"{url}?cc=max-age=60")
    assert origin.hits(key) == N
    assert statuses(answers) == ["miss"] * N


def test_followers_stop_waiting_at_the_timeout(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    driver = make_client(
        make_storage(), cache_collapse=True, cache_collapse_timeout=0.2, connections=N
    )
    origin.slow(key, 1.0)
    caplog.set_level(logging.DEBUG, logger="restwell.cache")
    start = time.monotonic()
    answers = concurrently(driver, f"{url}?cc=max-age=60")
    elapsed = time.monotonic() - start
    assert origin.hits(key) == N
    assert all(isinstance(a, Response) and a.status_code == 200 for a in answers)
    # Waiting for the leader would take two origin delays (2 s); giving up takes 1.2 s.
    assert elapsed < 1.8
    assert any("gave up waiting" in r.getMessage() for r in caplog.records)
    assert leaders(driver) == 0


@pytest.mark.parametrize("how", ["stream", "refresh"])
def test_streamed_and_refreshing_requests_never_collapse(
    collapsing: Driver, origin: CacheOrigin, key: str, url: str, how: str
) -> None:
    origin.slow(key, DELAY)
    target = f"{url}?cc=max-age=60"
    if how == "stream":
        with ThreadPoolExecutor(N) as pool:
            answers = list(pool.map(lambda _: collapsing.stream_get(target), range(N), timeout=30))
        assert all(response.status_code == 200 and body for response, body in answers)
    else:
        answers = concurrently(collapsing, target, cache_mode="refresh")
        assert statuses(answers) == ["miss"] * N
    assert origin.hits(key) == N
    assert leaders(collapsing) == 0


def test_a_foreground_revalidation_is_collapsed(
    collapsing: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = f"{url}?cc=max-age=10&etag=%22v1%22"
    first = collapsing.get(target)
    assert first.cache_status == "miss"
    fake_clock.advance(20)
    origin.slow(key, DELAY)
    answers = concurrently(collapsing, target)
    assert origin.hits(key) == 2  # the first fill, then one conditional request
    assert origin.seen(key)[1].headers.get("if-none-match") == '"v1"'
    assert statuses(answers) == ["hit"] * (N - 1) + ["revalidated"]
    assert len({a.content for a in answers} | {first.content}) == 1
    assert leaders(collapsing) == 0


def test_a_cancelled_async_leader_releases_its_followers(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    driver = make_client(make_storage(), cache_collapse=True, cache_collapse_timeout=30.0)
    if not isinstance(driver, AsyncDriver):
        pytest.skip("cancellation is the async client's")
    client = driver.client
    assert isinstance(client, AsyncClient)
    origin.slow(key, 1.0)
    target = f"{url}?cc=max-age=60"

    async def scenario() -> tuple[list[Response], float, int]:
        leader = asyncio.create_task(client.get(target))
        while origin.hits(key) == 0:  # the leader is at the origin
            await asyncio.sleep(0.01)
        followers = [asyncio.create_task(client.get(target)) for _ in range(3)]
        await asyncio.sleep(0.1)  # they have joined and wait
        waiting = len(client._collapser or ())
        leader.cancel()
        cancelled_at = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await leader
        # Without the release they would wait 30 s: the bound here fails the test first.
        done = await asyncio.wait_for(asyncio.gather(*followers), 5.0)
        return done, time.monotonic() - cancelled_at, waiting

    answers, after, waiting = driver._run(scenario())
    assert waiting == 1  # the cancelled leader's entry, while it ran
    assert [a.status_code for a in answers] == [200] * 3
    assert origin.hits(key) == 4  # the cancelled leader's, then each follower's own
    assert after < 2.5
    assert leaders(driver) == 0


def test_a_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="cache_collapse_timeout"):
        Client(cache_collapse=True, cache_collapse_timeout=-1.0)
