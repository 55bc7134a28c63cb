"""RFC 9111 §3: which responses may be stored, and what of them (§3.1, §3.3, §3.5, §5.2.2)."""

from __future__ import annotations

import pytest

from restwell.policy.cache import CacheAction, CachePolicy, StoredResponse
from tests.cache_policy.support import (
    KEY,
    PRIVATE,
    T0,
    URL,
    decide,
    header,
    http_date,
    lookup,
    store,
)

FRESH = [("Cache-Control", "max-age=3600"), ("Date", http_date())]


def test_s3_fresh_response_is_stored_under_method_and_uri_key() -> None:
    decision = decide([("Cache-Control", "max-age=60"), ("Date", http_date())])
    assert decision.store
    assert decision.key == KEY
    assert decision.entry is not None
    assert decision.entry.method == "GET"
    assert decision.entry.url == URL
    assert decision.entry.status == 200
    assert decision.entry.body == b"body"
    # 60 s fresh, then kept a day (keep_stale) for max-stale / stale-if-error use
    assert decision.ttl == 60 + 86400
    assert decision.reason == "stored: fresh for 60s"


def test_s3_caller_supplied_key_wins() -> None:
    decision = PRIVATE.decide_store("GET", URL, {}, 200, FRESH, b"", T0, T0, key="tenant-7:items/1")
    assert decision.key == "tenant-7:items/1"


@pytest.mark.parametrize("value", ["no-store", "No-StOrE", "max-age=10000, no-store"])
def test_s5_2_2_5_no_store_response_is_not_stored(value: str) -> None:
    decision = decide([("Cache-Control", value), ("Expires", http_date(10000))])
    assert not decision.store
    assert decision.entry is None
    assert "no-store" in decision.reason


def test_s5_2_1_5_request_no_store_prevents_storing() -> None:
    decision = decide(FRESH, request={"cache-control": "no-store"})
    assert not decision.store
    assert decision.reason == "request no-store (§5.2.1.5)"


def test_s5_2_2_3_must_understand_overrides_no_store_for_understood_status() -> None:
    decision = decide([("Cache-Control", "must-understand, no-store, max-age=60")])
    assert decision.store


@pytest.mark.parametrize("status", [299, 226, 418])
def test_s5_2_2_3_must_understand_with_unknown_status_is_not_stored(status: int) -> None:
    decision = decide([("Cache-Control", "must-understand, max-age=60")], status=status)
    assert not decision.store
    assert "must-understand" in decision.reason


@pytest.mark.parametrize("status", [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501])
def test_s4_2_2_heuristically_cacheable_status_with_last_modified_is_stored(status: int) -> None:
    entry = store(
        [("Last-Modified", http_date(-86400)), ("Date", http_date())], status=status, body=b""
    )
    assert PRIVATE.freshness_lifetime(entry) == 8640.0
    assert lookup(entry, T0 + 100).action is CacheAction.FRESH


@pytest.mark.parametrize("status", [201, 202, 403, 502, 503, 504, 599])
def test_s3_other_status_without_explicit_freshness_is_not_stored(status: int) -> None:
    decision = decide([("Last-Modified", http_date(-86400)), ("Date", http_date())], status=status)
    assert not decision.store
    assert decision.reason == (
        f"status {status} with no explicit freshness or public is not storable (§3)"
    )


@pytest.mark.parametrize(
    "status", [200, 203, 204, 299, 301, 302, 303, 307, 308, 400, 404, 410, 499, 500, 502, 599]
)
def test_s3_any_final_status_with_explicit_freshness_is_stored(status: int) -> None:
    entry = store(FRESH, status=status)
    assert lookup(entry, T0 + 10).action is CacheAction.FRESH


def test_s4_2_2_public_makes_unknown_status_heuristically_cacheable() -> None:
    entry = store(
        [
            ("Cache-Control", "public"),
            ("Last-Modified", http_date(-86400)),
            ("Date", http_date()),
        ],
        status=599,
    )
    assert PRIVATE.freshness_lifetime(entry) == 8640.0


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (206, "partial content is not stored (§3.3, §3.4)"),
        (304, "a 304 is not stored; it freshens stored responses (§4.3.4)"),
        (100, "100 is not a final response (§3)"),
        (103, "103 is not a final response (§3)"),
    ],
)
def test_s3_partial_not_modified_and_interim_responses_are_not_stored(
    status: int, reason: str
) -> None:
    decision = decide(FRESH, status=status)
    assert not decision.store
    assert decision.reason == reason


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "M-SEARCH"])
def test_s3_responses_to_other_methods_are_not_stored(method: str) -> None:
    decision = decide(FRESH, method=method)
    assert not decision.store
    assert decision.reason == f"{method} responses are not stored (§3)"


def test_s4_3_5_head_responses_are_not_stored() -> None:
    decision = decide(FRESH, method="HEAD")
    assert not decision.store
    assert "§4.3.5" in decision.reason


def test_rfc9110_s9_3_3_a_201_to_post_is_not_kept_for_get() -> None:
    headers = [("Cache-Control", "max-age=60"), ("Content-Location", "/items/1")]
    assert not decide(headers, method="POST", status=201).store


def test_rfc9110_s9_3_3_post_with_content_location_of_target_answers_later_get() -> None:
    headers = [
        ("Expires", http_date(30 * 86400)),
        ("Date", http_date()),
        ("Content-Location", "/items/1"),
    ]
    decision = decide(headers, method="POST")
    assert decision.store
    assert decision.key == KEY
    assert decision.entry is not None
    assert decision.entry.method == "POST"
    result = lookup(decision.entry, T0 + 5)
    assert result.action is CacheAction.FRESH


@pytest.mark.parametrize(
    "headers",
    [
        [("Cache-Control", "max-age=60")],  # no Content-Location
        [("Cache-Control", "max-age=60"), ("Content-Location", "/items/2")],  # another URI
        [("Content-Location", "/items/1")],  # no explicit freshness
    ],
)
def test_rfc9110_s9_3_3_other_post_responses_are_not_stored(headers: list[tuple[str, str]]) -> None:
    assert not decide(headers, method="POST").store


@pytest.mark.parametrize("vary", ["*", "*, *", ", *", "*, Foo", "Foo, *"])
def test_s4_1_vary_star_is_not_stored(vary: str) -> None:
    decision = decide([*FRESH, ("Vary", vary)])
    assert not decision.store
    assert decision.reason == "Vary: * never matches a later request (§4.1)"


def test_s4_1_vary_star_on_separate_lines_is_not_stored() -> None:
    assert not decide([*FRESH, ("Vary", ""), ("Vary", "*")]).store


def test_s3_1_hop_by_hop_and_connection_listed_fields_are_not_stored() -> None:
    entry = store(
        [
            *FRESH,
            ("Connection", "a, B"),
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Proxy-Authenticate", "Basic"),
            ("Proxy-Authentication-Info", "x"),
            ("Proxy-Authorization", "Basic abc"),
        ]
    )
    assert entry.headers == (*FRESH, ("c", "3"))


def test_s3_1_other_fields_are_stored_as_received_in_order() -> None:
    received = [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=b"),
        ("Set-Cookie", "c=d"),
        ("X-Frame-Options", "deny"),
        ("WWW-Authenticate", "Basic"),
        ("Strict-Transport-Security", "max-age=1"),
        *FRESH,
    ]
    assert store(received).headers == tuple(received)


def test_s5_2_2_4_qualified_no_cache_fields_are_not_stored_the_rest_is_reused() -> None:
    entry = store(
        [
            ("Cache-Control", 'no-cache="a, b"'),
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("Cache-Control", "max-age=3600"),
            ("Date", http_date()),
        ]
    )
    assert header(entry.headers, "a") == []
    assert header(entry.headers, "b") == []
    assert header(entry.headers, "c") == ["3"]
    result = lookup(entry, T0 + 10)
    assert result.action is CacheAction.FRESH


def test_rfc9110_s6_6_1_date_is_added_when_the_response_has_none() -> None:
    entry = store([("Cache-Control", "max-age=60")], received=T0 + 2)
    assert entry.headers == (("Cache-Control", "max-age=60"), ("Date", http_date(2)))


def test_s3_3_incomplete_body_is_not_stored() -> None:
    decision = decide([*FRESH, ("Content-Length", "10")], body=b"0123")
    assert not decision.store
    assert decision.reason == "incomplete response (§3.3)"
    caller_says = PRIVATE.decide_store("GET", URL, {}, 200, FRESH, b"", T0, T0, complete=False)
    assert not caller_says.store


def test_s3_3_complete_body_and_decoded_content_codings_are_stored() -> None:
    assert decide([*FRESH, ("Content-Length", "4")], body=b"0123").store
    # A decoded body no longer has the coded length: not treated as incomplete.
    assert decide(
        [*FRESH, ("Content-Length", "10"), ("Content-Encoding", "gzip")], body=b"0123"
    ).store


@pytest.mark.parametrize(
    ("headers", "stored"),
    [
        ([], False),  # no freshness, no validator: nothing to reuse
        ([("Date", http_date())], False),
        ([("Cache-Control", "max-age=0")], False),  # stale on arrival, no validator
        ([("Cache-Control", "max-age=0, must-revalidate")], False),
        ([("ETag", '"v1"')], True),  # a validator makes it reusable after a 304
        ([("Cache-Control", "no-cache"), ("ETag", '"v1"')], True),
        ([("Cache-Control", "no-cache")], False),
        ([("Cache-Control", "no-cache, max-age=3600")], False),  # must validate, cannot
        ([("Cache-Control", "max-age=0, stale-if-error=60")], True),
        ([("Cache-Control", "max-age=0, stale-while-revalidate=60")], True),
    ],
)
def test_s3_only_responses_that_can_be_reused_are_stored(
    headers: list[tuple[str, str]], stored: bool
) -> None:
    assert decide(headers).store is stored


def test_s3_stored_response_with_only_a_validator_needs_validation() -> None:
    entry = store([("ETag", '"v1"'), ("Date", http_date())])
    result = lookup(entry, T0 + 1)
    assert result.action is CacheAction.REVALIDATE
    assert result.conditional_headers == (("If-None-Match", '"v1"'),)


def test_s3_a_configured_stale_if_error_makes_no_freshness_responses_storable() -> None:
    policy = CachePolicy(stale_if_error=300)
    decision = decide([("Cache-Control", "max-age=0")], policy=policy)
    assert decision.store
    assert decision.ttl == 86400  # keep_stale dominates the 300 s window


def test_s3_vary_selected_request_fields_are_recorded() -> None:
    entry = store(
        [*FRESH, ("Vary", "Accept-Encoding, X-Missing")],
        request={"accept-encoding": "gzip", "other": "x"},
    )
    assert entry.vary_headers == (("accept-encoding", "gzip"), ("x-missing", None))


def test_s3_unparseable_response_fields_never_raise() -> None:
    decision = decide(
        [
            ("Cache-Control", 'max-age="'),
            ("Expires", "\x00garbage"),
            ("Date", "yesterday"),
            ("Vary", '"'),
            ("Content-Length", "-1"),
        ]
    )
    assert isinstance(decision.store, bool)


def test_s3_entry_is_a_stored_response() -> None:
    assert isinstance(store(FRESH), StoredResponse)
