"""RFC 9111 §4.2: freshness lifetime (§4.2.1), heuristics (§4.2.2) and age (§4.2.3, §5.1)."""

from __future__ import annotations

import calendar

import pytest

from restwell.policy.cache import CacheAction, CachePolicy, current_age
from tests.cache_policy.support import PRIVATE, SHARED, T0, entry, header, http_date, lookup

MAX_DELTA = 2**31
AUG_18_2050 = float(calendar.timegm((2050, 8, 18, 2, 1, 18)))

# ------------------------------------------------------------------ §4.2.1 lifetime


def test_s4_2_1_max_age_is_the_lifetime() -> None:
    assert PRIVATE.freshness_lifetime(entry([("Cache-Control", "max-age=3600")])) == 3600.0


def test_s4_2_1_expires_minus_date() -> None:
    stored = entry([("Expires", http_date(3600)), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 3600.0


def test_s4_2_1_expires_without_date_uses_the_response_time() -> None:
    stored = entry([("Expires", http_date(100))], received=T0 + 40)
    assert PRIVATE.freshness_lifetime(stored) == 60.0


def test_s4_2_1_expires_with_an_invalid_date_uses_the_response_time() -> None:
    stored = entry([("Date", "foo"), ("Expires", http_date(10))])
    assert PRIVATE.freshness_lifetime(stored) == 10.0
    assert lookup(stored, T0 + 5).action is CacheAction.FRESH


def test_s4_2_1_expires_older_than_date_is_stale() -> None:
    stored = entry([("Expires", http_date(300)), ("Date", http_date(400))])
    assert PRIVATE.freshness_lifetime(stored) == 0.0


@pytest.mark.parametrize(
    "expires",
    [
        "0",
        "-1",
        "Thu, 18 Aug 2050 02:01:18 UTC",
        "Thu, 18 Aug 50 02:01:18 GMT",
        "Thu 18 Aug 2050 02:01:18 GMT",
        "Thu, 18  Aug  2050 02:01:18 GMT",
        "Thu, 18-Aug-2050 02:01:18 GMT",
        "Thu, 18 Aug 2050 02.01.18 GMT",
        "Thu, 18 Aug 2050 2:01:18 GMT",
        "Thu, 31 Feb 2050 02:01:18 GMT",
        "",
    ],
)
def test_s5_3_invalid_expires_means_already_expired(expires: str) -> None:
    stored = entry([("Expires", expires), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 0.0
    assert lookup(stored, T0).action is not CacheAction.FRESH


@pytest.mark.parametrize(
    "expires",
    [
        "THU, 18 Aug 2050 02:01:18 GMT",
        "Thu, 18 AUG 2050 02:01:18 GMT",
        "Thu, 18 Aug 2050 02:01:18 gMT",
        "Thursday, 18-Aug-50 02:01:18 GMT",  # RFC 850 form
        "Thu Aug 18 02:01:18 2050",  # asctime form
    ],
)
def test_s5_3_expires_in_any_http_date_form_and_case_is_read(expires: str) -> None:
    stored = entry([("Expires", expires), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == AUG_18_2050 - T0
    assert lookup(stored, T0 + 1).action is CacheAction.FRESH


def test_s4_2_1_conflicting_expires_lines_are_stale_identical_ones_count() -> None:
    conflicting = entry(
        [("Expires", http_date(60)), ("Expires", http_date(6000)), ("Date", http_date())]
    )
    assert conflicting.has_expires
    assert conflicting.expires is None
    assert PRIVATE.freshness_lifetime(conflicting) == 0.0
    repeated = entry(
        [("Expires", http_date(60)), ("Expires", http_date(60) + " "), ("Date", http_date())]
    )
    assert PRIVATE.freshness_lifetime(repeated) == 60.0


def test_s5_3_max_age_overrides_expires() -> None:
    past = entry([("Cache-Control", "max-age=3600"), ("Expires", http_date(-10000))])
    assert PRIVATE.freshness_lifetime(past) == 3600.0
    invalid = entry([("Cache-Control", "max-age=3600"), ("Expires", "0")])
    assert PRIVATE.freshness_lifetime(invalid) == 3600.0
    zero = entry([("Expires", http_date(10000)), ("Cache-Control", "max-age=0")])
    assert PRIVATE.freshness_lifetime(zero) == 0.0


@pytest.mark.parametrize(
    ("value", "lifetime"),
    [
        ("max-age=3600", 3600.0),
        ('max-age="3600"', 3600.0),  # §5.2: recipients accept the quoted form
        ("MaX-aGe=3600", 3600.0),
        ("max-age=003600", 3600.0),
        ("foobar, max-age=3600", 3600.0),
        ("max-age=2147483648", float(MAX_DELTA)),
        ("max-age=99999999999", float(MAX_DELTA)),  # §1.2.2: clamped to 2**31
        ("max-age=1800, max-age=1", 0.0),  # §4.2.1: conflicting lifetimes are stale
        ("max-age=1, max-age=1800", 0.0),
        ("max-age=60, max-age=60", 60.0),  # a repeated, identical value is no conflict
        ('max-age=60, max-age="60"', 60.0),
        ('extension="max-age=100", max-age=1', 1.0),  # quoted text is not a directive
        ('max-age=1, extension="max-age=100"', 1.0),
        ('extension="max-age=100", max-age="1"', 1.0),
        # Invalid values: invalid freshness information means stale (§4.2.1).
        ("max-age=a100", 0.0),
        ("max-age=100a", 0.0),
        ("max-age=-100", 0.0),
        ("max-age=3600.0", 0.0),
        ("max-age='3600'", 0.0),
        ("max-age", 0.0),
        ("max-age=0", 0.0),
    ],
)
def test_s4_2_1_max_age_parsing(value: str, lifetime: float) -> None:
    assert PRIVATE.freshness_lifetime(entry([("Cache-Control", value)])) == lifetime


def test_s4_2_1_conflicting_max_age_on_separate_lines_is_stale() -> None:
    stored = entry([("Cache-Control", "max-age=1"), ("Cache-Control", "max-age=1800")])
    assert PRIVATE.freshness_lifetime(stored) == 0.0


@pytest.mark.parametrize("value", ["max-age =100", "max-age= 100"])
def test_s5_2_malformed_max_age_is_ignored_not_read(value: str) -> None:
    # Ignored entirely: the Expires beside it then counts.
    stored = entry([("Cache-Control", value), ("Expires", http_date(50)), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 50.0
    alone = entry([("Cache-Control", value)])
    assert PRIVATE.freshness_lifetime(alone) == 0.0


# ------------------------------------------------------------------ §4.2.2 heuristics


def test_s4_2_2_heuristic_is_ten_percent_of_last_modified_age() -> None:
    stored = entry([("Last-Modified", http_date(-10000)), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 1000.0


def test_s4_2_2_heuristic_is_capped() -> None:
    stored = entry([("Last-Modified", http_date(-(10**7))), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 86400.0
    policy = CachePolicy(heuristic_max=3600)
    assert policy.freshness_lifetime(stored) == 3600.0


def test_s4_2_2_heuristic_fraction_is_configurable_and_can_be_off() -> None:
    stored = entry([("Last-Modified", http_date(-10000)), ("Date", http_date())])
    assert CachePolicy(heuristic_fraction=0.25).freshness_lifetime(stored) == 2500.0
    assert CachePolicy(heuristic_fraction=0).freshness_lifetime(stored) == 0.0


def test_s4_2_2_last_modified_after_date_gives_no_heuristic() -> None:
    stored = entry([("Last-Modified", http_date(100)), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 0.0


def test_s4_2_2_no_heuristic_when_explicit_expiration_is_present() -> None:
    stored = entry([("Expires", "0"), ("Last-Modified", http_date(-10000)), ("Date", http_date())])
    assert PRIVATE.freshness_lifetime(stored) == 0.0


def test_s4_2_2_no_heuristic_for_statuses_not_heuristically_cacheable() -> None:
    stored = entry([("Last-Modified", http_date(-10000)), ("Date", http_date())], status=201)
    assert PRIVATE.freshness_lifetime(stored) == 0.0
    public = entry([("Cache-Control", "public"), ("Last-Modified", http_date(-10000))], status=201)
    assert PRIVATE.freshness_lifetime(public) == 1000.0


def test_default_ttl_applies_only_when_nothing_else_does() -> None:
    policy = CachePolicy(default_ttl=120)
    assert policy.freshness_lifetime(entry([("Date", http_date())])) == 120.0
    assert PRIVATE.freshness_lifetime(entry([("Date", http_date())])) == 0.0
    # Explicit freshness, a Last-Modified heuristic and an invalid Expires all come first.
    assert policy.freshness_lifetime(entry([("Cache-Control", "max-age=0")])) == 0.0
    assert policy.freshness_lifetime(entry([("Expires", "0")])) == 0.0
    with_lm = entry([("Last-Modified", http_date(-10000)), ("Date", http_date())])
    assert policy.freshness_lifetime(with_lm) == 1000.0
    # Not for statuses a heuristic may not apply to.
    assert policy.freshness_lifetime(entry([], status=500)) == 0.0


# ------------------------------------------------------------------ §4.2.3 age


def test_s4_2_3_age_from_date_age_header_and_both_times() -> None:
    # Sent at T0, received at T0+2, Date 10 s before sending, an upstream cache said Age: 30.
    stored = entry(
        [("Cache-Control", "max-age=600"), ("Date", http_date(-10)), ("Age", "30")],
        sent=T0,
        received=T0 + 2,
    )
    # apparent_age = max(0, (T0+2) - (T0-10)) = 12
    # corrected_age_value = 30 + (T0+2 - T0) = 32
    # corrected_initial_age = max(12, 32) = 32; resident_time = 100
    assert current_age(stored, T0 + 102) == 132.0
    result = lookup(stored, T0 + 102)
    assert result.action is CacheAction.FRESH
    assert result.response is not None
    assert result.response.age == 132
    assert header(result.response.headers, "Age") == ["132"]


def test_s4_2_3_apparent_age_dominates_when_date_is_old() -> None:
    stored = entry([("Date", http_date(-50))], sent=T0, received=T0 + 1)
    # apparent 51 > corrected 0 + 1
    assert current_age(stored, T0 + 1) == 51.0


def test_s4_2_3_a_date_in_the_future_does_not_make_age_negative() -> None:
    stored = entry([("Date", http_date(50))], sent=T0, received=T0 + 1)
    assert current_age(stored, T0 + 11) == 11.0


def test_s4_2_3_a_clock_that_went_back_gives_no_negative_resident_time() -> None:
    stored = entry([("Date", http_date())], sent=T0, received=T0)
    assert current_age(stored, T0 - 500) == 0.0


@pytest.mark.parametrize(
    ("ages", "age_value"),
    [
        (["abc"], 0),
        (["-7200"], 0),
        (["7200.0"], 0),
        (["7200,0"], 7200),  # the first member of a list
        (["0, 7200"], 0),
        (["7200", "0"], 7200),  # the first line
        (["0", "7200"], 0),
        (["99999999999"], MAX_DELTA),
    ],
)
def test_s5_1_age_header_parsing(ages: list[str], age_value: int) -> None:
    stored = entry([("Date", http_date()), *(("Age", a) for a in ages)])
    assert stored.age_value == age_value
    assert current_age(stored, T0) == float(age_value)


def test_s4_2_age_header_older_than_max_age_is_stale_at_once() -> None:
    stored = entry([("Date", http_date()), ("Cache-Control", "max-age=10"), ("Age", "15")])
    assert not PRIVATE.is_fresh(stored, T0)


def test_s4_2_expires_with_age_greater_than_lifetime_is_stale() -> None:
    slow = entry([("Date", http_date(-10)), ("Expires", http_date(10)), ("Age", "25")])
    assert PRIVATE.freshness_lifetime(slow) == 20.0
    assert not PRIVATE.is_fresh(slow, T0)
    fast = entry([("Date", http_date(10)), ("Expires", http_date(20)), ("Age", "15")])
    assert not PRIVATE.is_fresh(fast, T0)


def test_s4_2_fresh_means_lifetime_strictly_greater_than_age() -> None:
    stored = entry([("Cache-Control", "max-age=60"), ("Date", http_date())])
    assert PRIVATE.is_fresh(stored, T0 + 59.999)
    assert not PRIVATE.is_fresh(stored, T0 + 60)


def test_s4_served_response_has_one_age_and_the_stored_date() -> None:
    stored = entry(
        [("Cache-Control", "max-age=600"), ("Age", "30"), ("Date", http_date()), ("X", "1")]
    )
    result = lookup(stored, T0 + 40)
    assert result.response is not None
    assert result.response.headers == (
        ("Cache-Control", "max-age=600"),
        ("Date", http_date()),
        ("X", "1"),
        ("Age", "70"),
    )


def test_s4_2_ages_are_clamped_to_two_to_the_31() -> None:
    stored = entry([("Age", "2147483648"), ("Date", http_date())], sent=T0 - 10**9)
    assert current_age(stored, T0 + 10**12) == float(MAX_DELTA)


def test_s4_2_shared_and_private_agree_without_s_maxage() -> None:
    stored = entry([("Cache-Control", "max-age=77")])
    assert SHARED.freshness_lifetime(stored) == PRIVATE.freshness_lifetime(stored) == 77.0
