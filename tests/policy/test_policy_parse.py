"""The tolerant header parsers in restwell.policy._parse, by example."""

from __future__ import annotations

import pytest

from restwell.policy._parse import (
    parse_delta_seconds,
    parse_http_date,
    parse_number,
    parse_params,
    seconds_until,
    split_list,
    unquote,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0),
        ("42", 42),
        (" 42\t", 42),
        ("0042", 42),
        ("2147483647", 2147483647),
        ("2147483648", 2**31),
        ("2147483649", 2**31),
        ("9" * 5000, 2**31),
        ("0" * 20 + "5", 5),
        ("0" * 20 + "123456789012345", 2**31),
        ("", None),
        ("-1", None),
        ("+1", None),
        ("1.0", None),
        ("1e3", None),
        ("1 2", None),
        ("١٢", None),  # non-ASCII digits
        ("\uff11", None),  # fullwidth digit one
    ],
)
def test_parse_delta_seconds(value: str | None, expected: int | None) -> None:
    assert parse_delta_seconds(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777.0),
        ("Sun Nov  6 08:49:37 1994", 784111777.0),
        ("  Sun, 06 Nov 1994 08:49:37 GMT  ", 784111777.0),
        ("Tue, 14 Nov 2023 22:13:20 GMT", 1_700_000_000.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("Sun, 32 Nov 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 25:49:37 GMT", None),
        ("Sun, 06 Foo 1994 08:49:37 GMT", None),
        ("Mon, 01 Jan 9999 23:59:59 +2400", None),
        ("0", None),
    ],
)
def test_parse_http_date(value: str | None, expected: float | None) -> None:
    assert parse_http_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0.0),
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("0.125", 0.125),
        ("999999999999999", 999999999999999.0),
        ("1" * 16, None),  # beyond 15 integer digits
        ("1.1234567891", None),  # beyond 9 fraction digits
        ("", None),
        ("-1", None),
        (".5", None),
        ("5.", None),
        ("1e3", None),
        ("inf", None),
        ("nan", None),
        ("٣", None),
    ],
)
def test_parse_number(value: str | None, expected: float | None) -> None:
    assert parse_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("a", ["a"]),
        ("a, b,c", ["a", "b", "c"]),
        (" , a ,, b , ", ["a", "b"]),
        ('"x,y";r=1, b', ['"x,y";r=1', "b"]),
        ('"a\\",b", c', ['"a\\",b"', "c"]),
        ('"unterminated, still one', ['"unterminated, still one']),
        ("\\,a", ["\\", "a"]),  # backslash escapes only inside quotes
    ],
)
def test_split_list(value: str, expected: list[str]) -> None:
    assert list(split_list(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"abc"', "abc"),
        ('""', ""),
        ('"a\\"b"', 'a"b'),
        ('"a\\\\b"', "a\\b"),
        ("abc", "abc"),
        ('"', '"'),
        ('"abc', '"abc'),
        ("'abc'", "'abc'"),
    ],
)
def test_unquote(value: str, expected: str) -> None:
    assert unquote(value) == expected


@pytest.mark.parametrize(
    ("value", "sep", "expected"),
    [
        ("r=0;t=30", ";", {"r": "0", "t": "30"}),
        (" R = 0 ; T=30 ", ";", {"r": "0", "t": "30"}),
        ("q=100;w=60;flag", ";", {"q": "100", "w": "60", "flag": None}),
        # the split on sep ignores quoting: a quoted value holding sep is lost, not misread
        ('name="quoted; value"', ";", {}),
        ('name="a b"', ";", {"name": "a b"}),
        ("a=1;a=2", ";", {"a": "1"}),
        ("a=1;;b=2;", ";", {"a": "1", "b": "2"}),
        ("bad value;ok=1", ";", {"ok": "1"}),
        (
            "limit=100, remaining=0, reset=30",
            ",",
            {"limit": "100", "remaining": "0", "reset": "30"},
        ),
        ("", ";", {}),
        ("=1", ";", {}),
    ],
)
def test_parse_params(value: str, sep: str, expected: dict[str, str | None]) -> None:
    assert parse_params(value, sep) == expected


def test_seconds_until() -> None:
    assert seconds_until(None, 5.0) is None
    assert seconds_until(15.0, 5.0) == 10.0
    assert seconds_until(1.0, 5.0) == 0.0
    assert seconds_until(1e300, 0.0) == 1e9
