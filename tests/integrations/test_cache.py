"""The RFC 9111 cache inside every integration: one ``cache=`` option, the same cache flow.

Each test runs for the httpx2 sync and async transports, the sync transport in a legacy httpx
client, the requests adapter and the aiohttp middleware, on memory, SQLite and Redis storages,
against a real origin on 127.0.0.1 (``tests/cache_client/origin.py``) that counts what reaches
it. Retry waits are skipped (testing mode); freshness runs on the real clock with lifetimes far
longer than a test.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from restwell.cache import CacheStorage, MemoryCache, RedisCache, SQLiteCache
from restwell.policy.cache import CachePolicy
from tests.cache.conftest import redis_url  # noqa: F401  (the session's redis-server)
from tests.cache_client.origin import CacheOrigin, running_cache_origin
from tests.cache_client.support import stored, wait_until
from tests.integrations.cache_support import (
    KINDS,
    CacheDriver,
    ChunkedOrigin,
    make_cache_driver,
    running_chunked_origin,
)
from tests.integrations.support import THREE
from tests.origin import body_bytes

STORAGES = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
V1 = '"v1"'

DriverFactory = Callable[..., CacheDriver]


def cc(value: str) -> str:
    """A ``cc=`` query parameter: the origin sends it as ``Cache-Control``."""
    return f"cc={quote(value)}"


@pytest.fixture(scope="module")
def origin() -> Iterator[CacheOrigin]:
    with running_cache_origin() as server:
        yield server


@pytest.fixture
def url(origin: CacheOrigin, key: str) -> str:
    return f"{origin.url}/r/{key}"


@pytest.fixture(params=STORAGES)
def storage_kind(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def make_storage(
    storage_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., CacheStorage]]:
    made: list[CacheStorage] = []

    def factory(**options: Any) -> CacheStorage:
        storage: CacheStorage
        if storage_kind == "memory":
            storage = MemoryCache(16 << 20, **options)
        elif storage_kind == "sqlite":
            storage = SQLiteCache(tmp_path / f"{uuid.uuid4().hex}.sqlite", **options)
        else:
            redis: str = request.getfixturevalue("redis_url")
            storage = RedisCache(redis, prefix=f"integrations-{uuid.uuid4().hex}:", **options)
        made.append(storage)
        return storage

    yield factory
    for storage in made:
        if isinstance(storage, RedisCache):
            storage.clear()
        storage.close()


@pytest.fixture
def storage(make_storage: Callable[..., CacheStorage]) -> CacheStorage:
    return make_storage()


@pytest.fixture(params=KINDS)
def make(request: pytest.FixtureRequest, no_sleep: list[float]) -> Iterator[DriverFactory]:
    """Build drivers of the parametrised integration (closed at the end of the test)."""
    made: list[CacheDriver] = []

    def factory(storage: CacheStorage, **options: Any) -> CacheDriver:
        options.setdefault("retry", THREE)
        driver = make_cache_driver(request.param, storage, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()


@pytest.fixture
def driver(make: DriverFactory, storage: CacheStorage) -> CacheDriver:
    return make(storage)


def described(body: bytes) -> dict[str, Any]:
    """The origin's JSON description of the request that produced a body."""
    value: dict[str, Any] = json.loads(body)
    return value


# -- hits, misses, storing -------------------------------------------------------------------


def test_a_hit_never_reaches_the_origin(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=600')}"
    miss = driver.get(target)
    hit = driver.get(target)

    assert (miss.status, miss.cache, miss.report["cache"]) == (200, "miss", "miss")
    assert (hit.status, hit.cache, hit.report["cache"]) == (200, "hit", "hit")
    assert hit.report["attempts"] == 0  # served without an attempt
    assert miss.report["attempts"] == 1
    assert hit.body == miss.body
    assert described(hit.body)["hit"] == 1  # the first request's answer, replayed
    assert hit.headers["content-type"] == "application/json"
    assert "age" in hit.headers
    assert origin.hits(key) == 1


def test_a_miss_is_stored_with_its_whole_body(
    driver: CacheDriver, storage: CacheStorage, url: str
) -> None:
    target = f"{url}?{cc('max-age=600')}"
    miss = driver.get(target)

    entries = stored(storage, target)
    assert len(entries) == 1
    assert entries[0].status == 200
    assert entries[0].body == miss.body
    assert described(miss.body)["key"] in target


def test_a_content_coded_body_is_served_decoded_on_a_hit_as_on_the_miss(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=600')}&gzip=1"
    miss = driver.get(target)
    hit = driver.get(target)

    assert hit.cache == "hit"
    assert described(hit.body)["key"] == key
    assert hit.body == miss.body
    assert origin.hits(key) == 1


def test_no_store_is_never_stored(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('no-store')}"
    first = driver.get(target)
    second = driver.get(target)

    assert (first.cache, second.cache) == ("miss", "miss")
    assert described(second.body)["hit"] == 2
    assert stored(storage, target) == []
    assert origin.hits(key) == 2


def test_a_body_over_max_entry_bytes_passes_through_whole_and_unstored(
    make: DriverFactory,
    make_storage: Callable[..., CacheStorage],
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    storage = make_storage(max_entry_bytes=1000)
    driver = make(storage)
    target = f"{url}?{cc('max-age=600')}&size=5000"
    first = driver.get(target)
    second = driver.get(target)

    assert first.body == second.body == bytes(i % 251 for i in range(5000))
    assert (first.cache, second.cache) == ("miss", "miss")
    assert stored(storage, target) == []
    assert origin.hits(key) == 2


# -- validation and stale answers ------------------------------------------------------------


def test_a_304_revalidates_and_updates_the_stored_entry(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    # Stale at once; the 304 makes it fresh for ten minutes.
    origin.set(
        key,
        {"Cache-Control": "max-age=0", "ETag": V1},
        headers_304={"Cache-Control": "max-age=600", "ETag": V1},
    )
    miss = driver.get(url)
    revalidated = driver.get(url)
    hit = driver.get(url)

    assert [miss.cache, revalidated.cache, hit.cache] == ["miss", "revalidated", "hit"]
    assert revalidated.status == hit.status == 200  # the stored answer, not the 304
    assert revalidated.body == hit.body == miss.body
    assert revalidated.headers["cache-control"] == "max-age=600"  # updated by the 304
    seen = origin.seen(key)
    assert len(seen) == 2
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == V1


def test_a_changed_resource_replaces_the_stored_entry(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=0", "ETag": V1})
    driver.get(url)
    origin.update(key, ETag='"v2"')
    changed = driver.get(url)

    assert changed.cache == "miss"
    assert described(changed.body)["version"] == 2
    entries = stored(storage, url)
    assert [json.loads(e.body)["version"] for e in entries] == [2]


def test_stale_if_error_answers_when_retries_are_exhausted(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=0, stale-if-error=600"})
    first = driver.get(url)
    origin.fail(key, "503")
    stale = driver.get(url)

    assert (stale.status, stale.cache, stale.report["cache"]) == (200, "stale", "stale")
    assert stale.body == first.body
    assert stale.report["attempts"] == 3  # the retries ran (and failed) under the cache
    assert origin.hits(key) == 1 + 3


def test_stale_if_error_answers_when_the_connection_keeps_dropping(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=0, stale-if-error=600"})
    first = driver.get(url)
    origin.fail(key, "drop")
    stale = driver.get(url)

    assert (stale.status, stale.cache) == (200, "stale")
    assert stale.body == first.body
    assert origin.hits(key) == 1 + 3


def test_without_stale_if_error_the_failure_is_the_libraries_own(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=0", "ETag": V1})
    driver.get(url)
    origin.fail(key, "503")
    failed = driver.get(url)

    assert (failed.status, failed.cache) == (503, "miss")
    assert failed.report["attempts"] == 3


def test_stale_while_revalidate_answers_at_once_and_revalidates_in_the_background(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=0, stale-while-revalidate=600", "ETag": V1})
    driver.get(url)
    origin.update(key, ETag='"v2"')
    origin.slow(key, 0.5)
    started = time.monotonic()
    stale = driver.get(url)
    waited = time.monotonic() - started

    assert (stale.cache, described(stale.body)["version"]) == ("stale", 1)
    assert waited < 0.4, f"the stale answer waited {waited:.3f}s for the revalidation"
    assert origin.wait_hits(key, 2)
    background = origin.seen(key)[1]
    assert background.headers["if-none-match"] == V1
    assert not any(name.startswith("restwell-") for name in background.headers)
    assert wait_until(lambda: [json.loads(e.body)["version"] for e in stored(storage, url)] == [2])
    assert driver.settle()


# -- per-request overrides -------------------------------------------------------------------


def test_skip_neither_reads_nor_writes_the_cache(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=600')}"
    skipped = driver.get(target, mode="skip")
    assert stored(storage, target) == []  # not written
    stored_now = driver.get(target)
    again = driver.get(target, mode="skip")

    assert (skipped.cache, stored_now.cache, again.cache) == ("bypass", "miss", "bypass")
    assert described(again.body)["hit"] == 3  # not read: the origin answered
    assert origin.hits(key) == 3
    assert not any("restwell-cache" in seen.headers for seen in origin.seen(key))


def test_refresh_goes_to_the_origin_even_for_a_fresh_entry(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600", "ETag": V1})
    driver.get(url)
    refreshed = driver.get(url, mode="refresh")
    hit = driver.get(url)

    assert (refreshed.cache, hit.cache) == ("revalidated", "hit")
    assert origin.hits(key) == 2
    assert origin.seen(key)[1].headers["if-none-match"] == V1


def test_a_custom_key_shares_one_entry_between_urls(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    first = driver.get(f"{url}?{cc('max-age=600')}&q=1", key=f"search:{key}")
    other = f"{origin.url}/r/{key}-other?{cc('max-age=600')}&q=2"
    second = driver.get(other, key=f"search:{key}")

    assert (first.cache, second.cache) == ("miss", "hit")
    assert second.body == first.body
    assert origin.hits(f"{key}-other") == 0
    assert not any("restwell-cache-key" in seen.headers for seen in origin.seen(key))


def test_an_unknown_mode_is_refused_before_anything_is_sent(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    with pytest.raises(ValueError, match="cache mode must be one of"):
        driver.get(url, mode="sometimes")
    assert origin.hits(key) == 0


# -- credentials and writes ------------------------------------------------------------------


def test_an_answer_for_one_credential_is_not_served_to_another(
    driver: CacheDriver, origin: CacheOrigin, key: str, url: str
) -> None:
    # The libraries' own auth= sets Authorization before the integration sees the request.
    target = f"{url}?{cc('private, max-age=600')}"
    alice = driver.get(target, auth=("alice", "a"))
    bob = driver.get(target, auth=("bob", "b"))
    anonymous = driver.get(target)
    alice_again = driver.get(target, auth=("alice", "a"))

    assert [alice.cache, bob.cache, anonymous.cache] == ["miss", "miss", "miss"]
    assert described(bob.body)["authorization"] != described(alice.body)["authorization"]
    assert described(bob.body)["authorization"].startswith("Basic ")
    assert described(anonymous.body)["authorization"] is None
    assert (alice_again.cache, alice_again.body) == ("hit", alice.body)
    assert origin.hits(key) == 3


def test_a_post_invalidates_the_stored_get(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=600')}"
    driver.get(target)
    assert driver.get(target).cache == "hit"

    posted = driver.request("POST", target)
    assert stored(storage, target) == []  # invalidated (RFC 9111 §4.4)
    after = driver.get(target)

    assert (posted.status, posted.cache) == (201, "bypass")
    assert after.cache == "miss"
    assert described(after.body)["hit"] == 3  # GET, POST, then this GET
    assert origin.hits(key) == 3


def test_a_shared_policy_does_not_store_private_answers(
    make: DriverFactory, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    driver = make(storage, cache_policy=CachePolicy(shared=True))
    target = f"{url}?{cc('private, max-age=600')}"
    driver.get(target)
    second = driver.get(target)

    assert second.cache == "miss"
    assert stored(storage, target) == []
    assert origin.hits(key) == 2


# -- without a cache nothing changes ---------------------------------------------------------


def test_without_a_cache_no_cache_status_is_reported(
    make: DriverFactory, origin: CacheOrigin, key: str, url: str
) -> None:
    driver = make(None)
    target = f"{url}?{cc('max-age=600')}"
    first = driver.get(target)
    second = driver.get(target)

    assert (first.cache, second.cache) == (None, None)
    assert "cache" not in second.report
    assert origin.hits(key) == 2


# -- bodies of unknown length ----------------------------------------------------------------


@pytest.fixture(scope="module")
def chunked() -> Iterator[ChunkedOrigin]:
    with running_chunked_origin() as server:
        yield server


def test_a_body_of_unknown_length_is_stored_when_it_fits_and_streams_whole_when_not(
    make: DriverFactory,
    make_storage: Callable[..., CacheStorage],
    chunked: ChunkedOrigin,
    key: str,
) -> None:
    storage = make_storage(max_entry_bytes=3000)
    driver = make(storage)
    small, large = f"{chunked.url}/{key}-small/2500", f"{chunked.url}/{key}-large/9500"
    answers = [driver.get(small), driver.get(small), driver.get(large), driver.get(large)]

    assert [a.body for a in answers] == [body_bytes(2500)] * 2 + [body_bytes(9500)] * 2
    assert [a.cache for a in answers[2:]] == ["miss", "miss"]  # over the limit: not stored
    assert chunked.hits(f"{key}-large") == 2
    if driver.kind == "aiohttp":
        # aiohttp reads a body whole only when its Content-Length fits (see the module doc).
        assert [a.cache for a in answers[:2]] == ["miss", "miss"]
        assert chunked.hits(f"{key}-small") == 2
    else:
        assert [a.cache for a in answers[:2]] == ["miss", "hit"]
        assert chunked.hits(f"{key}-small") == 1


def test_a_response_the_cache_cannot_keep_is_left_streaming(
    make: DriverFactory, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    # No freshness, no validator: never storable, so the integration must not read it.
    driver = make(storage)
    answer = driver.get(f"{url}?size=70000&date=none")
    native = answer.native

    assert answer.body == body_bytes(70000)
    assert answer.cache == "miss"
    if driver.kind == "requests":
        assert native.raw._original_response is not None
        assert native.raw._fp is native.raw._original_response  # urllib3's own, not a replay
    elif driver.kind == "aiohttp":
        # The parser's own stream (fed by the connection), not one refilled from memory.
        assert type(native.content._protocol).__name__ == "ResponseHandler"
    else:
        assert "ByteStream" not in type(native.stream).__name__


def test_one_storage_serves_coded_and_decoded_bodies_apart(
    driver: CacheDriver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    # httpx and requests hand the cache bodies as received (gzip), restwell.Client and
    # aiohttp decoded ones, under the same stored headers (Content-Encoding: gzip): through
    # one storage, each must get the form it reads.
    import restwell

    target = f"{url}?{cc('max-age=600')}&gzip=1"
    with restwell.Client(cache=storage, retry=None) as client:
        first = client.get(target)
        ours = client.get(target)
        theirs = driver.get(target)
        again = driver.get(target)
        ours_again = client.get(target)

    assert (first.cache_status, ours.cache_status, ours_again.cache_status) == (
        "miss",
        "hit",
        "hit",
    )
    assert again.cache == "hit"
    for body in (ours.content, theirs.body, again.body, ours_again.content):
        assert described(body)["key"] == key
    coded = driver.kind in ("httpx2", "httpx2-async", "httpx", "requests")
    # A coded reader's first request is its own miss; a decoded one shares the Client's entry.
    assert theirs.cache == ("miss" if coded else "hit")
    assert origin.hits(key) == (2 if coded else 1)
