"""RFC 9111 §4.3: conditional requests, 304 handling, freshening with 304 and HEAD, §3.2."""

from __future__ import annotations

import pytest

from restwell.policy.cache import (
    CacheAction,
    CacheDecision,
    CachePolicy,
    Freshened,
    StoredResponse,
)
from tests.cache_policy.support import (
    PRIVATE,
    SHARED,
    T0,
    header,
    http_date,
    lookup,
    store,
)

LM = http_date(-86400)

# ------------------------------------------------------------------ §4.3.1 sending validation


@pytest.mark.parametrize(
    ("validators", "conditional"),
    [
        ([("ETag", '"abcdef"')], (("If-None-Match", '"abcdef"'),)),
        ([("ETag", 'W/"abcdef"')], (("If-None-Match", 'W/"abcdef"'),)),
        ([("ETag", "abcdef")], (("If-None-Match", '"abcdef"'),)),  # quoted when sent
        ([("Last-Modified", LM)], (("If-Modified-Since", LM),)),
        (
            [("ETag", '"v"'), ("Last-Modified", LM)],
            (("If-None-Match", '"v"'), ("If-Modified-Since", LM)),
        ),
    ],
)
def test_s4_3_1_stale_response_is_validated_with_its_validators(
    validators: list[tuple[str, str]], conditional: tuple[tuple[str, str], ...]
) -> None:
    stored = store([("Cache-Control", "max-age=1"), ("Date", http_date()), *validators])
    result = lookup(stored, T0 + 5)
    assert result.action is CacheAction.REVALIDATE
    assert result.entry is stored
    assert result.conditional_headers == conditional
    assert result.response is None


def test_s4_3_1_without_validators_the_request_goes_unconditional_but_keeps_the_entry() -> None:
    stored = store([("Cache-Control", "max-age=1, stale-if-error=60"), ("Date", http_date())])
    result = lookup(stored, T0 + 5)
    assert result.action is CacheAction.MISS
    assert result.entry is stored  # still usable if the origin fails
    assert result.conditional_headers == ()
    assert "no validator" in result.reason


def test_s4_3_1_client_entity_tags_are_kept_after_the_stored_one() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("ETag", '"x"')])
    result = lookup(stored, T0 + 5, request={"if-none-match": '"mine", "x"'})
    assert result.conditional_headers == (("If-None-Match", '"x", "mine"'),)


def test_s4_3_1_client_if_none_match_star_is_left_alone() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("ETag", '"x"'), ("Last-Modified", LM)])
    result = lookup(stored, T0 + 5, request={"if-none-match": "*"})
    assert result.conditional_headers == (("If-Modified-Since", LM),)


def test_s4_3_1_an_invalid_last_modified_is_not_sent() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("ETag", '"x"'), ("Last-Modified", "never")])
    result = lookup(stored, T0 + 5)
    assert result.conditional_headers == (("If-None-Match", '"x"'),)


# ------------------------------------------------------------------ §4.3.2 client preconditions


def _status(decision: CacheDecision) -> int:
    assert decision.response is not None
    return decision.response.status


def _fresh(*extra: tuple[str, str], status: int = 200) -> StoredResponse:
    return store(
        [
            ("Cache-Control", "max-age=100000"),
            ("Date", http_date()),
            ("Content-Type", "text/plain"),
            *extra,
        ],
        status=status,
    )


@pytest.mark.parametrize(
    ("etag", "if_none_match", "status"),
    [
        ('"abcdef"', '"abcdef"', 304),
        ('"abcdef"', '"1234", "abcdef", "5678"', 304),
        ('"abcdef"', '"1234"', 200),
        ('"abcdef"', "*", 304),
        ('W/"abcdef"', 'W/"abcdef"', 304),
        ('w/"abcdef"', 'w/"abcdef"', 304),
        ('"abcdef"', 'W/"abcdef"', 304),  # If-None-Match uses the weak comparison
        ('"abcdef"', "abcdef", 304),  # unquoted forms compare by their opaque tag
        ("abcdef", '"abcdef"', 304),
        ('W\\"abcdef"', 'W\\"abcdef"', 304),
        ('"abcdefü"', '"abcdefü"', 304),
    ],
)
def test_s4_3_2_if_none_match_against_a_fresh_response(
    etag: str, if_none_match: str, status: int
) -> None:
    stored = _fresh(("ETag", etag))
    result = lookup(stored, T0 + 10, request={"if-none-match": if_none_match})
    assert result.action is CacheAction.FRESH
    assert result.response is not None
    assert result.response.status == status


def test_s4_3_2_a_304_from_the_cache_carries_etag_date_cache_control_and_age() -> None:
    stored = _fresh(("ETag", '"abcdef"'), ("Vary", "Foo"), ("Last-Modified", LM))
    result = lookup(stored, T0 + 10, request={"if-none-match": '"abcdef"'})
    assert result.response is not None
    assert result.response.status == 304
    assert result.response.body == b""
    assert result.response.headers == (
        ("Cache-Control", "max-age=100000"),
        ("Date", http_date()),
        ("ETag", '"abcdef"'),
        ("Vary", "Foo"),
        ("Age", "10"),
    )


def test_s4_3_2_if_none_match_takes_precedence_over_if_modified_since() -> None:
    stored = _fresh(("ETag", '"abcdef"'), ("Last-Modified", LM))
    matching_inm = {"if-none-match": '"abcdef"', "if-modified-since": http_date(-90000)}
    other_inm = {"if-none-match": '"other"', "if-modified-since": http_date()}
    assert _status(lookup(stored, T0 + 1, request=matching_inm)) == 304
    assert _status(lookup(stored, T0 + 1, request=other_inm)) == 200


@pytest.mark.parametrize(
    ("ims", "status"),
    [
        (http_date(-86400), 304),  # same as Last-Modified
        (http_date(-2000), 304),  # later than Last-Modified
        (http_date(-90000), 200),  # earlier: modified since
        ("Monday, 13-Nov-23 22:13:20 GMT", 304),  # RFC 850 form of T0 - 86400
        ("not a date", 200),  # invalid: ignored
    ],
)
def test_s4_3_2_if_modified_since_against_last_modified(ims: str, status: int) -> None:
    stored = _fresh(("Last-Modified", LM))
    result = lookup(stored, T0 + 1, request={"if-modified-since": ims})
    assert result.response is not None
    assert result.response.status == status


def test_s4_3_2_if_modified_since_uses_date_when_there_is_no_last_modified() -> None:
    stored = _fresh()
    assert _status(lookup(stored, T0 + 1, request={"if-modified-since": http_date()})) == 304
    assert _status(lookup(stored, T0 + 1, request={"if-modified-since": http_date(-1)})) == 200


def test_s4_3_2_preconditions_only_apply_to_stored_2xx() -> None:
    stored = _fresh(("ETag", '"abcdef"'), status=404)
    result = lookup(stored, T0 + 1, request={"if-none-match": '"abcdef"'})
    assert result.response is not None
    assert result.response.status == 404


# ------------------------------------------------------------------ §4.3.3-4.3.4 304 handling

ETAG = '"etag-1"'


def _validated(*extra: tuple[str, str]) -> StoredResponse:
    # Stored at T0, fresh for 1 s, with an upstream Age and a Content-Length.
    return store(
        [
            ("Cache-Control", "max-age=1"),
            ("Date", http_date()),
            ("Age", "5"),
            ("ETag", ETAG),
            ("Content-Length", "4"),
            ("Test-Header", "A"),
            *extra,
        ],
        body=b"body",
    )


def _freshen(
    stored: list[StoredResponse],
    headers: list[tuple[str, str]],
    request: dict[str, str] | None = None,
    policy: CachePolicy = PRIVATE,
) -> Freshened:
    return policy.freshen("GET", request or {}, headers, stored, T0 + 99, T0 + 100)


def test_s4_3_4_a_304_with_the_strong_etag_updates_the_stored_response() -> None:
    stored = _validated()
    result = _freshen(
        [stored],
        [
            ("Cache-Control", "max-age=3600"),
            ("Date", http_date(100)),
            ("ETag", ETAG),
            ("Content-Length", "999"),
            ("Test-Header", "B"),
        ],
    )
    assert result.entry is not None
    assert result.updated == (result.entry,)
    assert result.removed == ()
    assert result.entry.headers == (
        ("Content-Length", "4"),  # §3.2: Content-Length is not updated
        ("Cache-Control", "max-age=3600"),
        ("Date", http_date(100)),
        ("ETag", ETAG),
        ("Test-Header", "B"),
    )
    assert result.entry.body == b"body"
    assert (result.entry.request_time, result.entry.response_time) == (T0 + 99, T0 + 100)
    # The old Age is gone: the age restarts from the validation (apparent 0, delay 1) + 10.
    served = lookup(result.entry, T0 + 110)
    assert served.action is CacheAction.FRESH
    assert served.response is not None
    assert served.response.age == 11
    assert header(served.response.headers, "Test-Header") == ["B"]


def test_s4_3_4_fields_the_304_omits_are_kept() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", ETAG), ("Date", http_date(100))])
    assert result.entry is not None
    assert header(result.entry.headers, "Test-Header") == ["A"]
    assert header(result.entry.headers, "Cache-Control") == ["max-age=1"]


def test_s4_3_4_a_304_without_date_gets_the_time_it_was_received() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", ETAG), ("Cache-Control", "max-age=60")])
    assert result.entry is not None
    assert header(result.entry.headers, "Date") == [http_date(100)]
    assert PRIVATE.is_fresh(result.entry, T0 + 150)


def test_s4_3_4_a_304_age_replaces_the_stored_one() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", ETAG), ("Date", http_date(100)), ("Age", "7")])
    assert result.entry is not None
    assert result.entry.age_value == 7


def test_s3_2_hop_by_hop_fields_of_a_304_are_not_stored() -> None:
    stored = _validated()
    result = _freshen(
        [stored], [("ETag", ETAG), ("Connection", "x-hop"), ("X-Hop", "1"), ("Keep-Alive", "5")]
    )
    assert result.entry is not None
    assert header(result.entry.headers, "X-Hop") == []
    assert header(result.entry.headers, "Keep-Alive") == []
    assert header(result.entry.headers, "Connection") == []


def test_s4_3_4_a_strong_etag_matching_nothing_updates_nothing() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", '"other"'), ("Cache-Control", "max-age=3600")])
    assert result.entry is None
    assert result.updated == ()
    assert result.reason == "the 304's strong ETag matches no stored response (§4.3.4)"


def test_s4_3_4_all_stored_responses_with_the_strong_etag_are_updated() -> None:
    a = store([("Cache-Control", "max-age=1"), ("ETag", ETAG), ("Vary", "Foo")])
    b = store([("Cache-Control", "max-age=1"), ("ETag", ETAG), ("Vary", "Bar")])
    c = store([("Cache-Control", "max-age=1"), ("ETag", '"etag-2"')])
    result = _freshen([a, b, c], [("ETag", ETAG), ("Cache-Control", "max-age=60")])
    assert len(result.updated) == 2
    assert {e.vary for e in result.updated} == {("foo",), ("bar",)}


def test_s4_3_4_weak_validators_update_the_most_recent_match() -> None:
    old = store(
        [("Cache-Control", "max-age=1"), ("ETag", 'W/"w"'), ("Date", http_date())], body=b"old"
    )
    new = store(
        [("Cache-Control", "max-age=1"), ("ETag", 'W/"w"'), ("Date", http_date(5))],
        body=b"new",
        received=T0 + 5,
    )
    result = _freshen([old, new], [("ETag", 'W/"w"'), ("Cache-Control", "max-age=60")])
    assert result.entry is not None
    assert result.entry.body == b"new"
    assert len(result.updated) == 1


def test_s4_3_4_last_modified_304_updates_the_matching_response() -> None:
    stored = store([("Cache-Control", "max-age=1"), ("Last-Modified", LM), ("Test-Header", "A")])
    result = _freshen(
        [stored],
        [("Cache-Control", "max-age=3600"), ("Last-Modified", LM), ("Test-Header", "B")],
    )
    assert result.entry is not None
    assert header(result.entry.headers, "Test-Header") == ["B"]
    other = _freshen([stored], [("Last-Modified", http_date(-5))])
    assert other.entry is None


def test_s4_3_4_a_304_without_validators_updates_the_only_candidate() -> None:
    stored = _validated()
    result = _freshen([stored], [("Cache-Control", "max-age=60")])
    assert result.entry is not None
    assert header(result.entry.headers, "Cache-Control") == ["max-age=60"]


def test_s4_3_4_no_validators_and_the_clients_own_precondition_updates_nothing() -> None:
    stored = _validated()
    result = _freshen([stored], [("Cache-Control", "max-age=60")], {"if-none-match": '"mine"'})
    assert result.entry is None
    assert result.updated == ()


def test_s4_3_4_no_validators_and_several_candidates_updates_nothing() -> None:
    a = store([("Cache-Control", "max-age=1"), ("ETag", '"a"')])
    b = store([("Cache-Control", "max-age=1"), ("ETag", '"b"')], received=T0 + 1)
    result = _freshen([a, b], [("Cache-Control", "max-age=60")])
    assert result.entry is None


def test_s4_3_4_only_responses_the_request_could_select_are_candidates() -> None:
    stored = store(
        [("Cache-Control", "max-age=1"), ("ETag", ETAG), ("Vary", "Foo")], request={"foo": "1"}
    )
    assert _freshen([stored], [("ETag", ETAG)], {"foo": "2"}).entry is None
    assert _freshen([stored], [("ETag", ETAG)], {"foo": "1"}).entry is not None


def test_s4_3_4_a_304_that_changes_vary_moves_the_variant() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", ETAG), ("Vary", "Foo")], {"foo": "1"})
    assert result.entry is not None
    assert result.entry.variant != stored.variant
    assert result.removed == (stored,)
    assert result.updated == (result.entry,)


def test_s4_3_4_a_304_that_forbids_storing_is_served_once_then_removed() -> None:
    stored = _validated()
    result = _freshen([stored], [("ETag", ETAG), ("Cache-Control", "no-store")])
    assert result.entry is not None
    assert result.updated == ()
    assert result.removed == (stored,)
    shared = _freshen(
        [stored], [("ETag", ETAG), ("Cache-Control", "private, max-age=9")], policy=SHARED
    )
    assert shared.removed == (stored,)


def test_s4_3_4_nothing_stored_nothing_updated() -> None:
    result = _freshen([], [("ETag", ETAG)])
    assert result == Freshened("no stored response could have been chosen (§4.3.4)")


# ------------------------------------------------------------------ §4.3.5 HEAD


def _head(
    stored: list[StoredResponse], headers: list[tuple[str, str]], status: int = 200
) -> Freshened:
    return PRIVATE.freshen_with_head({}, status, headers, stored, T0 + 9, T0 + 10)


def test_s4_3_5_a_head_200_with_matching_validators_updates_the_get() -> None:
    stored = _validated()
    result = _head(
        [stored], [("ETag", ETAG), ("Cache-Control", "max-age=1000"), ("Test-Header", "2")]
    )
    assert result.entry is not None
    assert result.updated == (result.entry,)
    assert header(result.entry.headers, "Test-Header") == ["2"]
    assert lookup(result.entry, T0 + 20).action is CacheAction.FRESH


def test_s4_3_5_a_head_without_validators_updates_and_keeps_other_fields() -> None:
    stored = store([("Cache-Control", "max-age=2"), ("Template-A", "1")])
    result = _head([stored], [("Cache-Control", "max-age=1000")])
    assert result.entry is not None
    assert header(result.entry.headers, "Template-A") == ["1"]


@pytest.mark.parametrize(
    "headers",
    [
        [("ETag", '"changed"')],
        [("Last-Modified", http_date(-10))],
        [("Content-Length", "5")],
    ],
)
def test_s4_3_5_a_head_that_disagrees_removes_the_stored_get(
    headers: list[tuple[str, str]],
) -> None:
    stored = store(
        [("Cache-Control", "max-age=2"), ("ETag", ETAG), ("Last-Modified", LM)], body=b"body"
    )
    result = _head([stored], headers)
    assert result.entry is None
    assert result.removed == (stored,)


def test_s4_3_5_a_head_content_length_equal_to_the_body_length_agrees() -> None:
    stored = store([("Cache-Control", "max-age=2")], body=b"body")
    assert _head([stored], [("Content-Length", "4")]).entry is not None


def test_s4_3_5_only_a_200_to_head_updates() -> None:
    stored = _validated()
    result = _head([stored], [("ETag", ETAG)], status=410)
    assert result.entry is None
    assert result.updated == result.removed == ()
