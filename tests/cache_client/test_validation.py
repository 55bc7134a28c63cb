"""Validation and request directives end to end: 304s, ``no-cache``, ``max-age``, ``max-stale``,
``only-if-cached``, and the per-call ``cache_mode`` / ``cache_key`` overrides.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from restwell.cache import CacheStorage
from restwell.testing import FakeClock
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver, stored

V1 = '"v1"'


def validated(origin: CacheOrigin, key: str, cache_control: str = "max-age=10") -> None:
    origin.set(key, {"Cache-Control": cache_control, "ETag": V1})


def test_a_304_revalidates_and_updates_the_stored_headers(
    client: Driver,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    origin.set(
        key,
        {"Cache-Control": "max-age=10", "ETag": V1, "X-Note": "first"},
        headers_304={"Cache-Control": "max-age=100", "ETag": V1, "X-Note": "second"},
    )
    first = client.get(url)
    fake_clock.advance(20)
    response = client.get(url)
    assert response.cache_status == "revalidated"
    assert response.status_code == 200
    assert response.content == first.content  # the stored body, freshened
    assert response.headers["X-Note"] == "second"
    assert response.headers["Cache-Control"] == "max-age=100"
    assert response.headers["Age"] == "0"
    assert origin.seen(key)[-1].headers["if-none-match"] == V1
    [entry] = stored(storage, url)
    assert entry.header("x-note") == "second"
    # The new max-age holds from the validation on.
    fake_clock.advance(90)
    hit = client.get(url)
    assert (hit.cache_status, hit.headers["X-Note"], hit.headers["Age"]) == ("hit", "second", "90")
    assert origin.hits(key) == 2


def test_a_changed_resource_replaces_the_stored_one(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    validated(origin, key)
    assert client.get(url).json()["version"] == 1
    origin.update(key, ETag='"v2"')
    fake_clock.advance(20)
    fresh = client.get(url)
    assert (fresh.cache_status, fresh.json()["version"]) == ("miss", 2)
    hit = client.get(url)
    assert (hit.cache_status, hit.json()["version"]) == ("hit", 2)
    assert origin.hits(key) == 2


def test_a_no_cache_response_is_validated_on_every_use(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    validated(origin, key, "no-cache")
    assert client.get(url).cache_status == "miss"
    for hits in (2, 3):
        again = client.get(url)
        assert again.cache_status == "revalidated"
        assert again.json()["hit"] == 1
        assert origin.hits(key) == hits


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "no-cache"},
        {"Cache-Control": "max-age=0"},
        {"Pragma": "no-cache"},
    ],
    ids=["no-cache", "max-age=0", "pragma"],
)
def test_request_directives_force_validation_of_a_fresh_entry(
    client: Driver,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
    headers: dict[str, str],
) -> None:
    validated(origin, key, "max-age=600")
    client.get(url)
    fake_clock.advance(1)  # max-age=0 accepts an age of exactly 0 (RFC 9111 §5.2.1.1)
    assert client.get(url).cache_status == "hit"
    forced = client.get(url, headers=headers)
    assert forced.cache_status == "revalidated"
    assert origin.hits(key) == 2
    assert origin.seen(key)[-1].headers["if-none-match"] == V1


def test_request_max_age_and_min_fresh(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    validated(origin, key, "max-age=60")
    client.get(url)
    fake_clock.advance(30)
    assert client.get(url, headers={"Cache-Control": "max-age=40"}).cache_status == "hit"
    assert client.get(url, headers={"Cache-Control": "min-fresh=20"}).cache_status == "hit"
    assert origin.hits(key) == 1
    older = client.get(url, headers={"Cache-Control": "max-age=20"})
    assert older.cache_status == "revalidated"
    assert origin.hits(key) == 2
    fake_clock.advance(30)  # 30 s into the renewed 60
    fussy = client.get(url, headers={"Cache-Control": "min-fresh=40"})
    assert fussy.cache_status == "revalidated"
    assert origin.hits(key) == 3


def test_request_max_stale_accepts_a_stale_response(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = f"{url}?cc=" + quote("max-age=10")
    client.get(target)
    fake_clock.advance(20)
    stale = client.get(target, headers={"Cache-Control": "max-stale=30"})
    assert (stale.cache_status, stale.headers["Age"]) == ("stale", "20")
    anything = client.get(target, headers={"Cache-Control": "max-stale"})
    assert anything.cache_status == "stale"
    assert origin.hits(key) == 1
    too_stale = client.get(target, headers={"Cache-Control": "max-stale=5"})
    assert too_stale.cache_status == "miss"
    assert origin.hits(key) == 2


def test_must_revalidate_overrides_max_stale(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    validated(origin, key, "max-age=10, must-revalidate")
    client.get(url)
    fake_clock.advance(20)
    response = client.get(url, headers={"Cache-Control": "max-stale=100"})
    assert response.cache_status == "revalidated"
    assert origin.hits(key) == 2


def test_only_if_cached(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    only = {"Cache-Control": "only-if-cached"}
    empty = client.get(url, headers=only)
    assert (empty.status_code, empty.cache_status) == (504, "miss")
    assert origin.hits(key) == 0
    validated(origin, key)
    client.get(url)
    hit = client.get(url, headers=only)
    assert (hit.status_code, hit.cache_status) == (200, "hit")
    fake_clock.advance(20)
    stale = client.get(url, headers=only)  # would need validation: not allowed to ask
    assert (stale.status_code, stale.cache_status) == (504, "miss")
    assert origin.hits(key) == 1


def test_the_clients_own_conditional_request_is_answered_304_from_the_cache(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    validated(origin, key, "max-age=60")
    client.get(url)
    response = client.get(url, headers={"If-None-Match": V1})
    assert (response.status_code, response.cache_status) == (304, "hit")
    assert response.content == b""
    other = client.get(url, headers={"If-None-Match": '"v0"'})
    assert (other.status_code, other.cache_status) == (200, "hit")
    assert origin.hits(key) == 1


def test_cache_mode_refresh_validates_a_fresh_entry(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    validated(origin, key, "max-age=600")
    client.get(url)
    refreshed = client.get(url, cache_mode="refresh")
    assert refreshed.cache_status == "revalidated"
    assert origin.seen(key)[-1].headers["if-none-match"] == V1
    origin.update(key, ETag='"v2"')
    replaced = client.get(url, cache_mode="refresh")
    assert (replaced.cache_status, replaced.json()["version"]) == ("miss", 2)
    hit = client.get(url)
    assert (hit.cache_status, hit.json()["version"]) == ("hit", 2)
    assert origin.hits(key) == 3


def test_cache_mode_refresh_without_a_validator_refetches_and_stores(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    client.get(url)
    origin.update(key)
    refetched = client.get(url, cache_mode="refresh")
    assert (refetched.cache_status, refetched.json()["version"]) == ("miss", 2)
    assert "if-none-match" not in origin.seen(key)[-1].headers
    assert client.get(url).json()["version"] == 2
    assert origin.hits(key) == 2


def test_cache_mode_skip_neither_reads_nor_writes(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    skipped = client.get(url, cache_mode="skip")
    assert skipped.cache_status == "bypass"
    assert stored(storage, url) == []
    client.get(url)
    origin.update(key)
    again = client.get(url, cache_mode="skip")
    assert (again.cache_status, again.json()["version"]) == ("bypass", 2)
    kept = client.get(url)
    assert (kept.cache_status, kept.json()["version"]) == ("hit", 1)
    assert origin.hits(key) == 3


def test_a_custom_cache_key_is_shared_by_other_urls(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    first = client.get(f"{url}?page=1&ts=1", cache_key=f"page-1-{key}")
    second = client.get(f"{url}?page=1&ts=2", cache_key=f"page-1-{key}")
    assert second.cache_status == "hit"
    assert second.content == first.content
    assert client.get(f"{url}?page=1&ts=2").cache_status == "miss"  # its own URL key
    assert origin.hits(key) == 2


def test_a_head_revalidates_the_stored_get(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    validated(origin, key)
    got = client.get(url)
    fake_clock.advance(20)
    head = client.head(url)
    assert (head.status_code, head.cache_status, head.content) == (200, "revalidated", b"")
    assert origin.seen(key)[-1].method == "HEAD"
    hit = client.get(url)
    assert (hit.cache_status, hit.content) == ("hit", got.content)
    assert origin.hits(key) == 2


def test_a_head_showing_a_new_version_removes_the_stored_get(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    validated(origin, key)
    client.get(url)
    origin.update(key, ETag='"v2"')
    fake_clock.advance(20)
    head = client.head(url)
    assert (head.status_code, head.cache_status) == (200, "miss")
    fresh = client.get(url)
    assert (fresh.cache_status, fresh.json()["version"]) == ("miss", 2)
    assert "if-none-match" not in origin.seen(key)[-1].headers  # nothing left to validate
