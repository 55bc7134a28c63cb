"""@retry against simulated and real (loopback) network failures, sync and async."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid

import pytest
from tests.origin import Origin

import restwell
from restwell import Jitter, RetryPolicy
from restwell._models import Request, RetryRecord
from restwell.testing import FakeClock, set_testing


class Flaky:
    """Raises the given exceptions in turn, then returns ``"ok"``."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_sync_retries_connection_and_timeout_errors_with_exact_schedule(
    no_sleep: list[float],
) -> None:
    flaky = Flaky(ConnectionResetError("reset"), TimeoutError("slow"))
    wrapped = restwell.retry(max_attempts=3, backoff_factor=2, jitter=Jitter.NONE)(flaky)
    assert wrapped() == "ok"
    assert flaky.calls == 3
    assert no_sleep == [2.0, 4.0]


def test_full_jitter_schedule_uses_the_given_random_source(no_sleep: list[float]) -> None:
    flaky = Flaky(ConnectionError(), ConnectionError(), ConnectionError())
    draws = iter([0.5, 0.25, 0.1])
    wrapped = restwell.retry(max_attempts=4, backoff_factor=1, random=lambda: next(draws))(flaky)
    assert wrapped() == "ok"
    # Full jitter: uniform(0, 1 * 2**(n-1)) with draws 0.5, 0.25, 0.1.
    assert no_sleep == [0.5, 0.5, 0.4]


def test_gives_up_after_max_attempts_with_the_last_error(no_sleep: list[float]) -> None:
    flaky = Flaky(ConnectionError("one"), ConnectionError("two"), ConnectionError("three"))
    wrapped = restwell.retry(max_attempts=2, backoff_factor=0.1)(flaky)
    with pytest.raises(ConnectionError, match="two"):
        wrapped()
    assert flaky.calls == 2
    assert len(no_sleep) == 1


def test_non_retryable_exception_propagates_at_once(no_sleep: list[float]) -> None:
    flaky = Flaky(ValueError("bad input"))
    wrapped = restwell.retry(max_attempts=5)(flaky)
    with pytest.raises(ValueError, match="bad input"):
        wrapped()
    assert flaky.calls == 1
    assert no_sleep == []


def test_retry_if_narrows_the_retryable_exceptions(no_sleep: list[float]) -> None:
    flaky = Flaky(ConnectionError("fatal"), ConnectionError("transient"))
    wrapped = restwell.retry(max_attempts=5, retry_if=lambda e: "transient" in str(e))(flaky)
    with pytest.raises(ConnectionError, match="fatal"):
        wrapped()
    assert flaky.calls == 1


def test_deadline_stops_before_a_wait_that_would_pass_it() -> None:
    clock = FakeClock()
    set_testing(True, clock=clock)
    try:
        flaky = Flaky(*(ConnectionError(str(i)) for i in range(10)))
        wrapped = restwell.retry(
            max_attempts=10, backoff_factor=1, jitter=Jitter.NONE, deadline=5.0, clock=clock
        )(flaky)
        with pytest.raises(ConnectionError, match="2"):
            wrapped()
        # Waits 1 + 2 = 3 s; the next (4 s) would end at 7 s, past the 5 s deadline.
        assert flaky.calls == 3
        assert clock.monotonic() == 3.0
    finally:
        set_testing(False)


def test_on_retry_hook_and_log_records(
    no_sleep: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, RetryRecord]] = []

    def hook(request: Request, record: RetryRecord) -> None:
        seen.append((request.url, record))

    @restwell.retry(max_attempts=3, backoff_factor=1, jitter=Jitter.NONE, on_retry=hook)
    def fetch() -> str:
        if len(seen) < 2:
            raise TimeoutError("slow")
        return "done"

    with caplog.at_level(logging.INFO, logger="restwell"):
        assert fetch() == "done"
    assert [record.attempt for _, record in seen] == [1, 2]
    assert seen[0][0].endswith("fetch")
    assert seen[0][1].outcome == "TimeoutError"
    records = [r for r in caplog.records if r.name == "restwell"]
    assert [getattr(r, "restwell_attempt", None) for r in records] == [1, 2]
    assert [getattr(r, "restwell_delay", None) for r in records] == [1.0, 2.0]


def test_a_full_policy_can_be_passed(no_sleep: list[float]) -> None:
    flaky = Flaky(ConnectionError(), ConnectionError())
    policy = RetryPolicy(max_attempts=3, backoff=restwell.Backoff(base=3, jitter=Jitter.NONE))
    assert restwell.retry(policy=policy)(flaky)() == "ok"
    assert no_sleep == [3.0, 6.0]


def test_async_function_is_retried_and_stays_a_coroutine(no_sleep: list[float]) -> None:
    calls = 0

    @restwell.retry(max_attempts=3, backoff_factor=1, jitter=Jitter.NONE)
    async def fetch(n: int) -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls < 3:
            raise ConnectionRefusedError("refused")
        return n * 2

    assert asyncio.iscoroutinefunction(fetch)
    assert asyncio.run(fetch(21)) == 42
    assert calls == 3
    assert no_sleep == [1.0, 2.0]


def test_async_real_waits_are_awaited_not_blocking() -> None:
    calls = 0

    @restwell.retry(max_attempts=2, backoff_factor=0.05, jitter=Jitter.NONE)
    async def fetch() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TimeoutError
        return "ok"

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        task = asyncio.create_task(ticker())
        assert await fetch() == "ok"
        task.cancel()
        return ticks

    # The event loop kept running other tasks while @retry waited 50 ms.
    assert asyncio.run(main()) >= 3


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_real_connection_refused_on_loopback_is_retried(no_sleep: list[float]) -> None:
    port = _closed_port()
    attempts = 0

    @restwell.retry(max_attempts=3, backoff_factor=0.01)
    def connect() -> None:
        nonlocal attempts
        attempts += 1
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass

    with pytest.raises(ConnectionRefusedError):
        connect()
    assert attempts == 3


def test_restwell_transport_errors_are_builtin_connection_errors(
    origin: Origin, no_sleep: list[float]
) -> None:
    key = uuid.uuid4().hex
    client = restwell.Client(origin.url, retry=None)

    @restwell.retry(max_attempts=3, backoff_factor=0.01)
    def fetch() -> object:
        return client.get_json(f"/drop/{key}?times=2")

    try:
        assert fetch() == {"attempts": 3}
    finally:
        client.close()
    assert origin.hits(key) == 3
