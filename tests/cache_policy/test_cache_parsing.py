"""RFC 9111 §5.2 Cache-Control parsing, RFC 9110 §5.6.7 HTTP-dates, §8.8.3 entity-tags."""

from __future__ import annotations

import calendar
import logging
import math

import pytest

from restwell.policy._cache._directives import (
    etag_for_request,
    format_http_date,
    parse_etag,
    parse_http_date,
    strong_match,
    weak_match,
)
from restwell.policy.cache import CacheControl, parse_cache_control

NOV_6_1994 = float(calendar.timegm((1994, 11, 6, 8, 49, 37)))


def test_s5_2_empty_and_absent_values() -> None:
    assert parse_cache_control(None) == CacheControl()
    assert parse_cache_control("") == CacheControl()
    assert parse_cache_control(" , ,") == CacheControl()


def test_s5_2_every_known_directive() -> None:
    cc = parse_cache_control(
        "max-age=1, s-maxage=2, max-stale=3, min-fresh=4, no-cache, no-store, no-transform, "
        "only-if-cached, must-revalidate, proxy-revalidate, must-understand, public, private, "
        "immutable, stale-while-revalidate=5, stale-if-error=6"
    )
    assert cc == CacheControl(
        max_age=1,
        s_maxage=2,
        max_stale=3.0,
        min_fresh=4,
        no_cache=True,
        no_store=True,
        no_transform=True,
        only_if_cached=True,
        must_revalidate=True,
        proxy_revalidate=True,
        must_understand=True,
        public=True,
        private=True,
        immutable=True,
        stale_while_revalidate=5,
        stale_if_error=6,
    )


def test_s5_2_names_are_case_insensitive_and_quoted_arguments_accepted() -> None:
    cc = parse_cache_control('MAX-AGE="10", No-Store, S-MaxAge="20"')
    assert (cc.max_age, cc.no_store, cc.s_maxage) == (10, True, 20)


def test_s5_2_commas_inside_quoted_strings_do_not_split() -> None:
    cc = parse_cache_control('ext="a, max-age=5, b", max-age=7')
    assert cc.max_age == 7


def test_s5_2_2_4_qualified_no_cache_and_private() -> None:
    cc = parse_cache_control('no-cache="Set-Cookie, X-A", private=X-B, private="x-c"')
    assert not cc.no_cache
    assert cc.no_cache_fields == {"set-cookie", "x-a"}
    assert not cc.private
    assert cc.private_fields == {"x-b", "x-c"}


def test_s4_2_1_unqualified_no_cache_wins_over_qualified_in_any_order() -> None:
    assert parse_cache_control('no-cache="a", no-cache').no_cache
    assert parse_cache_control('no-cache, no-cache="a"').no_cache
    assert parse_cache_control('no-cache=""').no_cache  # empty list: unqualified


def test_s4_2_1_first_occurrence_of_other_directives_counts() -> None:
    cc = parse_cache_control("max-stale=5, max-stale, min-fresh=1, min-fresh=9")
    assert (cc.max_stale, cc.min_fresh) == (5.0, 1)


def test_s5_2_1_2_max_stale_forms() -> None:
    assert parse_cache_control("max-stale").max_stale == math.inf
    assert parse_cache_control("max-stale=0").max_stale == 0.0
    assert parse_cache_control("max-stale=x").max_stale is None


def test_s5_2_invalid_optional_arguments_are_ignored() -> None:
    cc = parse_cache_control("min-fresh=x, stale-if-error=-1, stale-while-revalidate=1.5")
    assert cc == CacheControl()


def test_s5_2_flags_with_arguments_still_count() -> None:
    assert parse_cache_control('no-store="yes"').no_store


def test_s5_2_malformed_members_are_logged_at_debug_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="restwell.policy"):
        cc = parse_cache_control("max-age =5, =3, public")
    assert cc == CacheControl(public=True)
    assert "ignoring malformed Cache-Control header: 'max-age =5'" in caplog.text


def test_s1_2_2_huge_delta_seconds_clamp() -> None:
    assert parse_cache_control("max-age=" + "9" * 400).max_age == 2**31


# ------------------------------------------------------------------ HTTP-dates


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        " Sun, 06 Nov 1994 08:49:37 GMT ",
        "sun, 06 nov 1994 08:49:37 gmt",
    ],
)
def test_rfc9110_s5_6_7_the_three_date_forms(value: str) -> None:
    assert parse_http_date(value, NOV_6_1994) == NOV_6_1994


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "0",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 30 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT extra",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "2024-01-01T00:00:00Z",
    ],
)
def test_rfc9110_s5_6_7_anything_else_is_invalid(value: str | None) -> None:
    assert parse_http_date(value) is None


def test_rfc9110_s5_6_7_leap_second_reads_as_59() -> None:
    assert parse_http_date("Sun, 06 Nov 1994 08:49:60 GMT") == NOV_6_1994 + 22


def test_rfc9110_s5_6_7_two_digit_years_stay_within_fifty_years_ahead() -> None:
    in_2023 = 1_700_000_000.0
    assert parse_http_date("Thursday, 18-Aug-50 02:01:18 GMT", in_2023) == float(
        calendar.timegm((2050, 8, 18, 2, 1, 18))
    )
    assert parse_http_date("Saturday, 18-Aug-74 02:01:18 GMT", in_2023) == float(
        calendar.timegm((1974, 8, 18, 2, 1, 18))
    )


def test_format_http_date_is_imf_fixdate_and_never_raises() -> None:
    assert format_http_date(NOV_6_1994) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(NOV_6_1994 + 0.9) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(1e300) is None
    assert format_http_date(float("nan")) is None


# ------------------------------------------------------------------ entity-tags


def test_rfc9110_s8_8_3_entity_tag_comparison() -> None:
    assert parse_etag('W/"a"') == (True, "a")
    assert parse_etag(' "a" ') == (False, "a")
    assert parse_etag("a") == (False, "a")
    assert strong_match('"a"', '"a"')
    assert not strong_match('W/"a"', '"a"')
    assert weak_match('W/"a"', '"a"')
    assert not weak_match('"a"', '"b"')


@pytest.mark.parametrize(
    ("tag", "sent"),
    [('"a"', '"a"'), ('W/"a"', 'W/"a"'), ("a", '"a"'), ('w/"a"', 'W/"a"'), ('a"b', 'a"b')],
)
def test_s4_3_1_entity_tags_are_sent_quoted(tag: str, sent: str) -> None:
    assert etag_for_request(tag) == sent
