"""StoredResponse.to_bytes / from_bytes: exact round trips, and garbage is a clear ValueError.

``to_bytes`` writes format version 2 (one NUL-joined text block) unless a text holds a NUL,
then version 1 (length-prefixed texts); ``from_bytes`` reads both, so entries stored by an
earlier release stay readable. Tests on both formats run over both writers.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest

from restwell.policy.cache import StoredResponse
from tests.cache_policy.support import T0, URL, http_date, store


def _full() -> StoredResponse:
    return StoredResponse(
        method="GET",
        url=URL + "?q=ü",
        status=203,
        headers=(
            ("Cache-Control", "max-age=60"),
            ("Date", http_date()),
            ("ETag", '"abcdefü"'),
            ("Set-Cookie", "a=b"),
            ("Set-Cookie", "c=d"),
            ("Vary", "Accept-Encoding, X-None"),
            ("X-Odd", "\udcff lone surrogate"),
        ),
        body=bytes(range(256)) * 3,
        request_time=T0 - 0.25,
        response_time=T0,
        vary_headers=(("accept-encoding", "gzip"), ("x-none", None)),
    )


WRITERS = {"v2": StoredResponse.to_bytes, "v1": StoredResponse._to_bytes_v1}
writers = pytest.mark.parametrize("write", list(WRITERS.values()), ids=list(WRITERS))


@writers
def test_round_trip_keeps_every_field_and_what_is_derived_from_them(write: Any) -> None:
    original = _full()
    copy = StoredResponse.from_bytes(write(original))
    assert copy == original
    assert copy.headers == original.headers
    assert copy.vary_headers == original.vary_headers
    assert copy.variant == original.variant
    assert copy.cache_control == original.cache_control
    assert copy.etag == '"abcdefü"'
    assert copy.date == T0


@writers
def test_round_trip_of_a_minimal_entry(write: Any) -> None:
    minimal = StoredResponse("GET", "", 200, (), b"", 0.0, 0.0)
    assert StoredResponse.from_bytes(write(minimal)) == minimal


def test_to_bytes_writes_version_2_and_falls_back_to_1_for_a_text_with_nul() -> None:
    assert _full().to_bytes()[4] == 2
    odd = StoredResponse("GET", URL, 200, (("X-Nul", "a\x00b"),), b"", T0, T0)
    data = odd.to_bytes()
    assert data[4] == 1
    assert StoredResponse.from_bytes(data) == odd
    empty_vary = StoredResponse("GET", URL, 200, (), b"", T0, T0, (("a", ""), ("b", None)))
    assert StoredResponse.from_bytes(empty_vary.to_bytes()).vary_headers == (
        ("a", ""),
        ("b", None),
    )


def test_round_trip_of_a_policy_made_entry_and_memoryview_input() -> None:
    entry = store([("Cache-Control", "max-age=60"), ("Vary", "Foo")], request={"foo": "1"})
    assert StoredResponse.from_bytes(memoryview(entry.to_bytes())) == entry  # type: ignore[arg-type]


def test_the_formats_are_compact() -> None:
    entry = StoredResponse("GET", URL, 200, (("ETag", '"x"'),), b"12345", T0, T0)
    texts = len("GET") + len(URL) + len("ETag") + len('"x"')
    assert len(entry.to_bytes()) == 43 + texts + 3 + 5  # head, texts, 3 NULs, body
    assert len(entry._to_bytes_v1()) == 31 + 4 * 4 + texts + 8 + 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "missing the RWSR header"),
        (b"RWSR", "missing the RWSR header"),
        (b"GIF89a" + b"\x00" * 40, "missing the RWSR header"),
        (b"RWSR\x03" + b"\x00" * 40, "format version 3 is not supported"),
        (b"RWSR\x02" + b"\x00" * 40, "sizes do not add up"),
    ],
)
def test_garbage_is_a_value_error_that_says_why(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StoredResponse.from_bytes(data)


def test_non_bytes_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="not bytes"):
        StoredResponse.from_bytes("RWSR")  # type: ignore[arg-type]


@writers
def test_every_truncation_is_a_value_error(write: Any) -> None:
    data = write(_full())
    for end in range(len(data)):
        with pytest.raises(ValueError, match="stored response"):
            StoredResponse.from_bytes(data[:end])


def test_trailing_bytes_are_a_value_error() -> None:
    with pytest.raises(ValueError, match="1 trailing bytes"):
        StoredResponse.from_bytes(_full()._to_bytes_v1() + b"\x00")
    with pytest.raises(ValueError, match="sizes do not add up"):
        StoredResponse.from_bytes(_full().to_bytes() + b"\x00")


def _patched(
    offset: int, fmt: str, value: object, write: Any = StoredResponse._to_bytes_v1
) -> bytes:
    data = bytearray(write(_full()))
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (5, ">H", 42, "status 42 is not a three-digit code"),
        (7, ">d", float("nan"), "request_time must be finite"),
        (15, ">d", float("inf"), "response_time must be finite"),
        (23, ">I", 10**9, "count larger than the data"),
        (27, ">I", 10**9, "count larger than the data"),
        (31, ">I", 2**32 - 1, "truncated"),
    ],
)
def test_inconsistent_fields_are_a_value_error(
    offset: int, fmt: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        StoredResponse.from_bytes(_patched(offset, fmt, value))


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (5, ">H", 42, "status 42 is not a three-digit code"),
        (23, ">I", 10**6, "wrong number of texts"),
        (27, ">I", 1, "wrong number of texts"),
        (31, ">I", 2**32 - 1, "sizes do not add up"),
        (35, ">Q", 0, "sizes do not add up"),
    ],
)
def test_inconsistent_fields_of_version_2_are_a_value_error(
    offset: int, fmt: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        StoredResponse.from_bytes(_patched(offset, fmt, value, StoredResponse.to_bytes))


@pytest.mark.parametrize(("write", "method_at"), [(WRITERS["v1"], 31 + 4), (WRITERS["v2"], 43)])
def test_invalid_utf8_is_a_value_error(write: Any, method_at: int) -> None:
    entry = StoredResponse("GET", "ab", 200, (), b"", T0, T0)
    data = bytearray(write(entry))
    data[method_at : method_at + 3] = b"\xff\xfe\xfd"
    with pytest.raises(ValueError, match="corrupt stored response"):
        StoredResponse.from_bytes(bytes(data))


def test_bad_vary_marker_is_a_value_error() -> None:
    entry = StoredResponse("GET", "", 200, (), b"", T0, T0, (("foo", None),))
    data = bytearray(entry._to_bytes_v1())
    data[31 + 4 + 3 + 4 + 4 + 3] = 7
    with pytest.raises(ValueError, match="bad Vary value marker"):
        StoredResponse.from_bytes(bytes(data))
    data = bytearray(entry.to_bytes())
    data[-1:] = b"?"  # the marker of the last text: "-" (absent) becomes "?"
    with pytest.raises(ValueError, match="bad Vary value marker"):
        StoredResponse.from_bytes(bytes(data))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": ""}, "method"),
        ({"status": True}, "status must be an int"),
        ({"status": 1000}, "three-digit"),
        ({"body": "text"}, "body must be bytes"),
        ({"request_time": float("nan")}, "finite"),
        ({"headers": (("a",),)}, "pairs of strings"),
        ({"headers": 5}, "sequence of"),
        ({"vary_headers": (("a", 1),)}, "pairs of strings"),
    ],
)
def test_constructing_an_invalid_entry_is_a_value_error(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "method": "GET",
        "url": URL,
        "status": 200,
        "headers": (),
        "body": b"",
        "request_time": T0,
        "response_time": T0,
    }
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        StoredResponse(**fields)  # type: ignore[arg-type]


def test_header_lists_are_accepted_and_kept_as_tuples() -> None:
    entry = StoredResponse("GET", URL, 200, [["A", "1"]], b"", T0, T0)  # type: ignore[arg-type]
    assert entry.headers == (("A", "1"),)
    assert entry.header("a") == "1"
    assert entry.header_lines("A") == ("1",)
