"""RFC 5861: stale-while-revalidate (§3) and stale-if-error (§4), within RFC 9111 §4.2.4."""

from __future__ import annotations

import pytest

from restwell.policy.cache import CacheAction, CachePolicy
from tests.cache_policy.support import PRIVATE, SHARED, T0, header, http_date, lookup, store

SWR = [
    ("Cache-Control", "max-age=60, stale-while-revalidate=30"),
    ("Date", http_date()),
    ("ETag", '"abc"'),
]
SIE = [("Cache-Control", "max-age=60, stale-if-error=300"), ("Date", http_date())]

# ------------------------------------------------------------------ stale-while-revalidate


def test_rfc5861_s3_within_the_window_serve_stale_and_revalidate_in_background() -> None:
    stored = store(SWR)
    result = lookup(stored, T0 + 70)
    assert result.action is CacheAction.STALE
    assert result.revalidate_in_background
    assert result.hit
    assert result.conditional_headers == (("If-None-Match", '"abc"'),)
    assert result.response is not None
    assert result.response.age == 70
    assert result.reason == (
        "stale by 10s, within stale-while-revalidate=30: revalidate in the background (RFC 5861 §3)"
    )


def test_rfc5861_s3_beyond_the_window_revalidate_first() -> None:
    result = lookup(store(SWR), T0 + 91)
    assert result.action is CacheAction.REVALIDATE
    assert not result.revalidate_in_background


def test_rfc5861_s3_fresh_responses_are_simply_fresh() -> None:
    result = lookup(store(SWR), T0 + 59)
    assert result.action is CacheAction.FRESH
    assert not result.revalidate_in_background


@pytest.mark.parametrize("request_cc", ["no-cache", "max-age=5", "min-fresh=1"])
def test_rfc5861_s3_request_directives_asking_for_fresher_win(request_cc: str) -> None:
    result = lookup(store(SWR), T0 + 70, request={"cache-control": request_cc})
    assert result.action is CacheAction.REVALIDATE


def test_rfc5861_s3_must_revalidate_forbids_it() -> None:
    stored = store(
        [
            ("Cache-Control", "max-age=60, stale-while-revalidate=30, must-revalidate"),
            ("ETag", '"a"'),
        ]
    )
    assert lookup(stored, T0 + 70).action is CacheAction.REVALIDATE


def test_rfc5861_s3_s_maxage_forbids_it_in_a_shared_cache_only() -> None:
    headers = [("Cache-Control", "s-maxage=60, stale-while-revalidate=30"), ("ETag", '"a"')]
    shared = store(headers, policy=SHARED)
    assert lookup(shared, T0 + 70, policy=SHARED).action is CacheAction.REVALIDATE
    private = store([("Cache-Control", "max-age=60, s-maxage=60, stale-while-revalidate=30")])
    assert lookup(private, T0 + 70).action is CacheAction.STALE


def test_rfc5861_s3_without_validators_background_refetch_is_unconditional() -> None:
    stored = store([("Cache-Control", "max-age=0, stale-while-revalidate=3600")])
    result = lookup(stored, T0 + 100)
    assert result.action is CacheAction.STALE
    assert result.revalidate_in_background
    assert result.conditional_headers == ()


# ------------------------------------------------------------------ stale-if-error


@pytest.mark.parametrize("status", [500, 502, 503, 504, None])
def test_rfc5861_s4_response_stale_if_error_covers_errors_and_unreachable_origins(
    status: int | None,
) -> None:
    stored = store(SIE)
    result = PRIVATE.stale_on_error("GET", {}, stored, T0 + 200, status)
    assert result is not None
    assert result.action is CacheAction.STALE
    assert result.entry is stored
    assert result.response is not None
    assert result.response.status == 200
    assert result.response.age == 200
    assert header(result.response.headers, "Age") == ["200"]
    failure = "unreachable" if status is None else f"answered {status}"
    assert result.reason == (
        f"origin {failure}; stale by 140s, within stale-if-error=300 (RFC 5861 §4)"
    )


@pytest.mark.parametrize("status", [200, 404, 429, 501, 505])
def test_rfc5861_s4_other_statuses_are_not_errors(status: int) -> None:
    assert PRIVATE.stale_on_error("GET", {}, store(SIE), T0 + 200, status) is None


def test_rfc5861_s4_beyond_the_allowance_the_error_goes_through() -> None:
    stored = store(SIE)
    assert PRIVATE.stale_on_error("GET", {}, stored, T0 + 360, 500) is not None
    assert PRIVATE.stale_on_error("GET", {}, stored, T0 + 361, 500) is None


def test_rfc5861_s4_request_stale_if_error() -> None:
    stored = store([("Cache-Control", "max-age=60"), ("Date", http_date())])
    assert PRIVATE.stale_on_error("GET", {}, stored, T0 + 200, 500) is None
    request = {"cache-control": "stale-if-error=3600"}
    result = PRIVATE.stale_on_error("GET", request, stored, T0 + 200, 500)
    assert result is not None
    short = {"cache-control": "stale-if-error=1"}
    assert PRIVATE.stale_on_error("GET", short, stored, T0 + 200, 500) is None


def test_rfc5861_s4_the_largest_allowance_counts() -> None:
    stored = store([("Cache-Control", "max-age=60, stale-if-error=10"), ("Date", http_date())])
    request = {"cache-control": "stale-if-error=1000"}
    assert PRIVATE.stale_on_error("GET", request, stored, T0 + 500, None) is not None


def test_s4_2_4_a_configured_allowance_stands_in_for_the_directive() -> None:
    stored = store([("Cache-Control", "max-age=60"), ("Date", http_date())])
    policy = CachePolicy(stale_if_error=100)
    assert policy.stale_on_error("GET", {}, stored, T0 + 160, 503) is not None
    assert policy.stale_on_error("GET", {}, stored, T0 + 161, 503) is None


@pytest.mark.parametrize(
    "cache_control",
    [
        "max-age=60, stale-if-error=300, must-revalidate",
        "max-age=60, stale-if-error=300, no-cache",
    ],
)
def test_s5_2_2_must_revalidate_and_no_cache_forbid_stale_if_error(cache_control: str) -> None:
    stored = store([("Cache-Control", cache_control), ("ETag", '"e"')])
    assert PRIVATE.stale_on_error("GET", {}, stored, T0 + 200, 500) is None
    assert PRIVATE.stale_on_error("GET", {}, stored, T0 + 200, None) is None


def test_s5_2_2_8_proxy_revalidate_forbids_stale_if_error_in_shared_caches_only() -> None:
    headers = [("Cache-Control", "max-age=60, stale-if-error=300, proxy-revalidate")]
    assert SHARED.stale_on_error("GET", {}, store(headers, policy=SHARED), T0 + 200) is None
    assert PRIVATE.stale_on_error("GET", {}, store(headers), T0 + 200) is not None


def test_rfc5861_s4_a_fresh_response_stands_in_too() -> None:
    stored = store(SIE)
    result = PRIVATE.stale_on_error("GET", {"cache-control": "no-cache"}, stored, T0 + 10, 502)
    assert result is not None
    assert result.reason.endswith("stale by 0s, within stale-if-error=300 (RFC 5861 §4)")


def test_rfc5861_s4_nothing_stored_nothing_served() -> None:
    assert PRIVATE.stale_on_error("GET", {}, None, T0, 500) is None


def test_rfc5861_s4_a_miss_keeps_the_entry_for_stale_if_error() -> None:
    stored = store([("Cache-Control", "max-age=0, stale-if-error=3600")])
    decision = lookup(stored, T0 + 10)
    assert decision.action is CacheAction.MISS
    result = PRIVATE.stale_on_error("GET", {}, decision.entry, T0 + 11, 500)
    assert result is not None
    assert result.response is not None
    assert result.response.body == b"body"


def test_rfc5861_storage_keeps_entries_for_their_stale_windows() -> None:
    stored = store([("Cache-Control", "max-age=60, stale-if-error=300")])
    policy = CachePolicy(keep_stale=0)
    assert policy.storage_ttl(stored, T0) == 360.0
    assert policy.storage_ttl(stored, T0 + 100) == 260.0
    assert PRIVATE.storage_ttl(stored, T0) == 60 + 86400.0
