"""RFC 9111 §4.1: the primary key (method and target URI) and Vary-selected variants."""

from __future__ import annotations

import pytest

from restwell.policy.cache import CacheAction, normalize_field_value, normalize_url
from tests.cache_policy.support import (
    KEY,
    PRIVATE,
    T0,
    URL,
    entry,
    http_date,
    lookup,
    store,
)

FRESH = [("Cache-Control", "max-age=5000"), ("Date", http_date())]

# ------------------------------------------------------------------ primary key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (URL, KEY),
        ("HTTPS://API.Example.COM:443/items/1", KEY),
        ("https://api.example.com/items/./x/../1#fragment", KEY),
        ("https://api.example.com/%69tems/1", KEY),  # %69 is "i", unreserved
        ("http://a.example", "GET http://a.example/"),
        ("http://a.example:80/", "GET http://a.example/"),
        ("http://a.example:8080/", "GET http://a.example:8080/"),
        ("http://a.example:08080/", "GET http://a.example:8080/"),
        ("https://a.example/q?x=%7e&y=%2f", "GET https://a.example/q?x=~&y=%2F"),
        ("http://[::1]:80/x", "GET http://[::1]/x"),
        ("http://user@A.example/", "GET http://user@a.example/"),
    ],
)
def test_s4_1_primary_key_is_method_and_normalised_target_uri(url: str, key: str) -> None:
    assert PRIVATE.cache_key("GET", url) == key


def test_s4_1_head_shares_the_get_key_other_methods_do_not() -> None:
    assert PRIVATE.cache_key("HEAD", URL) == KEY
    assert PRIVATE.cache_key("get", URL) == KEY
    assert PRIVATE.cache_key("OPTIONS", URL) == "OPTIONS https://api.example.com/items/1"


def test_s4_1_different_queries_are_different_keys() -> None:
    assert PRIVATE.cache_key("GET", URL + "?a=1") != PRIVATE.cache_key("GET", URL + "?a=2")
    assert PRIVATE.cache_key("GET", URL + "?a=1") == PRIVATE.cache_key("GET", URL + "?a=1")


def test_s4_1_unsplittable_urls_are_kept_as_they_are() -> None:
    assert normalize_url("http://[::1") == "http://[::1"
    assert PRIVATE.cache_key("GET", "http://[::1") == "GET http://[::1"


def test_s4_1_relative_references_are_normalised_without_inventing_a_host() -> None:
    assert normalize_url("/a/./b/../c") == "/a/c"


# ------------------------------------------------------------------ Vary matching


@pytest.mark.parametrize(
    ("stored_request", "vary", "later_request", "matches"),
    [
        ({"foo": "1"}, "Foo", {"foo": "1"}, True),
        ({"foo": "1"}, "Foo", {"foo": "2"}, False),
        ({"foo": "1"}, "Foo", {}, False),  # absent matches only absent
        ({}, "Foo", {"foo": "1"}, False),
        ({}, "Foo", {}, True),
        ({"foo": "1", "other": "2"}, "Foo", {"foo": "1", "other": "3"}, True),
        ({"foo": "1", "bar": "abc"}, "Foo, Bar", {"foo": "1", "bar": "abc"}, True),
        ({"foo": "1", "bar": "abc"}, "Foo, Bar", {"foo": "2", "bar": "abc"}, False),
        ({"foo": "1"}, "Foo, Bar", {}, False),
        (
            {"foo": "1", "bar": "abc4", "baz": "789"},
            "Foo, Bar, Baz",
            {"foo": "1", "bar": "abc", "baz": "789"},
            False,
        ),
        ({"foo": "1", "baz": "789"}, "Foo, Bar, Baz", {"foo": "1", "baz": "789"}, True),
        ({"foo": "1"}, "FOO", {"foo": "1"}, True),  # field names are case-insensitive
        # §4.1 normalisation: whitespace, combined lines, semantics-preserving forms.
        ({"foo": "1,2"}, "Foo", {"foo": " 1, 2 "}, True),
        ({"foo": "1, 2"}, "Foo", {"foo": "1,2"}, True),
        ({"accept-encoding": "gzip, br"}, "Accept-Encoding", {"accept-encoding": "br,gzip"}, True),
        ({"accept-encoding": "GZIP"}, "Accept-Encoding", {"accept-encoding": "gzip"}, True),
        (
            {"accept": "text/html;q=0.9, application/json"},
            "Accept",
            {"accept": "application/json,text/html; q=0.9"},
            True,
        ),
        # Order can carry preference in Accept-Language (RFC 9110 §12.5.4): not reordered.
        ({"accept-language": "en, de"}, "Accept-Language", {"accept-language": "de, en"}, False),
        ({"accept-language": "en-GB"}, "Accept-Language", {"accept-language": "EN-gb"}, True),
        ({"foo": "a"}, "Foo", {"foo": "A"}, False),  # other values keep their case
    ],
)
def test_s4_1_vary_selects_by_the_named_request_fields(
    stored_request: dict[str, str], vary: str, later_request: dict[str, str], matches: bool
) -> None:
    stored = store([*FRESH, ("Vary", vary)], request=stored_request)
    assert stored.matches(later_request) is matches
    expected = CacheAction.FRESH if matches else CacheAction.MISS
    assert lookup(stored, T0 + 1, request=later_request).action is expected


def test_s4_1_vary_star_never_matches() -> None:
    stored = entry([*FRESH, ("Vary", "Foo, *")], vary=[("foo", "1")])
    assert not stored.matches({"foo": "1"})
    assert lookup(stored, T0 + 1, request={"foo": "1"}).action is CacheAction.MISS


def test_s4_1_vary_on_several_lines_is_combined() -> None:
    stored = store([*FRESH, ("Vary", "Foo"), ("Vary", "Bar")], request={"foo": "1", "bar": "2"})
    assert stored.vary == ("foo", "bar")
    assert stored.matches({"foo": "1", "bar": "2"})
    assert not stored.matches({"foo": "1", "bar": "3"})


def test_s4_1_no_match_reason_names_vary() -> None:
    stored = store([*FRESH, ("Vary", "Foo")], request={"foo": "1"})
    result = lookup(stored, T0 + 1, request={"foo": "2"})
    assert result.action is CacheAction.MISS
    assert result.entry is None
    assert result.reason == "no stored response matches the method and Vary (§4.1)"


# ------------------------------------------------------------------ several variants


def test_s4_1_each_variant_is_served_to_its_own_request() -> None:
    one = store([*FRESH, ("Vary", "Foo")], request={"foo": "1"}, body=b"foo_1")
    two = store([*FRESH, ("Vary", "Foo")], request={"foo": "2"}, body=b"foo_2")
    assert one.variant != two.variant
    for foo, body in (("1", b"foo_1"), ("2", b"foo_2")):
        result = lookup([one, two], T0 + 1, request={"foo": foo})
        assert result.action is CacheAction.FRESH
        assert result.response is not None
        assert result.response.body == body


def test_s4_the_most_recent_matching_response_is_chosen_by_date() -> None:
    older = store([("Cache-Control", "max-age=5000"), ("Date", http_date())], body=b"old")
    newer = store(
        [("Cache-Control", "max-age=5000"), ("Date", http_date(10))],
        body=b"new",
        sent=T0 + 10,
        received=T0 + 10,
    )
    for order in ([older, newer], [newer, older]):
        chosen = PRIVATE.select("GET", {}, order)
        assert chosen is newer


def test_s4_equal_dates_fall_back_to_the_time_of_receipt() -> None:
    first = entry(FRESH, body=b"first", received=T0)
    second = entry(FRESH, body=b"second", received=T0 + 0.5)
    assert PRIVATE.select("GET", {}, [second, first]) is second


def test_s4_1_variant_id_is_empty_without_vary_and_hides_values() -> None:
    plain = store(FRESH)
    assert plain.variant == ""
    secret = store([*FRESH, ("Vary", "Authorization")], request={"authorization": "Bearer s3cr3t"})
    assert len(secret.variant) == 32
    assert "s3cr3t" not in secret.variant


def test_s4_1_variant_id_follows_the_normalised_values_not_the_spelling() -> None:
    a = store([*FRESH, ("Vary", "Foo, Bar")], request={"foo": "1,2", "bar": "x"})
    b = store([*FRESH, ("Vary", "bar, FOO")], request={"foo": " 1, 2", "bar": "x"})
    c = store([*FRESH, ("Vary", "Foo, Bar")], request={"foo": "1,2"})
    assert a.variant == b.variant
    assert a.variant != c.variant


# ------------------------------------------------------------------ methods (§4)


def test_s4_head_is_answered_from_the_stored_get_without_content() -> None:
    stored = store(FRESH, body=b"payload")
    result = lookup(stored, T0 + 1, method="HEAD")
    assert result.action is CacheAction.FRESH
    assert result.response is not None
    assert result.response.status == 200
    assert result.response.body == b""


def test_normalize_field_value_examples() -> None:
    assert normalize_field_value("foo", None) is None
    assert normalize_field_value("foo", "") == ""
    assert normalize_field_value("foo", ' a , "b, c" ,, d ') == 'a,"b, c",d'
    assert normalize_field_value("accept-encoding", "br ; q=1, GZIP") == "br;q=1,gzip"
