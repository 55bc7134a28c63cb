"""Range requests against stored responses: RFC 9110 §14 and §13.1.5, RFC 9111 §3.3."""

from __future__ import annotations

import pytest

from restwell.policy._cache._ranges import (
    ByteRangeSpec,
    forwarded,
    if_range_holds,
    parse_byte_ranges,
    resolve,
)
from restwell.policy.cache import CacheAction, StoredResponse
from restwell.testing import FakeClock
from tests.cache_policy.support import PRIVATE, SHARED, T0, decide, header, http_date, lookup, store

BODY = b"0123456789"
HOUR = ("Cache-Control", "max-age=3600")
LM = http_date(-86400)


def _stored(*extra: tuple[str, str], body: bytes = BODY, status: int = 200) -> StoredResponse:
    return store([HOUR, ("Date", http_date()), *extra], body=body, status=status)


def _answer(
    entry: StoredResponse, request: dict[str, str], clock: FakeClock
) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    decision = lookup(entry, clock.time(), request=request)
    assert decision.action is CacheAction.FRESH, decision.reason
    assert decision.response is not None
    response = decision.response
    return response.status, response.headers, response.body


# ------------------------------------------------------------------ §14.1 parsing


@pytest.mark.parametrize(
    ("value", "specs"),
    [
        ("bytes=0-1", (ByteRangeSpec(0, 1),)),
        ("bytes=1-", (ByteRangeSpec(1, None),)),
        ("bytes=-5", (ByteRangeSpec(None, None, 5),)),
        ("BYTES = 0-0", None),  # whitespace around "=" is not the grammar
        ("Bytes=0-0", (ByteRangeSpec(0, 0),)),  # the unit is case-insensitive (§14.1)
        ("bytes=0-1, 4-5", (ByteRangeSpec(0, 1), ByteRangeSpec(4, 5))),
        ("bytes=0-1,,", (ByteRangeSpec(0, 1),)),  # empty list members are tolerated
        ("bytes=5-4", None),  # last below first: invalid (§14.1.2)
        ("bytes=a-4", None),
        ("bytes=+1-4", None),
        ("bytes=1", None),
        ("bytes=", None),
        ("items=0-1", None),
        ("bytes 0-1", None),
    ],
)
def test_parse_byte_ranges(value: str, specs: tuple[ByteRangeSpec, ...] | None) -> None:
    assert parse_byte_ranges(value) == specs


@pytest.mark.parametrize(
    ("spec", "length", "expected"),
    [
        (ByteRangeSpec(0, 1), 10, (0, 1)),
        (ByteRangeSpec(3, 100), 10, (3, 9)),  # a last position past the end is cut (§14.1.2)
        (ByteRangeSpec(9, None), 10, (9, 9)),
        (ByteRangeSpec(10, None), 10, None),  # starts at the end: unsatisfiable
        (ByteRangeSpec(None, None, 3), 10, (7, 9)),
        (ByteRangeSpec(None, None, 30), 10, (0, 9)),  # a longer suffix is the whole
        (ByteRangeSpec(None, None, 0), 10, None),  # a zero-length suffix is unsatisfiable
        (ByteRangeSpec(0, 0), 0, None),  # nothing in an empty representation
    ],
)
def test_resolve(spec: ByteRangeSpec, length: int, expected: tuple[int, int] | None) -> None:
    assert resolve(spec, length) == expected


# ------------------------------------------------------------------ §14.2 serving one range


@pytest.mark.parametrize(
    ("rng", "part", "content_range"),
    [
        ("bytes=0-1", b"01", "bytes 0-1/10"),
        ("bytes=1-", b"123456789", "bytes 1-9/10"),
        ("bytes=-1", b"9", "bytes 9-9/10"),
        ("bytes=4-400", b"456789", "bytes 4-9/10"),
        ("bytes=-100", BODY, "bytes 0-9/10"),
    ],
)
def test_a_single_range_is_cut_from_a_stored_complete_response(
    rng: str, part: bytes, content_range: str
) -> None:
    clock = FakeClock(T0)
    entry = _stored(("A", "1"), ("Content-Length", "10"), ("Content-Type", "text/plain"))
    clock.advance(30)
    status, headers, body = _answer(entry, {"range": rng}, clock)
    assert (status, body) == (206, part)
    assert header(headers, "Content-Range") == [content_range]
    assert header(headers, "Content-Length") == [str(len(part))]  # the part's, not the 200's
    # The stored fields go with it (RFC 9110 §15.3.7), Age is the current age (RFC 9111 §5.1).
    assert header(headers, "A") == ["1"]
    assert header(headers, "Cache-Control") == ["max-age=3600"]
    assert header(headers, "Content-Type") == ["text/plain"]
    assert header(headers, "Age") == ["30"]


def test_an_unsatisfiable_range_is_a_416_with_the_complete_length() -> None:
    clock = FakeClock(T0)
    entry = _stored(("ETag", '"v1"'), ("Content-Type", "text/plain"))
    status, headers, body = _answer(entry, {"range": "bytes=10-"}, clock)
    assert (status, body) == (416, b"")
    assert header(headers, "Content-Range") == ["bytes */10"]  # RFC 9110 §15.5.17
    assert header(headers, "Content-Length") == ["0"]
    assert header(headers, "ETag") == ['"v1"']
    # The 416 is not the 200: none of its freshness or content fields go with it.
    assert header(headers, "Cache-Control") == []
    assert header(headers, "Content-Type") == []


@pytest.mark.parametrize(
    "rng",
    ["bytes=0-1, 4-5", "items=0-1", "bytes=5-4", "bytes=x-"],
)
def test_what_the_cache_cannot_answer_goes_to_the_origin(rng: str) -> None:
    # Several ranges (the origin may answer multipart/byteranges), another unit (the origin
    # may understand it), an invalid field: RFC 9110 §14.2 leaves each to the server.
    entry = _stored()
    decision = lookup(entry, T0, request={"range": rng})
    assert decision.action is CacheAction.BYPASS
    assert forwarded("GET", {"range": rng}) is not None


def test_range_on_head_is_ignored() -> None:
    # RFC 9110 §14.2: Range is defined for GET only.
    entry = _stored()
    assert forwarded("HEAD", {"range": "bytes=0-1, 3-4"}) is None
    decision = lookup(entry, T0, request={"range": "bytes=0-1"}, method="HEAD")
    assert decision.response is not None
    assert (decision.response.status, decision.response.body) == (200, b"")


def test_only_a_stored_200_is_cut() -> None:
    entry = store([HOUR, ("Date", http_date())], status=203, body=BODY)
    decision = lookup(entry, T0, request={"range": "bytes=0-1"})
    assert decision.response is not None
    assert (decision.response.status, decision.response.body) == (203, BODY)


def test_a_stale_response_is_validated_before_a_range_is_cut_from_it() -> None:
    clock = FakeClock(T0)
    entry = _stored(("ETag", '"v1"'))
    clock.advance(7200)
    decision = lookup(entry, clock.time(), request={"range": "bytes=0-1"})
    assert decision.action is CacheAction.REVALIDATE
    assert decision.entry is not None
    # After a 304, the flow answers with respond(): the range is cut from the freshened entry.
    answer = PRIVATE.respond("GET", {"range": "bytes=0-1"}, decision.entry, clock.time())
    assert (answer.status, answer.body) == (206, b"01")


def test_the_requests_own_precondition_comes_before_the_range() -> None:
    # RFC 9110 §13.2.2: If-None-Match is evaluated before Range / If-Range.
    entry = _stored(("ETag", '"v1"'))
    answer = PRIVATE.respond("GET", {"range": "bytes=0-1", "if-none-match": '"v1"'}, entry, T0)
    assert answer.status == 304


def test_a_coded_body_decoded_on_the_way_in_is_not_cut() -> None:
    # The stored bytes are not the representation's (gzip) bytes: ranges would name others,
    # so the whole response is the answer (Range ignored, RFC 9110 §14.2).
    entry = _stored(("Content-Encoding", "gzip"), ("Content-Length", "4"))
    decision = lookup(entry, T0, request={"range": "bytes=0-1"})
    assert decision.response is not None
    assert decision.response.status == 200
    coded = _stored(("Content-Encoding", "gzip"), ("Content-Length", "10"))
    decision = lookup(coded, T0, request={"range": "bytes=0-1"})
    assert decision.response is not None
    assert (decision.response.status, decision.response.body) == (206, b"01")


def test_partial_responses_are_not_stored() -> None:
    decision = decide(
        [HOUR, ("Content-Range", "bytes 0-1/10")], status=206, body=b"01", policy=SHARED
    )
    assert not decision.store


# ------------------------------------------------------------------ §13.1.5 If-Range


@pytest.mark.parametrize(
    ("if_range", "expected"),
    [
        ('"v1"', 206),
        ('"v2"', 200),
        ('W/"v1"', 200),  # a weak tag never matches strongly
    ],
)
def test_if_range_with_an_entity_tag(if_range: str, expected: int) -> None:
    entry = _stored(("ETag", '"v1"'))
    status, _, body = _answer(entry, {"range": "bytes=0-1", "if-range": if_range}, FakeClock(T0))
    assert status == expected
    assert body == (b"01" if expected == 206 else BODY)


def test_if_range_with_a_weak_stored_tag_gives_the_whole_response() -> None:
    entry = _stored(("ETag", 'W/"v1"'))
    status, _, _ = _answer(entry, {"range": "bytes=0-1", "if-range": 'W/"v1"'}, FakeClock(T0))
    assert status == 200


def test_if_range_with_a_date() -> None:
    clock = FakeClock(T0)
    entry = _stored(("Last-Modified", LM))
    request = {"range": "bytes=0-1", "if-range": LM}
    assert _answer(entry, request, clock)[0] == 206
    request["if-range"] = http_date(-86399)
    assert _answer(entry, request, clock)[0] == 200
    request["if-range"] = "not a date"
    assert _answer(entry, request, clock)[0] == 200


def test_if_range_date_needs_a_strong_last_modified() -> None:
    # RFC 9110 §8.8.2.2: for a cache, Last-Modified is strong only 60 s or more before Date.
    recent = http_date(-10)
    entry = _stored(("Last-Modified", recent))
    status, _, _ = _answer(entry, {"range": "bytes=0-1", "if-range": recent}, FakeClock(T0))
    assert status == 200
    assert if_range_holds(recent, None, recent, T0, T0) is False
    assert if_range_holds(None, None, None, None, T0) is True


def test_if_range_without_range_changes_nothing() -> None:
    entry = _stored(("ETag", '"v1"'))
    status, _, body = _answer(entry, {"if-range": '"v2"'}, FakeClock(T0))
    assert (status, body) == (200, BODY)
