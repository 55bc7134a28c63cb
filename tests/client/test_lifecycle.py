"""Client lifecycle: the sync client refuses to block an event loop; closing releases the pool."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

import restwell
from restwell import BlockingCallError
from tests.drivers import DriverFactory, SyncDriverFactory
from tests.origin import Origin


@pytest.mark.needs("blocking_guard")
def test_sync_client_inside_a_running_event_loop_raises(
    make_sync_client: SyncDriverFactory, origin: Origin, key: str
) -> None:
    driver = make_sync_client()

    async def main() -> restwell.Response:
        with pytest.raises(BlockingCallError, match=r"AsyncClient|to_thread"):
            driver.request("GET", f"/echo/{key}")
        # Through a worker thread it is fine.
        return await asyncio.to_thread(driver.request, "GET", f"/echo/{key}")

    response = asyncio.run(main())
    assert response.status_code == 200
    assert origin.hits(key) == 1  # the refused call was never sent
    assert isinstance(BlockingCallError("x"), RuntimeError)


@pytest.mark.needs("blocking_guard")
def test_sync_client_can_be_allowed_in_an_event_loop(
    make_sync_client: SyncDriverFactory,
) -> None:
    driver = make_sync_client(allow_in_event_loop=True)

    async def main() -> int:
        return driver.request("GET", "/ok").status_code

    assert asyncio.run(main()) == 200


@pytest.mark.needs("blocking_guard", "stream")
def test_sync_client_streaming_inside_an_event_loop_raises(
    make_sync_client: SyncDriverFactory,
) -> None:
    driver = make_sync_client()

    async def main() -> None:
        with pytest.raises(BlockingCallError):
            driver.stream_bytes("GET", "/bytes?n=10")

    asyncio.run(main())


def test_one_sync_client_serves_many_threads(
    make_sync_client: SyncDriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    # (No breaker: 8 first attempts failing at once would rightly open it.)
    driver = make_sync_client(breaker=False)

    def fetch(i: int) -> tuple[int, int]:
        response = driver.request("GET", f"/flaky/{key}-{i}?fail=1")
        return response.status_code, response.attempts

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(fetch, range(40)))

    assert outcomes == [(200, 2)] * 40
    assert [origin.hits(f"{key}-{i}") for i in range(40)] == [2] * 40


def test_leaving_the_context_manager_closes_pooled_connections(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    driver = make_client()
    first = driver.request_json("GET", f"/conn/{key}")["connection"]
    assert driver.request_json("GET", f"/conn/{key}")["connection"] == first  # kept alive
    assert origin.is_open(first)

    driver.exit()

    assert origin.wait_closed(first)


@pytest.mark.needs("client")
def test_a_closed_client_refuses_requests(make_client: DriverFactory, key: str) -> None:
    driver = make_client()
    driver.request("GET", "/ok")
    driver.exit()
    with pytest.raises(RuntimeError, match="this client is closed"):
        driver.request("GET", f"/echo/{key}")
    with pytest.raises(RuntimeError, match="this client is closed"):
        driver.stream_bytes("GET", "/bytes?n=10")
    with pytest.raises(RuntimeError, match="this client is closed"):
        driver.request_json("GET", "/ok")
    driver.exit()  # closing twice is harmless


@pytest.mark.needs("client")
def test_closing_a_client_that_never_sent_is_harmless(make_client: DriverFactory) -> None:
    driver = make_client()
    driver.exit()
    with pytest.raises(RuntimeError, match="closed"):
        driver.request("GET", "/ok")


@pytest.mark.needs("client")
def test_invalid_base_url_is_refused(make_client: DriverFactory) -> None:
    with pytest.raises(restwell.errors.InvalidURL, match="base_url must be an absolute"):
        make_client("ftp://example.com")
