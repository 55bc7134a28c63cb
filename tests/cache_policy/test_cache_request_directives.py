"""RFC 9111 §5.2.1 request directives, §5.4 Pragma, and what the cache leaves alone (§4)."""

from __future__ import annotations

import math

import pytest

from restwell.policy.cache import CacheAction, CachePolicy
from tests.cache_policy.support import T0, http_date, lookup, store

FRESH = [("Cache-Control", "max-age=3600"), ("Date", http_date()), ("ETag", '"v1"')]


# ------------------------------------------------------------------ §5.2.1.1 max-age


@pytest.mark.parametrize(
    ("request_cc", "action"),
    [
        ("max-age=0", CacheAction.REVALIDATE),
        ("max-age=9", CacheAction.REVALIDATE),  # age is 10
        ("max-age=10", CacheAction.FRESH),
        ("MAX-AGE=3600", CacheAction.FRESH),
        ("max-age=abc", CacheAction.REVALIDATE),  # invalid: read as 0, the safe side
    ],
)
def test_s5_2_1_1_request_max_age_bounds_the_age(request_cc: str, action: CacheAction) -> None:
    result = lookup(store(FRESH), T0 + 10, request={"cache-control": request_cc})
    assert result.action is action


def test_s5_2_1_1_request_max_age_against_an_aged_response() -> None:
    stored = store([("Cache-Control", "max-age=3600"), ("Age", "1800"), ("ETag", '"v"')])
    result = lookup(stored, T0, request={"cache-control": "max-age=600"})
    assert result.action is CacheAction.REVALIDATE
    assert result.reason == (
        "age 1800s over request max-age=600 (§5.2.1.1): validate with If-None-Match (§4.3.1)"
    )


# ------------------------------------------------------------------ §5.2.1.2 max-stale


def test_s5_2_1_2_max_stale_serves_within_its_bound() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("Date", http_date()), ("ETag", '"v"')])
    within = lookup(stored, T0 + 500, request={"cache-control": "max-stale=1000"})
    assert within.action is CacheAction.STALE
    assert within.reason == "stale by 499s, within request max-stale (§5.2.1.2)"
    assert within.response is not None
    assert within.response.age == 500
    assert not within.revalidate_in_background
    beyond = lookup(stored, T0 + 1500, request={"cache-control": "max-stale=1000"})
    assert beyond.action is CacheAction.REVALIDATE


def test_s5_2_1_2_max_stale_with_an_aged_response() -> None:
    stored = store([("Cache-Control", "max-age=1500"), ("Age", "2000")])
    result = lookup(stored, T0, request={"cache-control": "max-stale=1000"})
    assert result.action is CacheAction.STALE


def test_s5_2_1_2_max_stale_without_value_accepts_any_staleness() -> None:
    stored = store([("Cache-Control", "max-age=1")])
    result = lookup(stored, T0 + 10**8, request={"cache-control": "max-stale"})
    assert result.action is CacheAction.STALE
    assert CachePolicy.request_directives({"cache-control": "max-stale"}).max_stale == math.inf


def test_s5_2_1_2_max_stale_does_not_override_request_max_age() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("ETag", '"v"')])
    request = {"cache-control": "max-stale=1000, max-age=100"}
    assert lookup(stored, T0 + 50, request=request).action is CacheAction.STALE
    assert lookup(stored, T0 + 200, request=request).action is CacheAction.REVALIDATE


@pytest.mark.parametrize("directive", ["must-revalidate", "no-cache"])
def test_s5_2_1_2_max_stale_cannot_override_must_revalidate_or_no_cache(directive: str) -> None:
    stored = store([("Cache-Control", f"max-age=1, {directive}"), ("ETag", '"v"')])
    result = lookup(stored, T0 + 5, request={"cache-control": "max-stale"})
    assert result.action is CacheAction.REVALIDATE


# ------------------------------------------------------------------ §5.2.1.3 min-fresh


@pytest.mark.parametrize(
    ("headers", "min_fresh", "action"),
    [
        ([("Cache-Control", "max-age=1500"), ("ETag", '"v"')], "2000", CacheAction.REVALIDATE),
        (
            [("Cache-Control", "max-age=1500"), ("Age", "1000"), ("ETag", '"v"')],
            "1000",
            CacheAction.REVALIDATE,
        ),
        ([("Cache-Control", "max-age=1500"), ("Age", "1000")], "500", CacheAction.FRESH),
        ([("Cache-Control", "max-age=1500"), ("Age", "1000")], "499", CacheAction.FRESH),
    ],
)
def test_s5_2_1_3_min_fresh(
    headers: list[tuple[str, str]], min_fresh: str, action: CacheAction
) -> None:
    stored = store(headers)
    result = lookup(stored, T0, request={"cache-control": f"min-fresh={min_fresh}"})
    assert result.action is action


# ------------------------------------------------------------------ §5.2.1.4 no-cache, §5.4


def test_s5_2_1_4_no_cache_validates_a_fresh_response() -> None:
    stored = store([*FRESH, ("Last-Modified", http_date(-10000))])
    result = lookup(stored, T0 + 1, request={"cache-control": "no-cache"})
    assert result.action is CacheAction.REVALIDATE
    assert result.conditional_headers == (
        ("If-None-Match", '"v1"'),
        ("If-Modified-Since", http_date(-10000)),
    )
    assert result.reason.startswith("request no-cache (§5.2.1.4)")


def test_s5_2_1_4_no_cache_without_validators_is_a_full_request() -> None:
    stored = store([("Cache-Control", "max-age=3600")])
    result = lookup(stored, T0 + 1, request={"cache-control": "no-cache"})
    assert result.action is CacheAction.MISS
    assert result.entry is stored


def test_s5_4_pragma_no_cache_counts_when_there_is_no_cache_control() -> None:
    result = lookup(store(FRESH), T0 + 1, request={"pragma": "no-cache"})
    assert result.action is CacheAction.REVALIDATE
    assert result.reason.startswith("Pragma: no-cache (§5.4)")


def test_s5_4_pragma_is_ignored_beside_cache_control_and_for_other_values() -> None:
    both = {"pragma": "no-cache", "cache-control": "max-stale=5"}
    assert lookup(store(FRESH), T0 + 1, request=both).action is CacheAction.FRESH
    other = {"pragma": "unrecognised-extension"}
    assert lookup(store(FRESH), T0 + 1, request=other).action is CacheAction.FRESH


def test_s5_4_pragma_in_a_response_means_nothing() -> None:
    stored = store([*FRESH, ("Pragma", "no-cache")])
    assert lookup(stored, T0 + 1).action is CacheAction.FRESH


# ------------------------------------------------------------------ §5.2.1.5 no-store


def test_s5_2_1_5_request_no_store_may_still_be_answered_from_the_cache() -> None:
    # "If a request containing this directive is satisfied from a cache, the no-store
    # request directive does not apply to the already stored response."
    result = lookup(store(FRESH), T0 + 1, request={"cache-control": "no-store"})
    assert result.action is CacheAction.FRESH


# ------------------------------------------------------------------ §5.2.1.7 only-if-cached


def test_s5_2_1_7_only_if_cached_with_nothing_stored() -> None:
    result = lookup([], T0, request={"cache-control": "only-if-cached"})
    assert result.action is CacheAction.ONLY_IF_CACHED_MISS
    assert result.entry is None
    assert result.reason == "nothing stored; only-if-cached (§5.2.1.7)"


def test_s5_2_1_7_only_if_cached_serves_a_fresh_response() -> None:
    result = lookup(store(FRESH), T0 + 1, request={"cache-control": "only-if-cached"})
    assert result.action is CacheAction.FRESH


def test_s5_2_1_7_only_if_cached_with_a_stale_response_does_not_validate() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("ETag", '"v"')])
    result = lookup(stored, T0 + 10, request={"cache-control": "only-if-cached"})
    assert result.action is CacheAction.ONLY_IF_CACHED_MISS
    assert result.entry is stored
    assert result.conditional_headers == ()
    allowed = lookup(stored, T0 + 10, request={"cache-control": "only-if-cached, max-stale"})
    assert allowed.action is CacheAction.STALE


def test_s5_2_1_7_only_if_cached_and_a_vary_mismatch() -> None:
    stored = store([*FRESH, ("Vary", "Foo")], request={"foo": "1"})
    result = lookup(stored, T0, request={"cache-control": "only-if-cached", "foo": "2"})
    assert result.action is CacheAction.ONLY_IF_CACHED_MISS


# ------------------------------------------------------------------ §4 methods and ranges


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "M-SEARCH"])
def test_s4_unsafe_and_unknown_methods_are_written_through(method: str) -> None:
    result = lookup(store(FRESH), T0 + 1, method=method)
    assert result.action is CacheAction.BYPASS
    assert result.reason == (
        f"{method} is unsafe: written through (§4); success invalidates the URI (§4.4)"
    )


def test_s4_options_is_not_cached() -> None:
    result = lookup(store(FRESH), T0 + 1, method="OPTIONS")
    assert result.action is CacheAction.BYPASS
    assert result.reason == "OPTIONS is not cached"


def test_s4_head_can_be_left_out_of_the_cacheable_methods() -> None:
    policy = CachePolicy(cacheable_methods=frozenset({"GET"}))
    assert lookup(store(FRESH), T0 + 1, method="HEAD", policy=policy).action is (CacheAction.BYPASS)


def test_s4_unsafe_methods_cannot_be_made_cacheable() -> None:
    with pytest.raises(ValueError, match="unsafe methods are written through"):
        CachePolicy(cacheable_methods=frozenset({"GET", "post"}))


def test_s3_3_range_requests_the_cache_cannot_answer_bypass_it() -> None:
    # One byte range is cut from the stored response (tests/cache_policy/test_cache_ranges.py);
    # several ranges go to the origin (RFC 9110 §14.2).
    result = lookup(store(FRESH), T0 + 1, request={"range": "bytes=0-1, 3-4"})
    assert result.action is CacheAction.BYPASS
    result = lookup(store(FRESH), T0 + 1, request={"range": "bytes=0-1"})
    assert result.action is CacheAction.FRESH
    assert result.response is not None
    assert result.response.status == 206


def test_s5_2_1_request_directive_parsing_is_tolerant() -> None:
    request = {"cache-control": 'max-age =5, "junk, no-cache=, max-stale=x'}
    result = lookup(store(FRESH), T0 + 1, request=request)
    assert result.action is CacheAction.FRESH
