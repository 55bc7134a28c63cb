"""The shared rate limiter, sans I/O: admission, reservations, one sleeper, holds, refusals."""

from __future__ import annotations

import pytest

from restwell import Headers
from restwell.github import RateLimit, RateLimiter, RateLimitExceeded
from restwell.github._ratelimit import Step

WALL = 1_700_000_000.0


def quota(
    remaining: int, reset_in: int = 60, limit: int = 10, extra: dict[str, str] | None = None
) -> Headers:
    return Headers(
        {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(WALL) + reset_in),
            "Date": "Tue, 14 Nov 2023 22:13:20 GMT",  # == WALL
            **(extra or {}),
        }
    )


def answer(
    limiter: RateLimiter,
    headers: Headers,
    status: int = 200,
    body: bytes = b"",
    mono: float = 0.0,
    resource: str | None = "core",
) -> None:
    limiter.release(resource, status, headers, body, mono, WALL + mono)


def admit(limiter: RateLimiter, mono: float = 0.0, resource: str | None = "core") -> Step:
    return limiter.admit(resource, mono, WALL + mono).step


def test_an_unknown_quota_is_probed_with_one_request() -> None:
    limiter = RateLimiter()
    assert admit(limiter) is Step.GO
    assert admit(limiter) is Step.WAIT  # the probe is out
    answer(limiter, quota(9))
    assert [admit(limiter) for _ in range(3)] == [Step.GO] * 3


def test_a_failed_probe_lets_the_next_caller_probe() -> None:
    limiter = RateLimiter()
    assert admit(limiter) is Step.GO
    limiter.release("core", None, None, b"", 0.0, WALL)
    assert admit(limiter) is Step.GO


def test_no_quota_headers_means_no_limit_to_keep() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, Headers({"Content-Type": "application/json"}))
    assert [admit(limiter) for _ in range(20)] == [Step.GO] * 20
    assert limiter.quota() is None


def test_requests_in_flight_reserve_the_quota_that_is_left() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(3))
    assert [admit(limiter) for _ in range(5)] == [Step.GO] * 3 + [Step.WAIT] * 2
    answer(limiter, quota(2))
    answer(limiter, quota(1))
    assert admit(limiter) is Step.WAIT  # one still in flight spends the last
    answer(limiter, quota(0))
    admission = limiter.admit("core", 0.0, WALL)
    assert admission.step is Step.SLEEP
    assert admission.event is not None
    assert (admission.event.kind, admission.event.seconds) == ("primary", 61.0)  # reset + skew
    assert admission.event.reset_at == WALL + 61


def test_exactly_one_caller_sleeps_and_a_new_window_starts_full() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(0, limit=4))
    assert admit(limiter) is Step.SLEEP
    assert [admit(limiter) for _ in range(3)] == [Step.WAIT] * 3
    limiter.woke()
    steps = [admit(limiter, mono=61.0) for _ in range(5)]
    assert steps == [Step.GO] * 4 + [Step.WAIT]


def test_answers_from_an_ended_window_or_out_of_order_do_not_confuse_it() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(5))
    answer(limiter, quota(7))  # arrived late, same window: the lower count stands
    assert limiter.quota() == RateLimit("core", 10, 5, 5, int(WALL) + 60)
    answer(limiter, quota(9, reset_in=120))  # the next window
    answer(limiter, quota(0, reset_in=60))  # the old window, arriving last: ignored
    assert limiter.quota() == RateLimit("core", 10, 9, 1, int(WALL) + 120)


def test_quotas_are_kept_per_resource() -> None:
    limiter = RateLimiter()
    admit(limiter, resource="search")
    answer(limiter, quota(0, extra={"X-RateLimit-Resource": "search"}), resource="search")
    admit(limiter)
    answer(limiter, quota(9))
    assert admit(limiter) is Step.GO
    assert admit(limiter, resource="search") is Step.SLEEP
    assert admit(limiter, resource=None) is Step.WAIT  # someone is sleeping: everyone waits


def test_raise_mode_and_the_cap_refuse_instead_of_sleeping() -> None:
    for limiter, why in (
        (RateLimiter(wait=False), "on_rate_limit='raise'"),
        (RateLimiter(max_wait=30), "over max_rate_limit_wait=30s"),
    ):
        admit(limiter)
        answer(limiter, quota(0))
        admission = limiter.admit("core", 0.0, WALL)
        assert admission.step is Step.REFUSE
        assert isinstance(admission.error, RateLimitExceeded)
        assert why in str(admission.error)
        assert (admission.error.retry_after, admission.error.reset_at) == (61.0, WALL + 61)
        assert admission.error.response is None
        assert admit(limiter) is Step.REFUSE  # nobody was left sleeping


SECONDARY = b'{"message": "You have exceeded a secondary rate limit."}'


def test_a_secondary_limit_holds_every_request_60s_then_doubles() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(9))
    waits = []
    mono = 0.0
    for _ in range(3):
        assert admit(limiter, mono) is Step.GO
        answer(limiter, quota(9), status=403, body=SECONDARY, mono=mono)
        admission = limiter.admit(None, mono, WALL + mono)  # even /rate_limit is held
        assert admission.step is Step.SLEEP
        assert admission.event is not None
        assert admission.event.kind == "secondary"
        assert admission.event.resource == "*"
        waits.append(admission.event.seconds)
        limiter.woke()
        mono += admission.event.seconds
    assert waits == [60.0, 120.0, 240.0]
    assert admit(limiter, mono) is Step.GO
    answer(limiter, quota(8), mono=mono)  # a success ends the backoff
    assert limiter.strikes == 0
    assert limiter.next_secondary_wait() == 60.0


def test_retry_after_sets_the_hold() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(9, extra={"Retry-After": "7"}), status=429)
    admission = limiter.admit("core", 0.0, WALL)
    assert admission.event is not None
    assert admission.event.seconds == 7.0
    assert "429 with Retry-After: 7" in admission.event.reason


def test_a_plain_403_is_no_limit() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(9), status=403, body=b'{"message": "Must have admin rights"}')
    assert admit(limiter) is Step.GO


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="secondary_factor"):
        RateLimiter(secondary_factor=0.5)


def test_a_wait_slept_in_full_is_not_waited_again_on_a_clock_that_did_not_move() -> None:
    limiter = RateLimiter()
    admit(limiter)
    answer(limiter, quota(9, extra={"Retry-After": "5"}), status=429)
    assert admit(limiter) is Step.SLEEP
    limiter.woke(slept=False)  # interrupted: the hold still stands
    assert admit(limiter) is Step.SLEEP
    limiter.woke()  # slept in full: time counts as passed, whatever the clock says
    assert admit(limiter) is Step.GO
