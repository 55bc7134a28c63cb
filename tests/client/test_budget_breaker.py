"""The retry budget and the circuit breaker keep a dead origin from being hammered."""

from __future__ import annotations

import logging

import pytest

from restwell import CircuitBreaker, CircuitOpenError, RetryBudget
from restwell.errors import ConnectError
from restwell.policy import BreakerState, origin_of
from restwell.testing import FakeClock
from tests.client.support import extra, fast
from tests.drivers import DriverFactory
from tests.origin import Origin

# -- retry budget ----------------------------------------------------------------------------


def test_retry_budget_stops_retrying_a_dead_endpoint(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="restwell")
    budget = RetryBudget(max_tokens=4)
    client = make_client(budget=budget, breaker=False, retry=fast(10))

    # 4 tokens, retries allowed while more than 2 are left: 1 failure -> 3 (retry),
    # 2 failures -> 2 (budget spent: give up although 8 attempts remain).
    first = client.request("GET", f"/flaky/{key}?fail=100")
    assert (first.status_code, first.attempts, origin.hits(key)) == (503, 2, 2)
    assert budget.tokens == 2.0
    gave_up = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(gave_up) == 1
    assert extra(gave_up[0], "restwell_reason") == (
        "503 Service Unavailable; retry budget exhausted (2 of 4 tokens)"
    )

    # Spent budget: later requests get one attempt each.
    second = client.request("GET", f"/flaky/{key}?fail=100")
    assert (second.status_code, second.attempts, origin.hits(key)) == (503, 1, 3)
    assert budget.tokens == 1.0
    assert no_sleep == [0.01]


def test_retry_budget_refills_with_successes(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    budget = RetryBudget(max_tokens=4, token_ratio=0.5)
    client = make_client(budget=budget, breaker=False, retry=fast(10))
    client.request("GET", f"/flaky/{key}?fail=2")  # fail, fail (budget spent), no retry
    assert budget.tokens == 2.0
    for _ in range(4):
        assert client.request("GET", "/ok").status_code == 200
    assert budget.tokens == 4.0  # refilled (and capped at max_tokens)
    response = client.request("GET", f"/flaky/{key}-again?fail=1")
    assert (response.status_code, response.attempts) == (200, 2)


def test_retry_budget_also_bounds_transport_error_retries(
    make_client: DriverFactory, dead_url: str
) -> None:
    budget = RetryBudget(max_tokens=4)
    client = make_client(base_url=dead_url, budget=budget, breaker=False, retry=fast(10))
    with pytest.raises(ConnectError) as info:
        client.request("GET", "/ok")
    assert info.value.attempts == 2
    assert budget.tokens == 2.0


# -- circuit breaker -------------------------------------------------------------------------


def test_breaker_opens_after_threshold_and_refuses_without_sending(
    make_client: DriverFactory, origin: Origin, key: str, fake_clock: FakeClock
) -> None:
    breaker = CircuitBreaker(failure_threshold=3, recovery_time=10)
    client = make_client(breaker=breaker, retry=None, clock=fake_clock)
    where = origin_of(origin.url)

    for _ in range(3):
        assert client.request("GET", f"/flaky/{key}?fail=4").status_code == 503
    assert origin.hits(key) == 3
    assert breaker.state(where, fake_clock.monotonic()) is BreakerState.OPEN

    with pytest.raises(CircuitOpenError) as info:
        client.request("GET", f"/flaky/{key}?fail=4")
    assert origin.hits(key) == 3  # refused here, never sent
    assert info.value.origin == where
    assert info.value.retry_in == 10.0
    assert str(info.value) == (
        f"circuit open for {where}: probing again in 10s for GET {origin.url}/flaky/{key}?fail=4"
    )

    # Any path of the same origin is refused; another origin is not affected.
    with pytest.raises(CircuitOpenError):
        client.request("GET", "/ok")
    assert client.request("GET", f"{origin.url_via('localhost')}/ok").status_code == 200

    # After recovery_time a probe goes through; it fails (4th failure): open again.
    fake_clock.advance(10)
    assert client.request("GET", f"/flaky/{key}?fail=4").status_code == 503
    assert origin.hits(key) == 4
    with pytest.raises(CircuitOpenError):
        client.request("GET", f"/flaky/{key}?fail=4")
    assert origin.hits(key) == 4

    # The next probe succeeds and closes the circuit.
    fake_clock.advance(10)
    assert client.request("GET", f"/flaky/{key}?fail=4").status_code == 200
    assert origin.hits(key) == 5
    assert breaker.state(where, fake_clock.monotonic()) is BreakerState.CLOSED
    assert client.request("GET", "/ok").status_code == 200


def test_breaker_opening_mid_retries_stops_the_retries(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    breaker = CircuitBreaker(failure_threshold=3, recovery_time=30)
    client = make_client(breaker=breaker, retry=fast(6))
    with pytest.raises(CircuitOpenError) as info:
        client.request("GET", f"/flaky/{key}?fail=100")
    assert origin.hits(key) == 3
    assert 29.0 < info.value.retry_in <= 30.0
    assert no_sleep == [0.01, 0.01, 0.01]


def test_client_errors_do_not_count_as_breaker_failures(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=30)
    client = make_client(breaker=breaker, retry=None)
    for _ in range(4):
        assert client.request("GET", f"/flaky/{key}?fail=9&status=404").status_code == 404
    assert origin.hits(key) == 4
    assert breaker.state(origin_of(origin.url), 0.0) is BreakerState.CLOSED


def test_connect_failures_open_the_breaker(
    make_client: DriverFactory, dead_url: str, fake_clock: FakeClock
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=5)
    client = make_client(base_url=dead_url, breaker=breaker, retry=None, clock=fake_clock)
    for _ in range(2):
        with pytest.raises(ConnectError):
            client.request("GET", "/ok")
    with pytest.raises(CircuitOpenError) as info:
        client.request("GET", "/ok")
    assert info.value.retry_in == 5.0
