"""Range requests answered from a stored complete response (RFC 9110 §14, §13.1.5; RFC 9111 §3.3).

A cache holding a complete ``200`` can answer a request for one byte range of it itself, as
the origin would: a ``206 Partial Content`` carrying that range, or a ``416 Range Not
Satisfiable`` when no byte of the range exists. What the cache does not answer from storage
(several ranges, an unknown unit, a ``Range`` it cannot read) it forwards, so the origin
decides (RFC 9110 §14.2 lets any server ignore ``Range``; the origin may do better, e.g. a
``multipart/byteranges`` answer). Partial (``206``) responses themselves are not stored: a
cache MAY store and combine them (RFC 9111 §3.3, §3.4), never must.

Pure functions over field values; the policy calls them from ``lookup`` and ``respond``.
"""

from __future__ import annotations

from dataclasses import dataclass

from restwell.policy._cache._directives import parse_http_date, strong_match
from restwell.policy.ratelimit import HeaderLookup

__all__ = [
    "ByteRangeSpec",
    "Cut",
    "cut",
    "forwarded",
    "if_range_holds",
    "parse_byte_ranges",
    "resolve",
]

_DIGITS = frozenset("0123456789")
_STRONG_LM_GAP = 60.0
"""RFC 9110 §8.8.2.2: an intermediate cache may treat a stored ``Last-Modified`` as a strong
validator only when the stored ``Date`` is at least 60 seconds after it."""
_NO_CODING = ("", "identity")
# What a 416 keeps of the stored fields: metadata about the selected representation, not the
# fields of a 200's content or its freshness (the 416 is no reusable copy of the 200).
_UNSATISFIABLE_FIELDS = frozenset({"date", "etag", "last-modified", "vary"})
_PART_DROPPED = frozenset({"content-length", "content-range", "age"})


@dataclass(frozen=True, slots=True)
class ByteRangeSpec:
    """One ``byte-range-spec`` or ``suffix-range`` of a ``Range: bytes=`` field (§14.1.2).

    Attributes:
        first: The first byte position (``None`` for a suffix range).
        last: The last byte position, inclusive (``None``: to the end of the representation).
        suffix: For a suffix range (``-n``), its length ``n``.
    """

    first: int | None
    last: int | None
    suffix: int | None = None


def _position(text: str) -> int | None:
    # RFC 9110 §14.1.2: positions and lengths are 1*DIGIT, nothing else (no sign, no space).
    if not text or not _DIGITS.issuperset(text):
        return None
    return int(text)


def parse_byte_ranges(value: str) -> tuple[ByteRangeSpec, ...] | None:
    """The specs of a ``bytes`` ranges-specifier, or ``None`` when it is not one (§14.1.1).

    The unit is case-insensitive; list members are separated by commas with optional
    whitespace, and empty members are tolerated (RFC 9110 §5.6.1). A range whose last position
    is below its first is invalid, and so is the whole field (§14.1.2).
    """
    unit, eq, rest = value.strip().partition("=")
    if not eq or unit.lower() != "bytes":  # no whitespace around "=" in the grammar
        return None
    specs: list[ByteRangeSpec] = []
    for member in rest.split(","):
        member = member.strip(" \t")
        if not member:
            continue
        head, dash, tail = member.partition("-")
        if not dash:
            return None
        if not head:
            length = _position(tail)
            if length is None:
                return None
            specs.append(ByteRangeSpec(None, None, length))
            continue
        first = _position(head)
        last = _position(tail) if tail else None
        if first is None or (tail and last is None) or (last is not None and last < first):
            return None
        specs.append(ByteRangeSpec(first, last))
    return tuple(specs) or None


def resolve(spec: ByteRangeSpec, length: int) -> tuple[int, int] | None:
    """``(first, last)`` of ``spec`` within a representation of ``length`` bytes, or ``None``.

    ``None`` when the range is unsatisfiable: it starts at or after the end, or it is a
    zero-length suffix, or the representation is empty (RFC 9110 §14.1.2). A last position at
    or past the end, or a suffix longer than the representation, is cut to what exists.
    """
    if length <= 0:
        return None
    if spec.suffix is not None:
        if spec.suffix == 0:
            return None
        return max(0, length - spec.suffix), length - 1
    assert spec.first is not None
    if spec.first >= length:
        return None
    last = length - 1 if spec.last is None else min(spec.last, length - 1)
    return spec.first, last


def _single(request_headers: HeaderLookup) -> ByteRangeSpec | None:
    value = request_headers.get("range")
    if value is None:
        return None
    specs = parse_byte_ranges(value)
    if specs is None or len(specs) != 1:
        return None
    return specs[0]


def forwarded(method: str, request_headers: HeaderLookup) -> str | None:
    """Why a request's ``Range`` is left to the origin, or ``None`` when the cache can answer.

    Only a GET's ``Range`` means anything (RFC 9110 §14.2: other methods ignore it, so for HEAD
    the cache answers as without it). The cache answers one ``bytes`` range itself; several
    ranges, another unit or a field it cannot read go to the origin, which may understand the
    unit or answer ``multipart/byteranges``.
    """
    if method != "GET":
        return None
    value = request_headers.get("range")
    if value is None:
        return None
    specs = parse_byte_ranges(value)
    if specs is None:
        return "Range is not one the cache reads (another unit or invalid): forwarded (§14.2)"
    if len(specs) > 1:
        return "Range asks for several ranges: forwarded to the origin (§14.2)"
    return None


def if_range_holds(
    if_range: str | None,
    etag: str | None,
    last_modified: str | None,
    date: float | None,
    now: float,
) -> bool:
    """Whether ``If-Range`` lets the stored response's range be sent (RFC 9110 §13.1.5).

    Absent: yes. An entity-tag must match the stored ``ETag`` by strong comparison (a weak tag
    never does). An HTTP-date must equal the stored ``Last-Modified`` exactly, and that
    ``Last-Modified`` must be strong: for a cache, at least 60 seconds before the stored
    ``Date`` (§8.8.2.2). Anything else fails, and the full response is sent instead.
    """
    if if_range is None:
        return True
    text = if_range.strip()
    if text.startswith(('"', "W/", "w/")):
        return etag is not None and strong_match(text, etag)
    wanted = parse_http_date(text, now)
    stored = parse_http_date(last_modified, now) if last_modified is not None else None
    if wanted is None or stored is None or date is None:
        return False
    return wanted == stored and date - stored >= _STRONG_LM_GAP


@dataclass(frozen=True, slots=True)
class Cut:
    """The answer to a range request made from a stored complete response.

    Attributes:
        status: 206, or 416 when the range is unsatisfiable.
        headers: The fields to send (``Age`` is left to the caller).
        body: The selected bytes (empty for a 416).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _representation_bytes(headers: tuple[tuple[str, str], ...], body: bytes) -> bool:
    # Byte ranges count octets of the representation as sent, content coding included
    # (RFC 9110 §14.1.2). A stored body may have been decoded on the way in; it is the sent
    # bytes only when no coding applies, or when it is as long as the Content-Length sent.
    coding = length = None
    for name, value in headers:
        lower = name.lower()
        if lower == "content-encoding":
            coding = value.strip().lower()
        elif lower == "content-length" and length is None:
            length = value.strip()
    if coding is None or coding in _NO_CODING:
        return True
    return length is not None and length == str(len(body))


def cut(
    request_headers: HeaderLookup,
    status: int,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    now: float,
) -> Cut | None:
    """The partial answer to a GET's single ``bytes`` range from a stored complete response.

    ``None`` when the full response is the answer: no ``Range``, one the cache does not serve
    (see :func:`forwarded`), a stored status other than 200 (only a complete 200 is the whole
    representation), a stored body that is not the representation's bytes, or an ``If-Range``
    that does not hold (RFC 9110 §13.1.5: the Range is then ignored).

    Otherwise a 206 whose ``Content-Range`` names the selected bytes and the complete length,
    with the stored fields (``Content-Length`` set to the part's length; RFC 9110 §15.3.7), or,
    when no byte of the range exists, a 416 with ``Content-Range: bytes */length`` (§15.5.17).
    """
    if status != 200:
        return None
    spec = _single(request_headers)
    if spec is None or not _representation_bytes(headers, body):
        return None
    etag = last_modified = date_text = None
    for name, value in headers:
        lower = name.lower()
        if lower == "etag" and etag is None:
            etag = value
        elif lower == "last-modified" and last_modified is None:
            last_modified = value
        elif lower == "date" and date_text is None:
            date_text = value
    date = parse_http_date(date_text, now) if date_text is not None else None
    if not if_range_holds(request_headers.get("if-range"), etag, last_modified, date, now):
        return None
    length = len(body)
    selected = resolve(spec, length)
    if selected is None:
        kept = tuple(p for p in headers if p[0].lower() in _UNSATISFIABLE_FIELDS)
        fields = (*kept, ("Content-Range", f"bytes */{length}"), ("Content-Length", "0"))
        return Cut(416, fields, b"")
    first, last = selected
    kept = tuple(p for p in headers if p[0].lower() not in _PART_DROPPED)
    part = body[first : last + 1]
    fields = (
        *kept,
        ("Content-Range", f"bytes {first}-{last}/{length}"),
        ("Content-Length", str(len(part))),
    )
    return Cut(206, fields, part)
