"""RetryPolicy decisions: statuses, methods, transport errors, server waits, limits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from restwell.policy import (
    IDEMPOTENT_METHODS,
    Action,
    Backoff,
    ErrorKind,
    Jitter,
    RetryDecision,
    RetryPolicy,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
DATE_NOW = "Tue, 14 Nov 2023 22:13:20 GMT"
DATE_PLUS_20 = "Tue, 14 Nov 2023 22:13:40 GMT"
DATE_PLUS_30 = "Tue, 14 Nov 2023 22:13:50 GMT"
DATE_PLUS_50 = "Tue, 14 Nov 2023 22:14:10 GMT"
DATE_MINUS_1000 = "Tue, 14 Nov 2023 21:56:40 GMT"

FIXED = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.NONE)


class Scripted:
    """A random source that returns a fixed sequence and fails if asked for more."""

    def __init__(self, values: Sequence[float]) -> None:
        self._values = list(values)
        self.calls = 0

    def __call__(self) -> float:
        if self.calls >= len(self._values):
            raise AssertionError("random source called more often than scripted")
        value = self._values[self.calls]
        self.calls += 1
        return value


def no_random() -> float:
    raise AssertionError("this decision must not consult the random source")


def half() -> float:
    return 0.5


def decide(
    policy: RetryPolicy,
    status: int,
    headers: Mapping[str, str] | None = None,
    *,
    attempt: int = 1,
    method: str = "GET",
    key: bool = False,
    now: float = NOW,
    elapsed: float = 0.0,
    random: Scripted | None = None,
    previous: float = 0.0,
) -> RetryDecision:
    return policy.decide_status(
        attempt=attempt,
        method=method,
        has_idempotency_key=key,
        status=status,
        headers=dict(headers or {}),
        now=now,
        elapsed=elapsed,
        random=random if random is not None else no_random,
        previous_delay=previous,
    )


def error(
    policy: RetryPolicy,
    kind: ErrorKind,
    *,
    attempt: int = 1,
    method: str = "GET",
    key: bool = False,
    elapsed: float = 0.0,
) -> RetryDecision:
    return policy.decide_error(
        attempt=attempt,
        method=method,
        has_idempotency_key=key,
        kind=kind,
        elapsed=elapsed,
        random=half,
    )


# ----------------------------------------------------------------------------- statuses


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_retry_with_backoff(status: int) -> None:
    decision = decide(RetryPolicy(backoff=FIXED), status)
    assert decision.action is Action.RETRY
    assert decision.retry is True
    assert decision.delay == 0.5
    assert str(status) in decision.reason
    assert "backoff" in decision.reason
    assert "before attempt 2 of 4" in decision.reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (200, "200 OK is final"),
        (201, "201 Created is final"),
        (304, "304 Not Modified is final"),
        (400, "400 Bad Request is final"),
        (401, "401 Unauthorized is final"),
        (403, "403 Forbidden is final"),
        (404, "404 Not Found is final"),
        (409, "409 Conflict is final"),
        (501, "501 Not Implemented is final"),
        (505, "505 HTTP Version Not Supported is final"),
        (599, "599 is final"),
    ],
)
def test_final_statuses_return(status: int, reason: str) -> None:
    decision = decide(RetryPolicy(), status)
    assert decision == RetryDecision(Action.RETURN, 0.0, reason)
    assert decision.retry is False


def test_retry_statuses_are_configurable() -> None:
    policy = RetryPolicy(backoff=FIXED, retry_statuses=frozenset({404}))
    assert decide(policy, 404).action is Action.RETRY
    assert decide(policy, 503).action is Action.RETURN


def test_plain_403_is_final() -> None:
    decision = decide(RetryPolicy(), 403, {"x-ratelimit-remaining": "17"})
    assert decision == RetryDecision(Action.RETURN, 0.0, "403 Forbidden is final")


def test_rate_limited_403_waits_until_reset() -> None:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 42),
    }
    decision = decide(RetryPolicy(), 403, headers)
    assert decision.action is Action.RETRY
    assert decision.delay == 42.0
    assert "403 Forbidden" in decision.reason
    assert "server asked for 42s" in decision.reason


def test_rate_limited_403_reset_is_measured_against_response_date() -> None:
    # The client clock is 20 s behind the server: the reset is 22 s away for the server.
    headers = {
        "date": DATE_PLUS_20,
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 42),
    }
    assert decide(RetryPolicy(), 403, headers).delay == 22.0


def test_rate_limited_403_without_reset_falls_back_to_backoff() -> None:
    decision = decide(RetryPolicy(backoff=FIXED), 403, {"x-ratelimit-remaining": "0"})
    assert decision.action is Action.RETRY
    assert decision.delay == 0.5
    assert "backoff" in decision.reason


def test_403_with_retry_after_is_a_rate_limit() -> None:
    decision = decide(RetryPolicy(), 403, {"retry-after": "7"})
    assert (decision.action, decision.delay) == (Action.RETRY, 7.0)


def test_429_with_ietf_ratelimit_waits_for_reset() -> None:
    headers = {"ratelimit": '"default";r=0;t=12', "ratelimit-policy": '"default";q=100;w=60'}
    decision = decide(RetryPolicy(), 429, headers)
    assert (decision.action, decision.delay) == (Action.RETRY, 12.0)


# ------------------------------------------------------------------------------ methods


@pytest.mark.parametrize("method", sorted(IDEMPOTENT_METHODS))
def test_idempotent_methods_are_retried(method: str) -> None:
    decision = decide(RetryPolicy(backoff=FIXED), 503, method=method)
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)


def test_idempotent_methods_set() -> None:
    assert frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) == IDEMPOTENT_METHODS


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unsafe_methods_without_key_are_not_retried(method: str) -> None:
    decision = decide(RetryPolicy(), 503, method=method)
    assert decision == RetryDecision(
        Action.RETURN,
        0.0,
        f"503 Service Unavailable, but {method} without Idempotency-Key is not retried",
    )


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unsafe_methods_with_key_are_retried(method: str) -> None:
    decision = decide(RetryPolicy(backoff=FIXED), 503, method=method, key=True)
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)


def test_final_status_is_final_whatever_the_method() -> None:
    assert decide(RetryPolicy(), 404, method="POST").reason == "404 Not Found is final"


def test_reason_names_custom_idempotency_header() -> None:
    policy = RetryPolicy(idempotency_header="X-Request-Id")
    assert "POST without X-Request-Id" in decide(policy, 502, method="POST").reason


def test_may_repeat() -> None:
    policy = RetryPolicy()
    assert policy.may_repeat("GET", False)
    assert policy.may_repeat("PUT", False)
    assert not policy.may_repeat("POST", False)
    assert policy.may_repeat("POST", True)
    assert not policy.may_repeat("get", False)  # methods are upper case by contract


# ------------------------------------------------------------------------ transport errors


@pytest.mark.parametrize(
    "kind", [ErrorKind.CONNECT, ErrorKind.CONNECT_TIMEOUT, ErrorKind.POOL_TIMEOUT]
)
def test_unsent_errors_are_retried_for_post(kind: ErrorKind) -> None:
    assert kind.unsent
    decision = error(RetryPolicy(backoff=FIXED), kind, method="POST")
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)
    assert f"{kind.value} error" in decision.reason


@pytest.mark.parametrize("kind", [ErrorKind.READ_TIMEOUT, ErrorKind.WRITE_TIMEOUT, ErrorKind.RESET])
def test_maybe_sent_errors_are_not_retried_for_post_without_key(kind: ErrorKind) -> None:
    assert not kind.unsent
    decision = error(RetryPolicy(), kind, method="POST")
    assert decision == RetryDecision(
        Action.RETURN,
        0.0,
        f"{kind.value} error; POST without Idempotency-Key may have been received, not retried",
    )


def test_read_timeout_is_retried_for_post_with_key_and_for_get() -> None:
    policy = RetryPolicy(backoff=FIXED)
    assert error(policy, ErrorKind.READ_TIMEOUT, method="POST", key=True).action is Action.RETRY
    assert error(policy, ErrorKind.READ_TIMEOUT, method="GET").action is Action.RETRY


@pytest.mark.parametrize("kind", [ErrorKind.PROTOCOL, ErrorKind.OTHER])
def test_non_retryable_errors(kind: ErrorKind) -> None:
    decision = error(RetryPolicy(), kind, method="GET")
    assert decision == RetryDecision(Action.RETURN, 0.0, f"{kind.value} error is not retryable")


def test_retry_unsent_false_stops_post_connect_retries() -> None:
    decision = error(RetryPolicy(retry_unsent=False), ErrorKind.CONNECT, method="POST")
    assert decision.action is Action.RETURN
    assert "may have been received" in decision.reason


def test_error_backoff_uses_the_random_source() -> None:
    policy = RetryPolicy()  # full jitter: 0.5 * 2**(n-1) * r
    decision = policy.decide_error(
        attempt=3,
        method="GET",
        has_idempotency_key=False,
        kind=ErrorKind.RESET,
        elapsed=0.0,
        random=Scripted([0.25]),
    )
    assert decision.delay == 0.5


def test_decide_exception() -> None:
    policy = RetryPolicy(backoff=FIXED, max_attempts=3)
    first = policy.decide_exception(attempt=1, elapsed=0.0, random=no_random)
    assert first == RetryDecision(
        Action.RETRY, 0.5, "retryable exception; backoff 0.5s before attempt 2 of 3"
    )
    last = policy.decide_exception(attempt=3, elapsed=1.5, random=no_random)
    assert last == RetryDecision(
        Action.RETURN, 0.0, "retryable exception; attempts exhausted (3 of 3)"
    )


# ------------------------------------------------------------------------- Retry-After


def test_retry_after_delta_seconds_wins_over_backoff() -> None:
    decision = decide(RetryPolicy(), 503, {"retry-after": "7"})
    assert decision == RetryDecision(
        Action.RETRY,
        7.0,
        "503 Service Unavailable; server asked for 7s before attempt 2 of 4",
        server_wait=True,
    )


def test_retry_after_zero() -> None:
    decision = decide(RetryPolicy(), 503, {"retry-after": "0"})
    assert (decision.action, decision.delay) == (Action.RETRY, 0.0)


def test_retry_after_http_date_without_date_header_uses_now() -> None:
    decision = decide(RetryPolicy(), 503, {"retry-after": DATE_PLUS_30})
    assert (decision.action, decision.delay) == (Action.RETRY, 30.0)


def test_retry_after_http_date_is_measured_against_response_date() -> None:
    # Server clock says +20; Retry-After is +50: the server asks for 30 s, not 50.
    decision = decide(RetryPolicy(), 503, {"retry-after": DATE_PLUS_50, "date": DATE_PLUS_20})
    assert decision.delay == 30.0


def test_retry_after_http_date_with_invalid_date_header_uses_now() -> None:
    decision = decide(RetryPolicy(), 503, {"retry-after": DATE_PLUS_50, "date": "yesterday"})
    assert decision.delay == 50.0


def test_retry_after_in_the_past_waits_zero() -> None:
    decision = decide(RetryPolicy(), 429, {"retry-after": DATE_MINUS_1000})
    assert (decision.action, decision.delay) == (Action.RETRY, 0.0)


def test_garbage_retry_after_falls_back_to_backoff() -> None:
    decision = decide(RetryPolicy(backoff=FIXED), 503, {"retry-after": "soon"})
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)


def test_retry_after_wins_over_rate_limit_reset() -> None:
    headers = {
        "retry-after": "3",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 40),
    }
    assert decide(RetryPolicy(), 429, headers).delay == 3.0


def test_respect_retry_after_false_uses_backoff() -> None:
    policy = RetryPolicy(backoff=FIXED, respect_retry_after=False)
    decision = decide(policy, 503, {"retry-after": "120"})
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)
    assert "backoff" in decision.reason


def test_respect_retry_after_false_still_retries_rate_limited_403() -> None:
    policy = RetryPolicy(backoff=FIXED, respect_retry_after=False)
    decision = decide(policy, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9"})
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)


# ------------------------------------------------------------------------------ max_wait


def test_long_wait_raises_by_default_with_asked_wait() -> None:
    decision = decide(RetryPolicy(max_wait=60.0), 503, {"retry-after": "120"})
    assert decision.action is Action.RAISE
    assert decision.retry is False
    assert decision.delay == 120.0
    assert decision.reason == (
        "503 Service Unavailable; server asked to wait 120s, over max_wait 60s"
    )


def test_long_wait_cap() -> None:
    decision = decide(RetryPolicy(max_wait=60.0, on_long_wait="cap"), 503, {"retry-after": "120"})
    assert decision == RetryDecision(
        Action.RETRY,
        60.0,
        "503 Service Unavailable; server wait 120s capped to 60s before attempt 2 of 4",
        server_wait=True,
    )


def test_wait_equal_to_max_wait_is_accepted() -> None:
    decision = decide(RetryPolicy(max_wait=60.0), 503, {"retry-after": "60"})
    assert (decision.action, decision.delay) == (Action.RETRY, 60.0)


def test_long_rate_limit_reset_raises() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)}
    decision = decide(RetryPolicy(max_wait=60.0), 403, headers)
    assert (decision.action, decision.delay) == (Action.RAISE, 3600.0)
    assert "max_wait" in decision.reason


def test_zero_max_wait_raises_on_any_positive_wait() -> None:
    decision = decide(RetryPolicy(max_wait=0.0), 429, {"retry-after": "1"})
    assert (decision.action, decision.delay) == (Action.RAISE, 1.0)
    assert decide(RetryPolicy(max_wait=0.0), 429, {"retry-after": "0"}).action is Action.RETRY


# ---------------------------------------------------------------------- attempts, deadline


def test_attempts_exhausted() -> None:
    decision = decide(RetryPolicy(max_attempts=4), 503, {"retry-after": "1"}, attempt=4)
    assert decision == RetryDecision(
        Action.RETURN, 0.0, "503 Service Unavailable; attempts exhausted (4 of 4)"
    )


def test_attempts_exhausted_before_long_wait_raise() -> None:
    decision = decide(RetryPolicy(max_attempts=2), 503, {"retry-after": "999"}, attempt=2)
    assert decision.action is Action.RETURN
    assert "attempts exhausted (2 of 2)" in decision.reason


def test_never_makes_one_attempt() -> None:
    policy = RetryPolicy.never()
    assert policy.max_attempts == 1
    decision = decide(policy, 503)
    assert decision.action is Action.RETURN
    assert "attempts exhausted (1 of 1)" in decision.reason
    assert error(policy, ErrorKind.CONNECT).action is Action.RETURN


def test_error_attempts_exhausted() -> None:
    decision = error(RetryPolicy(max_attempts=2), ErrorKind.CONNECT, attempt=2)
    assert decision == RetryDecision(
        Action.RETURN, 0.0, "connect error; attempts exhausted (2 of 2)"
    )


def test_time_left() -> None:
    assert RetryPolicy().time_left(100.0) is None
    policy = RetryPolicy(deadline=10.0)
    assert policy.time_left(3.0) == 7.0
    assert policy.time_left(12.0) == -2.0


def test_deadline_allows_a_wait_that_ends_before_it() -> None:
    decision = decide(RetryPolicy(backoff=FIXED, deadline=10.0), 503, elapsed=9.0)
    assert (decision.action, decision.delay) == (Action.RETRY, 0.5)


def test_deadline_gives_up_when_the_wait_would_pass_it() -> None:
    decision = decide(RetryPolicy(backoff=FIXED, deadline=10.0), 503, elapsed=9.5)
    assert decision == RetryDecision(
        Action.RETURN,
        0.0,
        "503 Service Unavailable; waiting 0.5s would pass the 10s deadline",
    )


def test_deadline_gives_up_on_a_long_server_wait() -> None:
    decision = decide(RetryPolicy(deadline=10.0), 503, {"retry-after": "30"}, elapsed=1.0)
    assert decision.action is Action.RETURN
    assert "30s would pass the 10s deadline" in decision.reason


def test_deadline_already_passed() -> None:
    decision = error(RetryPolicy(backoff=FIXED, deadline=5.0), ErrorKind.CONNECT, elapsed=6.0)
    assert decision.action is Action.RETURN
    assert "deadline" in decision.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"deadline": 0.0},
        {"deadline": -1.0},
        {"max_wait": -1.0},
        {"on_long_wait": "wait"},
    ],
)
def test_invalid_policy_raises(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- schedules


def run_503s(policy: RetryPolicy, random: Scripted) -> tuple[list[float], RetryDecision]:
    """Drive a sequence of 503 responses with a fake clock; return sleeps and final verdict."""
    clock = 0.0
    sleeps: list[float] = []
    previous = 0.0
    attempt = 0
    while True:
        attempt += 1
        clock += 0.125  # each attempt takes 125 ms
        decision = decide(
            policy, 503, attempt=attempt, elapsed=clock, random=random, previous=previous
        )
        if not decision.retry:
            return sleeps, decision
        sleeps.append(decision.delay)
        clock += decision.delay
        previous = decision.delay


def test_full_sleep_schedule_of_four_503s_full_jitter() -> None:
    random = Scripted([0.5, 0.25, 0.75])
    sleeps, final = run_503s(RetryPolicy(max_attempts=4), random)
    # ceilings 0.5, 1, 2 (base 0.5, x2) times the draws
    assert sleeps == [0.25, 0.25, 1.5]
    assert final == RetryDecision(
        Action.RETURN, 0.0, "503 Service Unavailable; attempts exhausted (4 of 4)"
    )
    assert random.calls == 3


def test_full_sleep_schedule_of_four_503s_decorrelated() -> None:
    backoff = Backoff(base=1.0, multiplier=2.0, cap=10.0, jitter=Jitter.DECORRELATED)
    random = Scripted([0.5, 0.5, 0.5])
    sleeps, final = run_503s(RetryPolicy(max_attempts=4, backoff=backoff), random)
    assert sleeps == [2.0, 3.5, 5.75]
    assert final.action is Action.RETURN


def test_full_sleep_schedule_cut_by_deadline() -> None:
    random = Scripted([0.5, 0.5, 0.5, 0.5, 0.5])
    backoff = Backoff(base=1.0, multiplier=2.0, cap=30.0, jitter=Jitter.EQUAL)
    sleeps, final = run_503s(RetryPolicy(max_attempts=10, backoff=backoff, deadline=8.0), random)
    # equal jitter at 0.5: 0.75, 1.5, 3.0; then 6.0 would end at 11.75 > 8
    assert sleeps == [0.75, 1.5, 3.0]
    assert final.action is Action.RETURN
    assert "6s would pass the 8s deadline" in final.reason
