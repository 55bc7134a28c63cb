"""Integrations shared by many threads or tasks at once."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
import requests

from restwell.integrations.httpx import AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import RetryAdapter
from tests.integrations.support import THREE
from tests.origin import Origin


def test_threads_sending_the_first_requests_at_once_share_one_default_transport(
    origin: Origin, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[httpx2.HTTPTransport] = []

    class SlowToMake(httpx2.HTTPTransport):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            time.sleep(0.05)  # widens the window in which another thread could make one too
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(httpx2, "HTTPTransport", SlowToMake)
    start = threading.Barrier(8)
    with httpx2.Client(transport=RetryTransport(retry=THREE)) as client:

        def fetch(i: int) -> int:
            start.wait()
            return client.get(f"{origin.url}/echo/{key}?i={i}").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(fetch, range(8)))

    assert statuses == [200] * 8
    assert len(made) == 1  # not one per thread, each with its own (leaked) pool
    assert origin.hits(key) == 8


def test_one_adapter_serves_many_threads_with_one_budget(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    adapter = RetryAdapter(retry=THREE, breaker=False)
    with requests.Session() as session:
        session.mount("http://", adapter)

        def fetch(i: int) -> tuple[int, int]:
            response = session.get(f"{origin.url}/flaky/{key}-{i}?fail=1")
            return response.status_code, response.restwell["attempts"]  # type: ignore[attr-defined]

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(fetch, range(40)))

    assert outcomes == [(200, 2)] * 40
    assert [origin.hits(f"{key}-{i}") for i in range(40)] == [2] * 40
    budget = adapter.flow_config.budget
    assert budget is not None
    # Every thread's failure (-1 token) and success (+0.2) went to the one shared budget.
    assert budget.tokens == pytest.approx(budget.max_tokens - 40 + 40 * budget.token_ratio)


def test_one_async_transport_serves_many_tasks(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> list[tuple[int, int]]:
        transport = AsyncRetryTransport(retry=THREE, breaker=False)
        async with httpx2.AsyncClient(transport=transport) as client:

            async def fetch(i: int) -> tuple[int, int]:
                response = await client.get(f"{origin.url}/flaky/{key}-{i}?fail=1")
                return response.status_code, response.extensions["restwell"]["attempts"]

            return list(await asyncio.gather(*(fetch(i) for i in range(40))))

    assert asyncio.run(main()) == [(200, 2)] * 40
    assert [origin.hits(f"{key}-{i}") for i in range(40)] == [2] * 40
