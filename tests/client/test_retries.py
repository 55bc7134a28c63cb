"""Retries against a real misbehaving origin: statuses, dropped connections, timeouts, deadlines,
idempotency, refused connections, and what retries report (records, logs, hooks)."""

from __future__ import annotations

import logging
import time

import pytest

import restwell
from restwell import RetryPolicy, RetryRecord
from restwell.errors import (
    ConnectError,
    ConnectionDropped,
    ReadTimeout,
    ServerError,
    ServiceUnavailable,
    TimeoutException,
)
from tests.client.support import extra, fast, half
from tests.drivers import DriverFactory
from tests.origin import Origin

# -- 5xx: fail N times, then succeed ---------------------------------------------------------


@pytest.mark.parametrize("failures", [1, 3])
def test_503_n_times_then_success_takes_n_plus_one_attempts(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float], failures: int
) -> None:
    client = make_client(random=half)
    response = client.request("GET", f"/flaky/{key}?fail={failures}")

    assert response.status_code == 200
    assert response.json() == {"attempts": failures + 1}
    assert response.attempts == failures + 1
    assert origin.hits(key) == failures + 1
    assert [r.attempt for r in response.retries] == list(range(1, failures + 1))
    assert [r.outcome for r in response.retries] == ["503"] * failures
    # Full jitter drawing 0.5 from the default 0.5 s x 2**n schedule: half of each ceiling.
    expected = [0.25, 0.5, 1.0][:failures]
    assert [r.decision.delay for r in response.retries] == expected
    assert no_sleep == expected
    for number, record in enumerate(response.retries, start=1):
        assert record.decision.retry
        assert record.decision.reason.startswith("503 Service Unavailable; backoff")
        assert f"before attempt {number + 1} of 4" in record.decision.reason


@pytest.mark.parametrize("failures", [3, 10])
def test_503_at_least_max_attempts_returns_the_last_503(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float], failures: int
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3))
    response = client.request("GET", f"/flaky/{key}?fail={failures}")

    assert response.status_code == 503
    assert response.attempts == 3
    assert response.stop_reason == "503 Service Unavailable; attempts exhausted (3 of 3)"
    assert origin.hits(key) == 3
    assert [r.outcome for r in response.retries] == ["503", "503"]
    assert len(no_sleep) == 2
    with pytest.raises(ServiceUnavailable) as info:
        response.raise_for_status()
    assert isinstance(info.value, ServerError)
    assert info.value.response is response
    assert info.value.status_code == 503
    assert str(info.value).startswith(f"503 Service Unavailable for GET {origin.url}/flaky/")


def test_request_json_raises_the_final_status_error_after_retries(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ServiceUnavailable) as info:
        client.request_json("GET", f"/flaky/{key}?fail=5")
    assert info.value.response.attempts == 2
    assert origin.hits(key) == 2


def test_retry_argument_per_call_overrides_the_client_policy(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request("GET", f"/flaky/{key}?fail=2", retry=None)
    assert (response.status_code, response.attempts, origin.hits(key)) == (503, 1, 1)
    response = client.request("GET", f"/flaky/{key}?fail=2", retry=2)
    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 2, 3)


# -- dropped connections ---------------------------------------------------------------------


def test_dropped_connection_get_is_retried_and_succeeds(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client(random=half)
    response = client.request("GET", f"/drop/{key}?times=2")

    assert response.status_code == 200
    assert response.json() == {"attempts": 3}
    assert response.attempts == 3
    assert origin.hits(key) == 3
    assert [r.outcome for r in response.retries] == ["reset", "reset"]
    assert response.retries[0].decision.reason.startswith("reset error; backoff")
    assert no_sleep == [0.25, 0.5]


def test_dropped_connection_post_without_key_is_not_retried(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    with pytest.raises(ConnectionDropped) as info:
        client.request("POST", f"/create/{key}?drop=1", json={"name": "widget"})

    assert isinstance(info.value, ConnectionError)
    assert origin.hits(key) == 1
    assert info.value.attempts == 1
    assert info.value.retries == []
    assert info.value.stop_reason == (
        "reset error; POST without Idempotency-Key may have been received, not retried"
    )
    assert no_sleep == []
    assert f"for POST {origin.url}/create/{key}?drop=1" in str(info.value)
    assert info.value.__cause__ is not None  # the backend's own exception is kept


def test_dropped_connection_post_with_key_is_retried_with_the_same_key(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request(
        "POST", f"/create/{key}?drop=1", json={"name": "widget"}, idempotency_key=True
    )
    assert response.status_code == 201
    assert response.attempts == 2
    seen = origin.seen(key)
    assert len(seen) == 2
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"] != ""
    assert seen[0].body == seen[1].body == b'{"name":"widget"}'


# -- slow server: timeouts and deadlines -----------------------------------------------------


def test_slow_server_raises_read_timeout(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    client = make_client(retry=None, timeout=(2, 0.2))
    started = time.monotonic()
    with pytest.raises(ReadTimeout) as info:
        client.request("GET", f"/slow/{key}?delay=1")
    took = time.monotonic() - started

    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, TimeoutException)
    assert origin.hits(key) == 1
    assert info.value.attempts == 1
    assert took >= 0.15  # (the server answers at 1 s: the error itself shows the limit held)


def test_read_timeout_get_is_retried_once_per_server_hit(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    client = make_client(retry=fast(3), timeout=(2, 0.15))
    with pytest.raises(ReadTimeout) as info:
        client.request("GET", f"/slow/{key}?delay=1")

    assert info.value.attempts == 3
    assert origin.hits(key) == 3
    assert [r.outcome for r in info.value.retries] == ["read_timeout", "read_timeout"]
    assert [r.decision.delay for r in info.value.retries] == [0.01, 0.01]


@pytest.mark.needs("deadline_timeout")
@pytest.mark.real_wait
def test_deadline_shrinks_the_read_timeout_of_the_only_attempt(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    # Read timeout 30 s (the default), deadline 0.4 s: the attempt gets 0.4 s, not 30 (the
    # server answers at 3 s, so without the deadline this would succeed).
    client = make_client(retry=fast(10, deadline=0.4))
    started = time.monotonic()
    with pytest.raises(ReadTimeout) as info:
        client.request("GET", f"/slow/{key}?delay=3")
    took = time.monotonic() - started

    assert 0.35 <= took < 2.5
    assert info.value.attempts == 1
    assert origin.hits(key) == 1


@pytest.mark.needs("deadline_timeout")
@pytest.mark.real_wait
def test_deadline_bounds_the_total_time_of_several_attempts(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    # Attempt 1 times out at 1.5 s. Attempt 2 gets the 0.5 s left, not 1.5 s: it times out
    # too, although the server answers it at 1 s (in time for an unshrunk 1.5 s timeout).
    client = make_client(retry=fast(3, deadline=2.0), timeout=(2, 1.5))
    started = time.monotonic()
    with pytest.raises(ReadTimeout) as info:
        client.request("GET", f"/slow/{key}?delays=5,1")
    took = time.monotonic() - started

    assert info.value.attempts == 2
    assert origin.hits(key) == 2
    assert took >= 1.95


# -- idempotency -----------------------------------------------------------------------------


def test_post_without_key_is_not_retried_on_503(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request("POST", f"/create/{key}?fail=1", json={"name": "widget"})

    assert response.status_code == 503
    assert response.attempts == 1
    assert response.retries == []
    assert response.stop_reason == (
        "503 Service Unavailable, but POST without Idempotency-Key is not retried"
    )
    assert origin.hits(key) == 1
    assert "idempotency-key" not in origin.seen(key)[0].headers
    assert no_sleep == []


def test_post_with_idempotency_key_true_is_retried_with_one_key(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request(
        "POST", f"/create/{key}?fail=2", json={"name": "widget"}, idempotency_key=True
    )

    assert response.status_code == 201
    assert response.json() == {"created": 3}
    assert response.attempts == 3
    assert [r.outcome for r in response.retries] == ["503", "503"]
    keys = [seen.headers["idempotency-key"] for seen in origin.seen(key)]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert len(keys[0]) == 36  # a UUID4
    assert response.request.headers["Idempotency-Key"] == keys[0]


def test_client_idempotency_keys_option_adds_one_key_per_post(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client(idempotency_keys=True)
    first = client.request("POST", f"/create/{key}?fail=1", json={"n": 1})
    second = client.request("POST", f"/create/{key}", json={"n": 2})
    echoed = client.request_json("GET", "/echo")

    assert (first.status_code, first.attempts) == (201, 2)
    assert (second.status_code, second.attempts) == (201, 1)
    keys = [seen.headers["idempotency-key"] for seen in origin.seen(key)]
    assert keys[0] == keys[1] != keys[2]  # one key per logical operation
    assert "idempotency-key" not in echoed["headers"]  # GET needs none


def test_patch_with_a_given_key_is_retried_and_without_is_not(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response = client.request(
        "PATCH", f"/create/{key}?fail=2", json={"op": "rename"}, idempotency_key="op-42"
    )
    assert (response.status_code, response.attempts) == (201, 3)
    seen = origin.seen(key)
    assert [s.method for s in seen] == ["PATCH"] * 3
    assert [s.headers["idempotency-key"] for s in seen] == ["op-42"] * 3

    other = key + "-nokey"
    response = client.request("PATCH", f"/create/{other}?fail=2", json={"op": "rename"})
    assert (response.status_code, response.attempts) == (503, 1)
    assert origin.hits(other) == 1


def test_put_and_delete_are_retried_without_a_key(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    put = client.request("PUT", f"/create/{key}-put?fail=1", json={"n": 1})
    delete = client.request("DELETE", f"/create/{key}-delete?fail=2")
    assert (put.status_code, put.attempts, origin.hits(f"{key}-put")) == (201, 2, 2)
    assert (delete.status_code, delete.attempts, origin.hits(f"{key}-delete")) == (201, 3, 3)


def test_connect_refused_post_is_retried_because_it_was_never_sent(
    make_client: DriverFactory, dead_url: str
) -> None:
    client = make_client(base_url=dead_url, retry=fast(3))
    with pytest.raises(ConnectError) as info:
        client.request("POST", "/create/x", json={"name": "widget"})

    assert isinstance(info.value, ConnectionError)
    assert info.value.attempts == 3
    assert [r.outcome for r in info.value.retries] == ["connect", "connect"]
    assert all(r.decision.delay == 0.01 for r in info.value.retries)
    assert str(info.value).startswith("cannot connect")
    assert str(info.value).endswith(f"for POST {dead_url}/create/x")


# -- what retries report: logs and hooks -----------------------------------------------------


def test_each_retry_logs_an_info_record_with_structured_extras(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="restwell")
    client = make_client(random=half)
    response = client.request("GET", f"/flaky/{key}?fail=2&token=s3cr3t-query")
    assert response.status_code == 200

    records = [r for r in caplog.records if r.name == "restwell"]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert [extra(r, "restwell_attempt") for r in records] == [1, 2]
    assert [extra(r, "restwell_delay") for r in records] == [0.25, 0.5]
    assert [extra(r, "restwell_method") for r in records] == ["GET", "GET"]
    url = f"{origin.url}/flaky/{key}?fail=2&token=[redacted]"
    assert [extra(r, "restwell_url") for r in records] == [url, url]
    reasons = [extra(r, "restwell_reason") for r in records]
    assert reasons == [r.decision.reason for r in response.retries]
    assert all(reason.startswith("503 Service Unavailable") for reason in reasons)
    assert records[0].getMessage() == f"retrying GET {url}: {reasons[0]}"


def test_giving_up_after_retries_logs_a_warning(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    no_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="restwell")
    client = make_client(retry=RetryPolicy(max_attempts=2))
    client.request("GET", f"/flaky/{key}?fail=9")

    records = [r for r in caplog.records if r.name == "restwell"]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING]
    assert extra(records[1], "restwell_attempt") == 2
    assert extra(records[1], "restwell_reason") == (
        "503 Service Unavailable; attempts exhausted (2 of 2)"
    )


def test_on_retry_hooks_get_the_request_and_each_record(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    first: list[tuple[restwell.Request, RetryRecord]] = []
    second: list[int] = []

    def hook(request: restwell.Request, record: RetryRecord) -> None:
        first.append((request, record))

    client = make_client(on_retry=[hook, lambda request, record: second.append(record.attempt)])
    response = client.request("GET", f"/flaky/{key}?fail=2")

    assert [record for _, record in first] == response.retries
    assert [record.attempt for _, record in first] == [1, 2]
    assert second == [1, 2]
    assert first[0][0] is first[1][0]  # one request, retried
    assert first[0][0].method == "GET"
    assert first[0][0].url == f"{origin.url}/flaky/{key}?fail=2"
    if "client" in client.capabilities:
        # (An integration's hooks get its own view of the library's request.)
        assert first[0][0] is response.request


def test_a_single_callable_is_accepted_as_on_retry(
    make_client: DriverFactory, key: str, no_sleep: list[float]
) -> None:
    outcomes: list[str] = []
    client = make_client(on_retry=lambda request, record: outcomes.append(record.outcome))
    client.request("GET", f"/drop/{key}?times=1")
    assert outcomes == ["reset"]
