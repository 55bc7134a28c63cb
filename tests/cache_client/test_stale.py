"""Serving stale (RFC 5861): ``stale-while-revalidate`` in the background, and
``stale-if-error`` over everything the request flow can fail with — exhausted retries, a dropped
connection, an open circuit breaker (the cache sits outside the retry layer).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from restwell import CircuitBreaker, RetryPolicy
from restwell.cache import CacheStorage
from restwell.errors import TransportError
from restwell.policy import BreakerState
from restwell.policy.cache import CachePolicy
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver, stored, wait_until

V1 = '"v1"'


def stored_version(storage: CacheStorage, url: str) -> int | None:
    entries = stored(storage, url)
    if len(entries) != 1:
        return None
    version: int = json.loads(entries[0].body)["version"]
    return version


# -- stale-while-revalidate ----------------------------------------------------------------


def test_stale_while_revalidate_answers_stale_then_updates_in_the_background(
    client: Driver,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    origin.update(key, ETag='"v2"')
    origin.slow(key, 1.0)
    fake_clock.advance(20)
    started = time.monotonic()
    stale = client.get(url)
    waited = time.monotonic() - started
    assert (stale.cache_status, stale.json()["version"]) == ("stale", 1)
    assert stale.headers["Age"] == "20"
    assert waited < 0.8, f"the stale answer waited {waited:.3f}s for the revalidation"
    # The background revalidation reaches the origin (conditionally) and stores the answer.
    assert origin.wait_hits(key, 2)
    assert origin.seen(key)[1].headers["if-none-match"] == V1
    assert wait_until(lambda: stored_version(storage, url) == 2)
    assert client.settle()
    fresh = client.get(url)
    assert (fresh.cache_status, fresh.json()["version"]) == ("hit", 2)
    assert origin.hits(key) == 2


def test_stale_while_revalidate_with_a_304_refreshes_the_entry(
    client: Driver,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    before = stored(storage, url)[0].response_time
    fake_clock.advance(20)
    assert client.get(url).cache_status == "stale"
    assert origin.wait_hits(key, 2)
    assert wait_until(lambda: stored(storage, url)[0].response_time > before)
    assert client.settle()
    hit = client.get(url)
    assert (hit.cache_status, hit.headers["Age"], hit.json()["hit"]) == ("hit", "0", 1)
    assert origin.hits(key) == 2


def test_past_the_stale_while_revalidate_window_the_caller_waits(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    fake_clock.advance(100)
    assert client.get(url).cache_status == "revalidated"
    assert origin.hits(key) == 2


def test_a_failed_background_revalidation_keeps_the_entry(
    client: Driver,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    origin.fail(key, "drop")
    fake_clock.advance(20)
    assert client.get(url, retry=None).cache_status == "stale"
    assert origin.wait_hits(key, 2)
    assert client.settle()
    assert stored_version(storage, url) == 1
    assert client.get(url, retry=None).cache_status == "stale"


# -- stale-if-error ------------------------------------------------------------------------


def _stored_then_failing(
    client: Driver, origin: CacheOrigin, key: str, url: str, clock: FakeClock, mode: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-if-error=600", "ETag": V1})
    assert client.get(url).cache_status == "miss"
    origin.fail(key, mode)
    clock.advance(20)


def _retrying(
    make_client: ClientFactory, storage: CacheStorage, where: str
) -> tuple[Driver, dict[str, Any]]:
    """A client that makes 3 attempts, by the call's ``retry=`` or by its own policy.

    With the client's own policy, attempt 1 goes out the way an uncached request's does
    (``SendFirst``) and the flow takes over from it; a per-call policy starts the flow at once.
    """
    policy = RetryPolicy(max_attempts=3)
    if where == "client":
        return make_client(storage, retry=policy), {}
    return make_client(storage), {"retry": policy}


@pytest.mark.parametrize("where", ["call", "client"])
@pytest.mark.parametrize("mode", ["503", "502", "504", "500"])
def test_stale_if_error_covers_exhausted_retries(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
    mode: str,
    where: str,
) -> None:
    client, options = _retrying(make_client, storage, where)
    _stored_then_failing(client, origin, key, url, fake_clock, mode)
    response = client.get(url, **options)
    assert (response.status_code, response.cache_status) == (200, "stale")
    assert response.json()["version"] == 1
    assert origin.hits(key) == 4  # the stored one, then three attempts
    assert (response.attempts, len(response.retries)) == (3, 2)
    # Every attempt was the cache's conditional request.
    assert all(seen.headers.get("if-none-match") == V1 for seen in origin.seen(key)[1:])


@pytest.mark.parametrize("where", ["call", "client"])
def test_stale_if_error_covers_a_dropped_connection(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
    where: str,
) -> None:
    client, options = _retrying(make_client, storage, where)
    _stored_then_failing(client, origin, key, url, fake_clock, "drop")
    response = client.get(url, **options)
    assert (response.status_code, response.cache_status) == (200, "stale")
    assert response.json()["version"] == 1
    assert origin.hits(key) == 4
    assert (response.attempts, len(response.retries)) == (3, 2)


def test_stale_if_error_covers_an_open_circuit_breaker(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=300)
    client = make_client(storage, breaker=breaker, retry=None)
    _stored_then_failing(client, origin, key, url, fake_clock, "503")
    for hits in (2, 3):  # two failures open the circuit
        assert client.get(url).cache_status == "stale"
        assert origin.hits(key) == hits
    origin_id = f"http://127.0.0.1:{origin.port}"
    assert breaker.state(origin_id, fake_clock.monotonic()) is BreakerState.OPEN
    for _ in range(3):
        response = client.get(url)
        assert (response.status_code, response.cache_status) == (200, "stale")
        assert response.json()["version"] == 1
        assert response.attempts == 0
    assert origin.hits(key) == 3  # the open circuit kept them off the network
    origin.heal(key)
    fake_clock.advance(301)
    assert client.get(url).cache_status == "revalidated"
    assert breaker.state(origin_id, fake_clock.monotonic()) is BreakerState.CLOSED


def test_without_stale_if_error_the_failure_goes_through(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10", "ETag": V1})
    client.get(url)
    fake_clock.advance(20)
    origin.fail(key, "503")
    failed = client.get(url, retry=None)
    assert (failed.status_code, failed.cache_status) == (503, "miss")
    origin.fail(key, "drop")
    with pytest.raises(TransportError):
        client.get(url, retry=None)


def test_stale_if_error_has_a_window(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    _stored_then_failing(client, origin, key, url, fake_clock, "503")
    fake_clock.advance(600)  # stale by 610 s, over the 600 allowed
    failed = client.get(url, retry=None)
    assert (failed.status_code, failed.cache_status) == (503, "miss")


def test_must_revalidate_forbids_serving_stale_on_error(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    origin.set(
        key, {"Cache-Control": "max-age=10, must-revalidate, stale-if-error=600", "ETag": V1}
    )
    client.get(url)
    origin.fail(key, "503")
    fake_clock.advance(20)
    assert client.get(url, retry=None).status_code == 503


def test_stale_if_error_from_the_request_or_the_policy(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10", "ETag": V1})
    client = make_client(storage, retry=None)
    client.get(url)
    origin.fail(key, "503")
    fake_clock.advance(20)
    asked = client.get(url, headers={"Cache-Control": "stale-if-error=60"})
    assert (asked.status_code, asked.cache_status) == (200, "stale")
    lenient = make_client(storage, retry=None, cache_policy=CachePolicy(stale_if_error=60))
    assert lenient.get(url).cache_status == "stale"
    assert client.get(url).status_code == 503


def test_the_error_does_not_replace_the_entry(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    _stored_then_failing(client, origin, key, url, fake_clock, "503")
    assert client.get(url, retry=None).cache_status == "stale"
    origin.heal(key)
    healed = client.get(url)
    assert (healed.cache_status, healed.json()["hit"]) == ("revalidated", 1)


def test_stale_if_error_without_a_validator(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-if-error=600"})
    client.get(url)
    origin.fail(key, "503")
    fake_clock.advance(20)
    response = client.get(url, retry=None)
    assert (response.status_code, response.cache_status) == (200, "stale")
    assert "if-none-match" not in origin.seen(key)[-1].headers


# -- the client's own retry policy: attempt 1 made by the client, the flow taking over -----


def test_a_miss_retried_by_the_client_policy_is_stored(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    client = make_client(storage, retry=RetryPolicy(max_attempts=3))
    origin.set(key, {"Cache-Control": "max-age=60", "ETag": V1})
    origin.fail(key, "503", times=1)
    response = client.get(url)
    assert (response.status_code, response.cache_status, response.attempts) == (200, "miss", 2)
    assert stored_version(storage, url) == 1
    again = client.get(url)
    assert (again.cache_status, again.json()["version"]) == ("hit", 1)
    assert origin.hits(key) == 2
