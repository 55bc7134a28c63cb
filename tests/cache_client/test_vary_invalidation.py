"""Several stored variants per URL (``Vary``), and invalidation by unsafe methods (§4.4)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from restwell.cache import CacheStorage
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver, stored

FRESH = "cc=" + quote("max-age=600")


def lang(value: str | None) -> dict[str, str | None]:
    return {"Accept-Language": value}


def test_vary_keeps_one_variant_per_request_header_value(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{FRESH}&vary=Accept-Language"
    for value in ("en", "fr", None):
        response = client.get(target, headers=lang(value))
        assert response.cache_status == "miss"
        assert response.json()["accept-language"] == value
    for value in ("fr", None, "en"):
        response = client.get(target, headers=lang(value))
        assert response.cache_status == "hit", value
        assert response.json()["accept-language"] == value
    assert client.get(target, headers=lang("de")).cache_status == "miss"
    assert origin.hits(key) == 4
    assert len(stored(storage, target)) == 4


def test_vary_on_several_fields(client: Driver, origin: CacheOrigin, key: str, url: str) -> None:
    target = f"{url}?{FRESH}&vary=" + quote("Accept-Language, X-Tenant")
    client.get(target, headers={"Accept-Language": "en", "X-Tenant": "a"})
    other = client.get(target, headers={"Accept-Language": "en", "X-Tenant": "b"})
    assert other.cache_status == "miss"
    same = client.get(target, headers={"Accept-Language": "en", "X-Tenant": "a"})
    assert same.cache_status == "hit"
    assert origin.hits(key) == 2


def test_vary_star_is_never_reused(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    target = f"{url}?{FRESH}&vary=*"
    assert client.get(target).cache_status == "miss"
    assert client.get(target).cache_status == "miss"
    assert origin.hits(key) == 2
    assert stored(storage, target) == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_an_unsafe_method_invalidates_its_target(
    client: Driver, origin: CacheOrigin, key: str, url: str, method: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    client.get(url)
    assert client.get(url).cache_status == "hit"
    written = client.request(method, url)
    assert written.cache_status == "bypass"
    assert 200 <= written.status_code < 300
    again = client.get(url)
    assert again.cache_status == "miss"
    assert origin.hits(key) == 3


def test_same_origin_location_and_content_location_are_invalidated(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    a, b, c = (f"{url}-{name}" for name in "abc")
    for target in (a, b, c):
        origin.set(target.rsplit("/", 1)[1], {"Cache-Control": "max-age=600"})
        client.get(target)
        assert client.get(target).cache_status == "hit"
    # Location relative, Content-Location absolute; a Location on another origin (localhost
    # is another host name for the same server) is not the cache's to invalidate (§4.4).
    other_origin = f"http://localhost:{origin.port}/r/{key}-c"
    query = "location=" + quote(f"/r/{key}-a") + "&content_location=" + quote(b)
    client.post(f"{url}?{query}")
    client.post(f"{url}?location=" + quote(other_origin))
    assert client.get(a).cache_status == "miss"
    assert client.get(b).cache_status == "miss"
    assert client.get(c).cache_status == "hit"


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_answer_invalidates_nothing(
    client: Driver, origin: CacheOrigin, key: str, url: str, status: int
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    client.get(url)
    failed = client.post(f"{url}?status={status}")
    assert failed.status_code == status
    assert client.get(url).cache_status == "hit"


def test_invalidation_reaches_entries_stored_with_the_same_credentials(
    make_client: ClientFactory, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    client = make_client(storage, token="alice")
    origin.set(key, {"Cache-Control": "max-age=600"})
    client.get(url)
    assert client.get(url).cache_status == "hit"
    client.put(url, json={"x": 1})
    assert client.get(url).cache_status == "miss"


def test_invalidation_reaches_entries_stored_with_other_credentials(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    alice = {"Authorization": "Bearer alice"}
    client.get(url, headers=alice)
    assert client.get(url, headers=alice).cache_status == "hit"
    client.put(url, headers={"Authorization": "Bearer bob"}, json={"x": 1})
    assert client.get(url, headers=alice).cache_status == "miss"


def test_a_write_with_cache_mode_skip_still_invalidates(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    client.get(url)
    written = client.post(url, cache_mode="skip")
    assert (written.status_code, written.cache_status) == (201, "bypass")
    assert client.get(url).cache_status == "miss"
