"""Private (default) and shared caches: s-maxage, private, proxy-revalidate, Authorization, public.

RFC 9111 §3 and §3.5, §4.2.1, §4.2.4, §5.2.2.7, §5.2.2.8, §5.2.2.9, §5.2.2.10.
"""

from __future__ import annotations

import pytest

from restwell.policy.cache import CacheAction, CachePolicy
from tests.cache_policy.support import (
    PRIVATE,
    SHARED,
    T0,
    decide,
    entry,
    header,
    http_date,
    lookup,
    store,
)

# ------------------------------------------------------------------ s-maxage (§5.2.2.10)


@pytest.mark.parametrize(
    ("lines", "shared", "private"),
    [
        (["s-maxage=3600, max-age=1"], 3600.0, 1.0),
        (["max-age=3600, s-maxage=1"], 1.0, 3600.0),
        (["s-maxage=1, max-age=3600"], 1.0, 3600.0),
        (["max-age=3600", "s-maxage=1"], 1.0, 3600.0),
        (["s-maxage=3600", "max-age=1"], 3600.0, 1.0),
        (["s-maxage=3600"], 3600.0, 0.0),
        (["s-maxage=abc, max-age=50"], 0.0, 50.0),  # invalid s-maxage: stale, shared only
    ],
)
def test_s4_2_1_s_maxage_is_the_lifetime_in_shared_caches_only(
    lines: list[str], shared: float, private: float
) -> None:
    stored = entry([("Cache-Control", line) for line in lines])
    assert SHARED.freshness_lifetime(stored) == shared
    assert PRIVATE.freshness_lifetime(stored) == private


def test_s5_2_2_10_s_maxage_overrides_expires_in_shared_caches() -> None:
    stored = entry([("Cache-Control", "s-maxage=10"), ("Expires", http_date(1000))])
    assert SHARED.freshness_lifetime(stored) == 10.0
    assert PRIVATE.freshness_lifetime(stored) == 1000.0


def test_s3_s_maxage_alone_makes_a_response_storable_in_shared_caches() -> None:
    headers = [("Cache-Control", "s-maxage=3600")]
    assert decide(headers, policy=SHARED, status=299).store
    assert not decide(headers, policy=PRIVATE, status=299).store


def test_s5_2_2_10_s_maxage_implies_proxy_revalidate_in_shared_caches() -> None:
    headers = [("Cache-Control", "s-maxage=2"), ("ETag", '"e"')]
    shared = store(headers, policy=SHARED)
    result = lookup(shared, T0 + 10, policy=SHARED, request={"cache-control": "max-stale"})
    assert result.action is CacheAction.REVALIDATE
    assert "s-maxage (§5.2.2.10)" in result.reason
    private = store([("Cache-Control", "max-age=2, s-maxage=2"), ("ETag", '"e"')])
    result = lookup(private, T0 + 10, request={"cache-control": "max-stale"})
    assert result.action is CacheAction.STALE


# ------------------------------------------------------------------ private (§5.2.2.7)


def test_s5_2_2_7_private_responses_are_not_stored_by_shared_caches() -> None:
    headers = [("Cache-Control", "private, max-age=3600")]
    decision = decide(headers, policy=SHARED)
    assert not decision.store
    assert decision.reason == "private response in a shared cache (§5.2.2.7)"
    assert lookup(store(headers), T0 + 1).action is CacheAction.FRESH


def test_s3_private_alone_makes_a_response_storable_in_private_caches() -> None:
    headers = [("Cache-Control", "private"), ("ETag", '"e"')]
    assert decide(headers, status=201).store
    assert not decide(headers, status=201, policy=SHARED).store


def test_s5_2_2_7_qualified_private_strips_the_named_fields_in_shared_caches() -> None:
    headers = [
        ("Cache-Control", 'private="Set-Cookie, X-User", max-age=60'),
        ("Set-Cookie", "session=1"),
        ("X-User", "alice"),
        ("X-Public", "yes"),
    ]
    shared = store(headers, policy=SHARED)
    assert header(shared.headers, "Set-Cookie") == []
    assert header(shared.headers, "X-User") == []
    assert header(shared.headers, "X-Public") == ["yes"]
    assert lookup(shared, T0 + 1, policy=SHARED).action is CacheAction.FRESH
    private = store(headers)
    assert header(private.headers, "Set-Cookie") == ["session=1"]


# ------------------------------------------------------------------ proxy-revalidate (§5.2.2.8)


def test_s5_2_2_8_proxy_revalidate_applies_to_shared_caches_only() -> None:
    headers = [("Cache-Control", "max-age=2, proxy-revalidate"), ("ETag", '"e"')]
    request = {"cache-control": "max-stale"}
    shared = lookup(store(headers, policy=SHARED), T0 + 10, policy=SHARED, request=request)
    assert shared.action is CacheAction.REVALIDATE
    assert "proxy-revalidate (§5.2.2.8)" in shared.reason
    private = lookup(store(headers), T0 + 10, request=request)
    assert private.action is CacheAction.STALE


def test_s5_2_2_2_must_revalidate_applies_to_both() -> None:
    headers = [("Cache-Control", "max-age=2, must-revalidate"), ("ETag", '"e"')]
    request = {"cache-control": "max-stale"}
    for policy in (PRIVATE, SHARED):
        result = lookup(store(headers, policy=policy), T0 + 10, policy=policy, request=request)
        assert result.action is CacheAction.REVALIDATE
        assert result.reason == (
            "stale by 8s; must-revalidate (§5.2.2.2) requires validation: validate with "
            "If-None-Match (§4.3.1)"
        )
        fresh = lookup(store(headers, policy=policy), T0 + 1, policy=policy)
        assert fresh.action is CacheAction.FRESH


# ------------------------------------------------------------------ Authorization (§3.5)


AUTH = {"authorization": "Bearer token"}


@pytest.mark.parametrize(
    ("headers", "shared_stores", "private_stores"),
    [
        ([("Expires", http_date(30 * 86400)), ("Date", http_date())], False, True),
        ([("Cache-Control", "max-age=3600")], False, True),
        ([("Cache-Control", "max-age=3600, public")], True, True),
        ([("Cache-Control", "max-age=3600, must-revalidate")], True, True),
        # Allowed in a shared cache; a private cache ignores s-maxage and finds no freshness.
        ([("Cache-Control", "s-maxage=3600")], True, False),
    ],
)
def test_s3_5_authorization_in_shared_caches(
    headers: list[tuple[str, str]], shared_stores: bool, private_stores: bool
) -> None:
    shared = decide(headers, policy=SHARED, request=AUTH)
    assert shared.store is shared_stores
    if not shared_stores:
        assert shared.reason == (
            "request had Authorization; a shared cache needs public, s-maxage or "
            "must-revalidate (§3.5)"
        )
    assert decide(headers, policy=PRIVATE, request=AUTH).store is private_stores


def test_s3_5_a_stored_authenticated_response_honours_the_directive_that_allowed_it() -> None:
    headers = [("Cache-Control", "max-age=10, must-revalidate"), ("ETag", '"e"')]
    stored = store(headers, policy=SHARED, request=AUTH)
    assert lookup(stored, T0 + 5, policy=SHARED, request=AUTH).action is CacheAction.FRESH
    stale = lookup(stored, T0 + 50, policy=SHARED, request={**AUTH, "cache-control": "max-stale"})
    assert stale.action is CacheAction.REVALIDATE


# ------------------------------------------------------------------ public (§5.2.2.9)


@pytest.mark.parametrize("policy", [PRIVATE, SHARED])
def test_s5_2_2_9_public_makes_a_response_storable_and_heuristically_fresh(
    policy: CachePolicy,
) -> None:
    headers = [
        ("Cache-Control", "public"),
        ("Last-Modified", http_date(-10000)),
        ("Date", http_date()),
    ]
    stored = store(headers, policy=policy, status=599)
    assert policy.freshness_lifetime(stored) == 1000.0
