"""Which cached calls the clients make without a flow (``CacheLane``), on a real origin.

The answers are the same either way (every other test here runs on a memory storage, which
takes the lane, and on SQLite and Redis, which take the flow); what these tests pin is that
plain GETs on a storage that never blocks skip the flow, and that every call needing one
still gets it. Flows are counted where the clients start them (``run_sync``/``run_async``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

import restwell.client
from restwell._flow import run_async, run_sync
from restwell.cache import MemoryCache, SQLiteCache
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin


@pytest.fixture
def flows(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The flows the clients run, by kind, in order."""
    started: list[str] = []

    def counted_sync(flow: Any, perform: Any) -> Any:
        started.append("sync")
        return run_sync(flow, perform)

    def counted_async(flow: Any, perform: Any) -> Any:
        started.append("async")
        return run_async(flow, perform)

    monkeypatch.setattr(restwell.client, "run_sync", counted_sync)
    monkeypatch.setattr(restwell.client, "run_async", counted_async)
    return started


def _cc(value: str) -> str:
    return "cc=" + quote(value)


def test_a_miss_and_its_hits_on_memory_start_no_flow(
    make_client: ClientFactory, origin: CacheOrigin, key: str, url: str, flows: list[str]
) -> None:
    client = make_client(MemoryCache())
    assert client.get(f"{url}?{_cc('max-age=60')}").cache_status == "miss"
    assert client.get(f"{url}?{_cc('max-age=60')}").cache_status == "hit"
    assert origin.hits(key) == 1
    assert flows == []


def test_a_storage_that_blocks_takes_the_flow(
    make_client: ClientFactory, url: str, flows: list[str], tmp_path: Any
) -> None:
    storage = SQLiteCache(tmp_path / "lane.sqlite")
    try:
        client = make_client(storage)
        assert client.get(f"{url}?{_cc('max-age=60')}").cache_status == "miss"
        assert client.get(f"{url}?{_cc('max-age=60')}").cache_status == "hit"
        assert len(flows) == 2
    finally:
        storage.close()


def test_calls_that_need_the_flow_still_get_it(
    make_client: ClientFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    flows: list[str],
    fake_clock: FakeClock,
) -> None:
    client = make_client(MemoryCache())
    etag = quote('"v1"')
    stale_later = f"{url}?{_cc('max-age=10')}&etag={etag}"
    assert client.get(stale_later).cache_status == "miss"
    assert flows == []
    fake_clock.advance(30)
    assert client.get(stale_later).cache_status == "revalidated"  # a conditional request
    assert len(flows) == 1
    assert client.get(stale_later, cache_mode="refresh").cache_status == "revalidated"
    assert client.get(stale_later, retry=1).cache_status == "hit"  # a per-call retry policy
    assert client.request("DELETE", url).cache_status == "bypass"  # an unsafe method
    assert len(flows) == 4
    assert origin.hits(key) == 4  # the miss, two validations and the DELETE
