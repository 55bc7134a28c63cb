"""RFC 9111 §4.4: unsafe methods invalidate the target URI and same-origin Location URIs."""

from __future__ import annotations

import pytest

from restwell.policy.cache import CacheAction, CachePolicy
from tests.cache_policy.support import KEY, PRIVATE, T0, URL, http_date, lookup, store


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "M-SEARCH", "post"])
@pytest.mark.parametrize("status", [200, 201, 204, 301, 303, 399])
def test_s4_4_unsafe_method_with_non_error_status_invalidates_the_target(
    method: str, status: int
) -> None:
    assert PRIVATE.invalidation_keys(method, URL, status, []) == (KEY,)


@pytest.mark.parametrize("status", [100, 199, 400, 404, 409, 500, 503])
def test_s4_4_error_responses_invalidate_nothing(status: int) -> None:
    assert PRIVATE.invalidation_keys("POST", URL, status, []) == ()


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE"])
def test_s4_4_safe_methods_invalidate_nothing(method: str) -> None:
    assert PRIVATE.invalidation_keys(method, URL, 200, [("Location", "/x")]) == ()


def test_s4_4_same_origin_location_and_content_location_are_invalidated() -> None:
    keys = PRIVATE.invalidation_keys(
        "POST",
        "https://api.example.com/items",
        201,
        [("Location", "/items/1"), ("Content-Location", "https://API.example.com:443/items/1?v=2")],
    )
    assert keys == (
        "GET https://api.example.com/items",
        "GET https://api.example.com/items/1",
        "GET https://api.example.com/items/1?v=2",
    )


def test_s4_4_relative_location_resolves_against_the_target() -> None:
    keys = PRIVATE.invalidation_keys("PUT", "https://api.example.com/a/b", 200, [("Location", "c")])
    assert keys == ("GET https://api.example.com/a/b", "GET https://api.example.com/a/c")


@pytest.mark.parametrize(
    "location",
    [
        "https://other.example.com/items/1",
        "http://api.example.com/items/1",  # another scheme is another origin
        "https://api.example.com:8443/items/1",
        "http://[::1",  # unparseable
        "",
    ],
)
def test_s4_4_other_origins_and_garbage_are_never_invalidated(location: str) -> None:
    keys = PRIVATE.invalidation_keys("POST", URL, 200, [("Location", location)])
    assert keys == (KEY,)


def test_s4_4_invalidation_keys_find_what_lookups_store() -> None:
    stored = store([("Cache-Control", "max-age=3600"), ("Date", http_date())])
    storage = {KEY: [stored]}
    for key in PRIVATE.invalidation_keys("DELETE", URL, 204, []):
        storage.pop(key, None)
    assert lookup(storage.get(KEY, []), T0 + 1).action is CacheAction.MISS


def test_s4_4_other_cacheable_methods_get_their_own_keys() -> None:
    policy = CachePolicy(cacheable_methods=frozenset({"GET", "HEAD", "QUERY"}))
    assert policy.invalidation_keys("POST", URL, 200, []) == (
        KEY,
        "QUERY https://api.example.com/items/1",
    )
