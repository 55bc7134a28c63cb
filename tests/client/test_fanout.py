"""Bounded concurrent fan-out of the async client: ``gather`` and ``get_many``."""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

import restwell
from restwell import Result
from restwell.errors import ConnectError, NotFound
from tests.drivers import AsyncDriverFactory
from tests.origin import Origin

pytestmark = pytest.mark.needs("gather")


def test_gather_returns_results_in_input_order_with_per_item_errors(
    make_async_client: AsyncDriverFactory,
) -> None:
    driver = make_async_client(retry=None)
    # Finishing order differs from input order (the first is the slowest).
    urls = ["/slow?delay=0.2", "/status/404", "/ok", "/status/404", "/slow?delay=0.05"]

    async def fan_out(client: restwell.AsyncClient) -> list[Result[Any]]:
        return await client.gather([client.get_json(url) for url in urls], limit=3)

    results = driver.run(fan_out)

    assert [result.ok for result in results] == [True, False, True, False, True]
    assert [result.value for result in results] == [
        {"slow": True},
        None,
        {"ok": True},
        None,
        {"slow": True},
    ]
    for index in (1, 3):
        error = results[index].error
        assert isinstance(error, NotFound)
        assert error.request.url.endswith("/status/404")
        with pytest.raises(NotFound):
            results[index].unwrap()
    assert results[2].unwrap() == {"ok": True}


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_gather_never_has_more_than_limit_in_flight(
    make_async_client: AsyncDriverFactory, origin: Origin, key: str, limit: int
) -> None:
    driver = make_async_client()
    count = 2 * limit + 1  # three rounds of 0.2 s

    async def fan_out(client: restwell.AsyncClient) -> list[Result[Any]]:
        calls = [client.get_json(f"/inflight/{key}?delay=0.2&i={i}") for i in range(count)]
        return await client.gather(calls, limit=limit)

    results = driver.run(fan_out)

    assert [r.unwrap()["path"] for r in results] == [
        f"/inflight/{key}?delay=0.2&i={i}" for i in range(count)
    ]
    assert origin.hits(key) == count
    assert origin.max_in_flight(key) == limit


def test_gather_pulls_a_lazy_generator_only_as_slots_free_up(
    make_async_client: AsyncDriverFactory, origin: Origin, key: str
) -> None:
    driver = make_async_client()
    created: list[int] = []
    created_when_started: list[int] = []

    async def fan_out(client: restwell.AsyncClient) -> list[Result[Any]]:
        async def call(i: int) -> Any:
            created_when_started.append(len(created))
            return await client.get_json(f"/inflight/{key}?delay=0.1&i={i}")

        def calls() -> Iterator[Coroutine[Any, Any, Any]]:
            for i in range(6):
                created.append(i)
                yield call(i)

        return await client.gather(calls(), limit=2)

    results = driver.run(fan_out)

    assert all(result.ok for result in results)
    assert [r.unwrap()["path"].rsplit("=", 1)[1] for r in results] == list("012345")
    # Each call starts right after it is created: the generator is never run ahead.
    assert created_when_started == [1, 2, 3, 4, 5, 6]
    assert origin.max_in_flight(key) == 2


def test_cancelling_gather_closes_the_calls_never_started(
    make_async_client: AsyncDriverFactory, origin: Origin, key: str
) -> None:
    driver = make_async_client()
    calls: list[Coroutine[Any, Any, Any]] = []

    async def cancel_midway(client: restwell.AsyncClient) -> None:
        calls.extend(client.get_json(f"/inflight/{key}?delay=5&i={i}") for i in range(10))
        task = asyncio.create_task(client.gather(calls, limit=2))
        for _ in range(1000):
            if origin.hits(key) == 2:
                break
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        driver.run(cancel_midway)
        gc.collect()

    assert origin.hits(key) == 2  # the 8 others were never sent ...
    assert [inspect.getcoroutinestate(c) for c in calls] == [inspect.CORO_CLOSED] * 10
    never_awaited = [w for w in caught if "was never awaited" in str(w.message)]
    assert never_awaited == []  # ... and closed, so none warns


def test_gather_rejects_a_limit_below_one(make_async_client: AsyncDriverFactory) -> None:
    driver = make_async_client()

    async def zero(client: restwell.AsyncClient) -> list[Result[Any]]:
        return await client.gather([], limit=0)

    with pytest.raises(ValueError, match="limit must be at least 1"):
        driver.run(zero)


def test_gather_of_nothing_is_empty(make_async_client: AsyncDriverFactory) -> None:
    driver = make_async_client()

    async def nothing(client: restwell.AsyncClient) -> list[Result[Any]]:
        return await client.gather([], limit=4)

    assert driver.run(nothing) == []


def test_get_many_gets_every_url_in_order(
    make_async_client: AsyncDriverFactory, origin: Origin, key: str, dead_url: str
) -> None:
    driver = make_async_client(retry=None)
    urls = ["/ok", "/status/404", f"/inflight/{key}?delay=0.05", f"{dead_url}/x", "/text"]

    async def many(client: restwell.AsyncClient) -> list[Result[restwell.Response]]:
        return await client.get_many(urls, limit=2)

    results = driver.run(many)

    assert [r.ok for r in results] == [True, True, True, False, True]
    assert [r.unwrap().status_code for r in results if r.ok] == [200, 404, 200, 200]
    assert isinstance(results[3].error, ConnectError)
    assert results[4].unwrap().text == "plain words, not JSON"
    assert origin.hits(key) == 1


def test_an_item_that_cancels_itself_is_recorded_not_lost(
    make_async_client: AsyncDriverFactory,
) -> None:
    driver = make_async_client(retry=None)

    async def cancels_itself() -> None:
        raise asyncio.CancelledError

    async def fan_out(client: restwell.AsyncClient) -> list[Result[Any]]:
        calls: list[Coroutine[Any, Any, Any]] = [
            client.get_json("/ok"),
            cancels_itself(),
            client.get_json("/ok"),
        ]
        return await client.gather(calls, limit=2)

    results = driver.run(fan_out)
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, asyncio.CancelledError)


def test_cancelling_gather_over_an_endless_generator_stops_it_without_draining(
    make_async_client: AsyncDriverFactory,
) -> None:
    driver = make_async_client(retry=None)
    created = 0

    def endless(client: restwell.AsyncClient) -> Iterator[Coroutine[Any, Any, Any]]:
        nonlocal created
        while True:
            created += 1
            yield client.get_json("/slow?delay=5")

    async def fan_out(client: restwell.AsyncClient) -> None:
        task = asyncio.ensure_future(client.gather(endless(client), limit=2))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    driver.run(fan_out)
    # Only the two calls in flight were ever created; the generator was closed, not drained.
    assert created == 2
