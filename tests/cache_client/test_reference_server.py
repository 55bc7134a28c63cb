"""The cache in front of restwell's reference server: ``cache_max_age=0`` makes every read a
revalidation with its ``ETag`` (``max-age=0, must-revalidate``), ``cache_max_age=60`` makes
reads hits; writes through the client invalidate what they change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from restwell.cache import CacheStorage
from restwell.server import SAMPLE_ITEM, ServerSettings, serve_in_thread
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.support import Driver


def _serve(tmp: Path, max_age: int) -> Iterator[str]:
    settings = ServerSettings(database_url=f"sqlite:///{tmp / 'items.db'}", cache_max_age=max_age)
    with serve_in_thread(settings) as base:
        yield base


@pytest.fixture(scope="module")
def revalidating_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("ref0"), 0)


@pytest.fixture(scope="module")
def caching_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(tmp_path_factory.mktemp("ref60"), 60)


def _client(make_client: ClientFactory, storage: CacheStorage, base: str) -> Driver:
    # The real clock: the server's Date and max-age are real time.
    return make_client(storage, base_url=base, clock=None)


def _create(client: Driver) -> str:
    created = client.post("/items", json=SAMPLE_ITEM)
    assert created.status_code == 201
    location: str = created.headers["Location"]
    return location


def test_max_age_0_revalidates_with_the_etag_every_time(
    make_client: ClientFactory, storage: CacheStorage, revalidating_server: str
) -> None:
    client = _client(make_client, storage, revalidating_server)
    item = _create(client)
    first = client.get(item)
    assert (first.status_code, first.cache_status) == (200, "miss")
    assert first.headers["Cache-Control"] == "max-age=0, must-revalidate"
    for _ in range(2):
        again = client.get(item)
        assert (again.status_code, again.cache_status) == (200, "revalidated")
        assert again.content == first.content
        assert again.headers["ETag"] == first.headers["ETag"]
    changed = client.put(item, json={**SAMPLE_ITEM, "name": "gadget"})
    assert changed.status_code == 200
    fresh = client.get(item)
    assert fresh.cache_status == "miss"
    assert fresh.json()["name"] == "gadget"
    assert fresh.headers["ETag"] != first.headers["ETag"]
    assert client.get(item).cache_status == "revalidated"


def test_max_age_60_gives_hits(
    make_client: ClientFactory, storage: CacheStorage, caching_server: str
) -> None:
    client = _client(make_client, storage, caching_server)
    item = _create(client)
    first = client.get(item)
    assert (first.cache_status, first.headers["Cache-Control"]) == ("miss", "max-age=60")
    hit = client.get(item)
    assert (hit.status_code, hit.cache_status) == (200, "hit")
    assert hit.content == first.content
    assert int(hit.headers["Age"]) <= 1
    head = client.head(item)
    assert (head.status_code, head.cache_status, head.content) == (200, "hit", b"")
    # A conditional request of the client's own is answered 304 by the cache.
    own = client.get(item, headers={"If-None-Match": first.headers["ETag"]})
    assert (own.status_code, own.cache_status) == (304, "hit")
    # The cache is told about writes that go through it.
    client.put(item, json={**SAMPLE_ITEM, "price": 1.5})
    updated = client.get(item)
    assert (updated.cache_status, updated.json()["price"]) == ("miss", 1.5)
    assert client.request("DELETE", item).status_code == 204
    gone = client.get(item)
    assert (gone.status_code, gone.cache_status) == (404, "miss")


def test_refresh_against_the_reference_server(
    make_client: ClientFactory, storage: CacheStorage, caching_server: str
) -> None:
    client = _client(make_client, storage, caching_server)
    item = _create(client)
    client.get(item)
    assert client.get(item, cache_mode="refresh").cache_status == "revalidated"
    assert client.get(item, cache_mode="skip").cache_status == "bypass"
    assert client.get(item).cache_status == "hit"
