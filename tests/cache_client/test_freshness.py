"""Freshness end to end: hits that never reach the origin, ``Age``, ``Expires``, heuristics.

Every test runs on the sync and the async client and on each storage (memory, SQLite, Redis).
"""

from __future__ import annotations

from urllib.parse import quote

from restwell.cache import CacheStorage
from restwell.policy.cache import CachePolicy
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin, http_date
from tests.cache_client.support import Driver, stored


def cc(value: str) -> str:
    return "cc=" + quote(value)


def test_fresh_hit_never_reaches_the_origin(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    first = client.get(f"{url}?{cc('max-age=60')}")
    assert first.status_code == 200
    assert first.cache_status == "miss"
    assert origin.hits(key) == 1
    fake_clock.advance(10)
    for _ in range(3):
        again = client.get(f"{url}?{cc('max-age=60')}")
        assert again.cache_status == "hit"
        assert again.status_code == 200
        assert again.content == first.content
        assert again.headers["Age"] == "10"
        assert again.attempts == 0
    assert origin.hits(key) == 1


def test_age_counts_the_origins_age_and_date(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    with_age = f"{url}?{cc('max-age=100')}&age=30"
    assert client.get(with_age).headers["Age"] == "30"  # passed on as received
    fake_clock.advance(5)
    hit = client.get(with_age)
    assert (hit.cache_status, hit.headers["Age"]) == ("hit", "35")
    # A Date 20 s before the response arrived: apparent age 20 (RFC 9111 §4.2.3).
    dated = f"{url}?{cc('max-age=100')}&date=-20"
    client.get(dated)
    hit = client.get(dated)
    assert (hit.cache_status, hit.headers["Age"]) == ("hit", "20")
    # The origin's Age counts against max-age: 100 - 30 left 70 s of freshness.
    fake_clock.advance(64)
    hit = client.get(with_age)
    assert (hit.cache_status, hit.headers["Age"]) == ("hit", "99")
    assert origin.hits(key) == 2
    fake_clock.advance(2)
    assert client.get(with_age).cache_status == "miss"
    assert origin.hits(key) == 3


def test_max_age_expires_and_then_the_origin_is_asked(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = f"{url}?{cc('max-age=10')}"
    client.get(target)
    fake_clock.advance(9)
    assert client.get(target).cache_status == "hit"
    fake_clock.advance(2)
    again = client.get(target)
    assert again.cache_status == "miss"
    assert again.json()["hit"] == 2
    assert origin.hits(key) == 2


def test_expires_gives_the_lifetime(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = f"{url}?expires=30"
    client.get(target)
    fake_clock.advance(29)
    assert client.get(target).cache_status == "hit"
    fake_clock.advance(2)
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2


def test_an_invalid_expires_is_already_stale(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?expires=not-a-date"
    assert client.get(target).cache_status == "miss"
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2


def test_max_age_wins_over_expires(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = f"{url}?expires=1000&{cc('max-age=5')}"
    client.get(target)
    fake_clock.advance(6)
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2


def test_heuristic_freshness_from_last_modified(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    # Modified 1000 s ago: 10% of that, fresh for 100 s (RFC 9111 §4.2.2).
    origin.set(key, {"Last-Modified": http_date(fake_clock.time() - 1000)})
    target = url
    client.get(target)
    fake_clock.advance(90)
    assert client.get(target).cache_status == "hit"
    fake_clock.advance(20)
    # Stale: validated with If-Modified-Since, which the origin answers 304.
    response = client.get(target)
    assert response.cache_status == "revalidated"
    assert origin.hits(key) == 2
    assert "if-modified-since" in origin.seen(key)[-1].headers


def test_no_freshness_information_is_not_reused_without_default_ttl(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    assert client.get(url).cache_status == "miss"
    assert client.get(url).cache_status == "miss"
    assert origin.hits(key) == 2


def test_default_ttl_is_opt_in_for_responses_without_freshness(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    client = make_client(storage, cache_policy=CachePolicy(default_ttl=30))
    client.get(url)
    fake_clock.advance(20)
    assert client.get(url).cache_status == "hit"
    fake_clock.advance(11)
    assert client.get(url).cache_status == "miss"
    assert origin.hits(key) == 2
    # Explicit freshness information still wins over the default.
    explicit = f"{url}?{cc('max-age=5')}"
    client.get(explicit)
    fake_clock.advance(6)
    assert client.get(explicit).cache_status == "miss"
    # ... and so does no-store.
    never = f"{url}?{cc('no-store')}"
    client.get(never)
    assert client.get(never).cache_status == "miss"
    assert origin.hits(key) == 6


def test_no_store_is_never_stored(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('no-store, max-age=60')}"
    assert client.get(target).cache_status == "miss"
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2
    assert stored(storage, target) == []


def test_request_no_store_is_not_stored(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=60')}"
    client.get(target, headers={"Cache-Control": "no-store"})
    assert stored(storage, target) == []
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2


def test_head_is_answered_from_the_stored_get(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=60')}"
    got = client.get(target)
    head = client.head(target)
    assert head.cache_status == "hit"
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(got.content))
    assert origin.hits(key) == 1


def test_a_cacheable_error_status_is_reused(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?status=404&{cc('max-age=60')}"
    assert client.get(target).status_code == 404
    again = client.get(target)
    assert (again.status_code, again.cache_status) == (404, "hit")
    assert origin.hits(key) == 1


def test_a_content_coded_response_is_stored_and_served_decoded(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{cc('max-age=60')}&gzip=1"
    miss = client.get(target)
    assert miss.json()["key"] == key
    hit = client.get(target)
    assert (hit.cache_status, hit.content) == ("hit", miss.content)
    assert origin.hits(key) == 1


def test_a_single_range_is_served_from_the_stored_response(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    # RFC 9110 §14.2: one byte range is cut from the stored 200; several go to the origin.
    target = f"{url}?{cc('max-age=60')}"
    whole = client.get(target)
    ranged = client.get(target, headers={"Range": "bytes=0-3"})
    assert (ranged.status_code, ranged.cache_status) == (206, "hit")
    assert ranged.content == whole.content[:4]
    assert ranged.headers.get("Content-Range") == f"bytes 0-3/{len(whole.content)}"
    assert origin.hits(key) == 1
    several = client.get(target, headers={"Range": "bytes=0-1, 3-4"})
    assert several.cache_status == "bypass"
    assert origin.hits(key) == 2
    assert client.get(target).cache_status == "hit"
