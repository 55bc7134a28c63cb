"""Rate limits: ``Retry-After`` on 429, quota headers on 403, ``max_wait``, and the gate that
holds the next request while a quota is known to be spent."""

from __future__ import annotations

import logging
import time

import pytest

from restwell import RateLimitExceeded, RetryPolicy
from restwell.errors import Forbidden, TooManyRequests
from restwell.testing import FakeClock
from tests.client.support import extra
from tests.drivers import DriverFactory
from tests.origin import Origin

# -- 429 + Retry-After -----------------------------------------------------------------------


def test_429_is_retried_after_the_seconds_retry_after_asks(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock)
    response = client.request("GET", f"/ratelimit/{key}?times=2&retry_after=7")

    assert response.status_code == 200
    assert response.attempts == 3
    assert origin.hits(key) == 3
    assert no_sleep == [7.0, 7.0]
    assert [r.outcome for r in response.retries] == ["429", "429"]
    assert response.retries[0].decision.reason == (
        "429 Too Many Requests; server asked for 7s before attempt 2 of 4"
    )


def test_429_is_retried_after_an_http_date_retry_after(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock)
    response = client.request("GET", f"/ratelimit/{key}?times=1&retry_after_date=3")
    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 2, 2)
    assert no_sleep == [3.0]


@pytest.mark.real_wait
def test_429_retry_after_is_really_waited_once(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    # No testing mode: the real wait happens, once (the gate does not add a second one).
    client = make_client()
    started = time.monotonic()
    response = client.request("GET", f"/ratelimit/{key}?times=1&retry_after=1")
    took = time.monotonic() - started
    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 2, 2)
    assert took >= 1.0


def test_retry_after_over_max_wait_raises_rate_limit_exceeded(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock, retry=RetryPolicy(max_wait=5))
    with pytest.raises(RateLimitExceeded) as info:
        client.request("GET", f"/ratelimit/{key}?times=1&retry_after=120")

    assert info.value.retry_after == 120.0
    assert info.value.reset_at == fake_clock.time() + 120.0
    assert info.value.response is not None
    assert info.value.response.status_code == 429
    assert "server asked to wait 120s, over max_wait 5s" in str(info.value)
    assert origin.hits(key) == 1
    assert no_sleep == []

    # The origin is now known to refuse for 120 s: the next request is refused here, unsent.
    with pytest.raises(RateLimitExceeded) as again:
        client.request("GET", f"/flaky/{key}-next?fail=0")
    assert again.value.retry_after == 120.0
    assert origin.hits(f"{key}-next") == 0


def test_retry_after_over_max_wait_is_capped_when_asked(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock, retry=RetryPolicy(max_wait=2, on_long_wait="cap"))
    response = client.request("GET", f"/ratelimit/{key}?times=1&retry_after=120")

    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 2, 2)
    assert no_sleep == [2.0]  # capped, and waited once
    assert response.retries[0].decision.reason == (
        "429 Too Many Requests; server wait 120s capped to 2s before attempt 2 of 4"
    )


def test_server_wait_that_would_pass_the_deadline_is_not_taken(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    # Deadline 10 s, 4 s asked each time: waits at 0 s and 4 s; at 8 s only 2 s are left,
    # so the third 429 is returned rather than waited out.
    client = make_client(clock=fake_clock, retry=RetryPolicy(deadline=10))
    response = client.request("GET", f"/ratelimit/{key}?times=5&retry_after=4")
    assert (response.status_code, response.attempts, origin.hits(key)) == (429, 3, 3)
    assert no_sleep == [4.0, 4.0]
    assert [r.attempt for r in response.retries] == [1, 2]


def test_429_without_retries_raises_too_many_requests(
    make_client: DriverFactory, key: str, no_sleep: list[float]
) -> None:
    client = make_client(retry=None)
    response = client.request("GET", f"/ratelimit/{key}?times=1&retry_after=1")
    assert response.status_code == 429
    with pytest.raises(TooManyRequests):
        response.raise_for_status()


# -- 403: quota spent vs. forbidden ----------------------------------------------------------


def test_403_with_spent_quota_waits_until_reset_and_succeeds(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock)
    response = client.request("GET", f"/quota/{key}?times=1&reset_in=4")

    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 2, 2)
    assert no_sleep == [4.0]
    assert response.retries[0].outcome == "403"
    assert response.retries[0].decision.reason.startswith("403 Forbidden; server asked for 4s")


def test_plain_403_is_not_retried(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request("GET", f"/flaky/{key}?fail=1&status=403")

    assert (response.status_code, response.attempts, origin.hits(key)) == (403, 1, 1)
    assert response.retries == []
    assert no_sleep == []
    with pytest.raises(Forbidden):
        response.raise_for_status()


# -- the gate: the next request waits for a spent quota --------------------------------------


def test_spent_quota_holds_the_next_request_until_reset(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="restwell")
    client = make_client(clock=fake_clock)
    first = client.request("GET", f"/spent/{key}?reset_in=3")
    assert (first.status_code, first.attempts) == (200, 1)
    assert no_sleep == []  # a 200 is not retried: only the *next* request waits

    second = client.request("GET", f"/flaky/{key}-next?fail=0")
    assert (second.status_code, second.attempts, second.retries) == (200, 1, [])
    assert origin.hits(f"{key}-next") == 1
    assert no_sleep == [3.0]
    waits = [r for r in caplog.records if r.name == "restwell"]
    assert [r.getMessage() for r in waits] == [f"waiting 3s for the rate limit of {origin.url}"]
    assert extra(waits[0], "restwell_delay") == 3.0
    assert extra(waits[0], "restwell_url") == f"{origin.url}/flaky/{key}-next?fail=0"

    third = client.request("GET", "/ok")  # the reset has passed (on the fake clock)
    assert third.status_code == 200
    assert no_sleep == [3.0]


def test_spent_quota_resetting_after_max_wait_refuses_unsent(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock)  # default max_wait: 60 s
    client.request("GET", f"/spent/{key}?reset_in=600")
    with pytest.raises(RateLimitExceeded) as info:
        client.request("GET", f"/flaky/{key}-next?fail=0")
    assert info.value.retry_after == 600.0
    assert origin.hits(f"{key}-next") == 0
    assert no_sleep == []


def test_the_gate_can_be_turned_off(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    fake_clock: FakeClock,
) -> None:
    client = make_client(clock=fake_clock, rate_limit=False)
    client.request("GET", f"/spent/{key}?reset_in=600")
    response = client.request("GET", f"/flaky/{key}-next?fail=0")
    assert response.status_code == 200
    assert no_sleep == []
