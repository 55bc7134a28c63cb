"""What storages can refuse or fail at: large bodies pass through uncached and whole, and a
failing storage (methods that raise, a Redis server stopped mid-test) only turns caching off.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from restwell.cache import BlockingStorage, NonBlockingStorage, RedisCache, Variants
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory, StorageFactory
from tests.cache_client.origin import CacheOrigin
from tests.redis_server import running_redis

FRESH = "cc=" + quote("max-age=600")


def body(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


# -- large bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [50_000, 10_001, 9_990])
def test_a_body_too_large_to_store_is_passed_through_whole(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    size: int,
) -> None:
    client = make_client(make_storage(max_entry_bytes=10_000))
    target = f"{url}?{FRESH}&size={size}"
    for hits in (1, 2):
        response = client.get(target)
        assert response.cache_status == "miss"
        assert response.content == body(size)
        assert origin.hits(key) == hits


def test_a_body_within_the_limit_is_stored(
    make_client: ClientFactory, make_storage: StorageFactory, origin: CacheOrigin, url: str
) -> None:
    client = make_client(make_storage(max_entry_bytes=10_000))
    target = f"{url}?{FRESH}&size=5000"
    client.get(target)
    hit = client.get(target)
    assert (hit.cache_status, hit.content) == ("hit", body(5000))


def test_a_large_body_replacing_a_stored_one_removes_it(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    client = make_client(make_storage(max_entry_bytes=10_000))
    origin.set(key, {"Cache-Control": "max-age=10"}, body=b"small")
    client.get(url)
    fake_clock.advance(20)
    origin.set(key, {"Cache-Control": "max-age=600"}, body=body(50_000))
    assert client.get(url).content == body(50_000)
    again = client.get(url)
    assert (again.cache_status, again.content) == ("miss", body(50_000))
    assert origin.hits(key) == 3


# -- failing storages ----------------------------------------------------------------------


class Broken(NonBlockingStorage):
    """A storage whose chosen operations raise, as a full disk or a lost server would."""

    def __init__(self, failing: set[str], junk: bool = False) -> None:
        self.failing = failing
        self.junk = junk
        self.calls: list[str] = []
        self.data: dict[str, dict[str, bytes]] = {}

    @property
    def max_entry_bytes(self) -> int:
        return 1 << 20

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failing:
            raise OSError(f"storage {name} failed")

    def get(self, key: str) -> Variants:
        self._check("get")
        if self.junk:
            return [("", b"not a stored response")]
        return list(self.data.get(key, {}).items())

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        self._check("put")
        if ttl is not None and ttl <= 0:
            self.data.get(key, {}).pop(variant, None)
            return False
        self.data.setdefault(key, {})[variant] = value
        return True

    def delete(self, key: str) -> None:
        self._check("delete")
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()

    def close(self) -> None:
        pass


class BrokenOnDisk(BlockingStorage, Broken):
    """The same, with its async methods in a worker thread (as SQLite's are)."""


@pytest.mark.parametrize("cls", [Broken, BrokenOnDisk])
@pytest.mark.parametrize(
    "failing", [{"get"}, {"put"}, {"delete"}, {"get", "put", "delete"}], ids=lambda s: "+".join(s)
)
def test_a_failing_storage_degrades_to_no_caching(
    make_client: ClientFactory,
    origin: CacheOrigin,
    key: str,
    url: str,
    caplog: pytest.LogCaptureFixture,
    cls: type[Broken],
    failing: set[str],
) -> None:
    storage = cls(failing)
    client = make_client(storage)
    target = f"{url}?{FRESH}"
    with caplog.at_level(logging.WARNING, logger="restwell.cache"):
        for _ in range(2):
            response = client.get(target)
            assert response.status_code == 200
            assert response.json()["key"] == key
        written = client.post(target)
        assert written.status_code == 201
    expected_hits = 2 if failing & {"get", "put"} else 1
    assert origin.hits(key) == expected_hits + 1
    assert any("cache storage failed" in r.getMessage() for r in caplog.records)


def test_an_unreadable_entry_is_a_miss_and_is_removed(
    make_client: ClientFactory, origin: CacheOrigin, key: str, url: str
) -> None:
    storage = Broken(set(), junk=True)
    client = make_client(storage)
    assert client.get(f"{url}?{FRESH}").cache_status == "miss"
    assert storage.calls.count("put") >= 1  # the junk removed, the answer stored


# -- a Redis server that goes away ---------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test alone (which the test may stop), and its URL."""
    with running_redis() as server:
        yield server


@pytest.mark.redis
def test_redis_stopped_mid_test_degrades_to_no_caching(
    make_client: ClientFactory,
    private_redis: tuple[str, subprocess.Popen[bytes]],
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    redis_url, server = private_redis
    storage = RedisCache(redis_url, prefix="stopped:")
    client = make_client(storage)
    target = f"{url}?{FRESH}"
    client.get(target)
    assert client.get(target).cache_status == "hit"
    server.terminate()
    server.wait(10)
    started = time.monotonic()
    for hits in (2, 3):
        response = client.get(target)
        assert (response.status_code, response.cache_status) == (200, "miss")
        assert origin.hits(key) == hits
    assert time.monotonic() - started < 10


def test_no_cache_at_all_reports_no_cache_status(
    make_client: ClientFactory, origin: CacheOrigin, url: str
) -> None:
    client = make_client(None)
    response = client.get(f"{url}?{FRESH}")
    assert response.cache_status is None
