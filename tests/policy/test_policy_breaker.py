"""CircuitBreaker: closed -> open -> half-open -> closed/open, per origin, fake clock."""

from __future__ import annotations

import pytest

from restwell.policy import BreakerState, CircuitBreaker

A = "https://a.example:443"
B = "https://b.example:443"


def opened(
    threshold: int = 3, recovery: float = 10.0, probes: int = 1, at: float = 100.0
) -> CircuitBreaker:
    breaker = CircuitBreaker(
        failure_threshold=threshold, recovery_time=recovery, half_open_probes=probes
    )
    for _ in range(threshold):
        breaker.record(A, False, at)
    assert breaker.state(A, at) is BreakerState.OPEN
    return breaker


def test_defaults() -> None:
    breaker = CircuitBreaker()
    assert (breaker.failure_threshold, breaker.recovery_time, breaker.half_open_probes) == (
        5,
        30.0,
        1,
    )


def test_unknown_origin_is_closed() -> None:
    breaker = CircuitBreaker()
    assert breaker.state(A, 0.0) is BreakerState.CLOSED
    assert breaker.allow(A, 0.0)
    assert breaker.retry_in(A, 0.0) == 0.0
    breaker.record(A, True, 0.0)
    assert breaker.state(A, 0.0) is BreakerState.CLOSED


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, recovery_time=10.0)
    breaker.record(A, False, 1.0)
    breaker.record(A, False, 2.0)
    assert breaker.state(A, 2.0) is BreakerState.CLOSED
    assert breaker.allow(A, 2.0)
    breaker.record(A, False, 3.0)
    assert breaker.state(A, 3.0) is BreakerState.OPEN
    assert not breaker.allow(A, 3.0)
    assert breaker.retry_in(A, 3.0) == 10.0


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=3, recovery_time=10.0)
    breaker.record(A, False, 1.0)
    breaker.record(A, False, 2.0)
    breaker.record(A, True, 3.0)
    breaker.record(A, False, 4.0)
    breaker.record(A, False, 5.0)
    assert breaker.state(A, 5.0) is BreakerState.CLOSED
    breaker.record(A, False, 6.0)
    assert breaker.state(A, 6.0) is BreakerState.OPEN


def test_threshold_of_one() -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time=5.0)
    breaker.record(A, False, 0.0)
    assert not breaker.allow(A, 0.0)


def test_open_refuses_and_retry_in_counts_down() -> None:
    breaker = opened(at=100.0)
    for now, left in [(100.0, 10.0), (104.0, 6.0), (109.5, 0.5)]:
        assert not breaker.allow(A, now)
        assert breaker.state(A, now) is BreakerState.OPEN
        assert breaker.retry_in(A, now) == left
    assert breaker.retry_in(A, 110.0) == 0.0
    assert breaker.retry_in(A, 500.0) == 0.0


def test_failures_while_open_do_not_extend_the_timer() -> None:
    breaker = opened(at=100.0)
    breaker.record(A, False, 105.0)  # a request admitted before the circuit opened
    assert breaker.retry_in(A, 105.0) == 5.0
    assert breaker.allow(A, 110.0)


def test_state_reports_half_open_without_side_effects() -> None:
    breaker = opened(at=100.0)
    for _ in range(3):
        assert breaker.state(A, 110.0) is BreakerState.HALF_OPEN
    assert breaker.allow(A, 110.0)  # the state() calls did not use up the probe


def test_half_open_admits_exactly_one_probe() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(A, 110.0)
    assert breaker.state(A, 110.0) is BreakerState.HALF_OPEN
    assert not breaker.allow(A, 110.0)
    assert not breaker.allow(A, 115.0)


@pytest.mark.parametrize("probes", [2, 3])
def test_half_open_admits_exactly_half_open_probes(probes: int) -> None:
    breaker = opened(probes=probes, at=100.0)
    admitted = [breaker.allow(A, 110.0 + i) for i in range(probes + 2)]
    assert admitted == [True] * probes + [False, False]


def test_probe_success_closes() -> None:
    breaker = opened(threshold=3, at=100.0)
    assert breaker.allow(A, 110.0)
    breaker.record(A, True, 110.5)
    assert breaker.state(A, 110.5) is BreakerState.CLOSED
    assert breaker.allow(A, 110.5)
    assert breaker.allow(A, 110.5)
    # the failure count starts over: it takes the full threshold to open again
    breaker.record(A, False, 111.0)
    breaker.record(A, False, 112.0)
    assert breaker.state(A, 112.0) is BreakerState.CLOSED
    breaker.record(A, False, 113.0)
    assert breaker.state(A, 113.0) is BreakerState.OPEN
    assert breaker.retry_in(A, 113.0) == 10.0


def test_probe_failure_reopens_with_a_fresh_timer() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(A, 110.0)
    breaker.record(A, False, 112.0)
    assert breaker.state(A, 112.0) is BreakerState.OPEN
    assert breaker.retry_in(A, 112.0) == 10.0
    assert not breaker.allow(A, 121.9)
    assert breaker.retry_in(A, 121.0) == 1.0
    assert breaker.allow(A, 122.0)
    assert not breaker.allow(A, 122.0)


def test_lost_probe_does_not_wedge_the_circuit() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(A, 110.0)  # a probe goes out and is never recorded
    assert not breaker.allow(A, 115.0)
    assert not breaker.allow(A, 119.9)
    assert breaker.allow(A, 120.0)  # another recovery period later: a new probe
    assert not breaker.allow(A, 120.0)
    breaker.record(A, True, 120.5)
    assert breaker.state(A, 120.5) is BreakerState.CLOSED


def test_retry_in_while_probe_in_flight_reports_the_wait() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(A, 110.0)
    # a request refused because the probe is still out learns when it may try again
    assert not breaker.allow(A, 113.0)
    assert breaker.retry_in(A, 113.0) == 7.0
    assert breaker.retry_in(A, 120.0) == 0.0


def test_retry_in_is_zero_when_half_open_has_room() -> None:
    breaker = opened(probes=2, at=100.0)
    assert breaker.allow(A, 110.0)
    assert breaker.retry_in(A, 111.0) == 0.0
    assert breaker.allow(A, 111.0)


def test_origins_are_isolated() -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=10.0)
    breaker.record(A, False, 0.0)
    breaker.record(B, False, 0.0)
    assert breaker.state(A, 0.0) is BreakerState.CLOSED
    breaker.record(A, False, 1.0)
    assert breaker.state(A, 1.0) is BreakerState.OPEN
    assert breaker.state(B, 1.0) is BreakerState.CLOSED
    assert breaker.allow(B, 1.0)
    assert breaker.retry_in(B, 1.0) == 0.0
    breaker.record(B, True, 2.0)
    breaker.record(B, False, 3.0)
    assert breaker.state(B, 3.0) is BreakerState.CLOSED
    assert not breaker.allow(A, 3.0)


def test_zero_recovery_time_goes_straight_to_half_open() -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time=0.0)
    breaker.record(A, False, 5.0)
    assert breaker.state(A, 5.0) is BreakerState.HALF_OPEN
    assert breaker.allow(A, 5.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"recovery_time": -1.0},
        {"half_open_probes": 0},
    ],
)
def test_invalid_breaker_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="breaker needs"):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]
