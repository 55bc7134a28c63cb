"""What the cache keeps: :class:`StoredResponse`, its byte form, and the header rules around it.

A stored response is the response as received, minus what RFC 9111 §3.1 forbids storing, plus
what the cache needs later: when it was requested and received (for the age, §4.2.3), which
request it answered (method and URI, §4.1) and the values of the request fields its ``Vary``
names (§4.1). Everything derived from the headers (parsed ``Cache-Control``, dates, validators,
``Vary``) is computed once, when the object is made, so a cache hit parses nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from restwell.policy._cache._directives import (
    CacheControl,
    parse_age,
    parse_cache_control,
    parse_http_date,
    split_members,
)
from restwell.policy.ratelimit import HeaderLookup

__all__ = [
    "HOP_BY_HOP_FIELDS",
    "SCANNED_FIELDS",
    "FieldIndex",
    "StoredResponse",
    "draft_of",
    "join_lines",
    "make_entry",
    "normalize_field_value",
    "scan_fields",
    "scan_fields_general",
]

HOP_BY_HOP_FIELDS = frozenset(
    {
        # RFC 9110 §7.6.1: connection-specific fields, removed before forwarding and so, as
        # RFC 9111 §3.1 allows, before storing.
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "transfer-encoding",
        "upgrade",
        # RFC 9111 §3.1: fields specific to the proxy a cache forwards through are never stored.
        "proxy-authenticate",
        "proxy-authentication-info",
        "proxy-authorization",
    }
)
"""Response fields never stored (besides those a ``Connection`` field names)."""


class FieldIndex:
    """Case-insensitive view of ``(name, value)`` pairs: the lines of each field, in order."""

    __slots__ = ("_lines",)

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        lines: dict[str, list[str]] = {}
        for name, value in pairs:
            lines.setdefault(name.lower(), []).append(value)
        self._lines = lines

    def get(self, name: str, /) -> str | None:
        """All lines of field ``name`` (lower case) joined with ``", "``, or ``None``."""
        values = self._lines.get(name)
        if values is None:
            return None
        return values[0] if len(values) == 1 else ", ".join(values)

    def first(self, name: str) -> str | None:
        """The first line of field ``name``: for single-value fields, the one that counts."""
        values = self._lines.get(name)
        return values[0] if values else None

    def lines(self, name: str) -> tuple[str, ...]:
        """Every line of field ``name`` (lower case), in order."""
        return tuple(self._lines.get(name, ()))

    def __contains__(self, name: object) -> bool:
        return name in self._lines

    def without(self, names: frozenset[str]) -> FieldIndex:
        """The index of the same pairs minus every field in ``names`` (lower case).

        What ``FieldIndex`` of the filtered pairs would be, without going over them again.
        """
        lines = self._lines
        gone = [name for name in lines if name in names]
        if not gone:
            return self
        index = FieldIndex(())
        # The line lists are never changed once built, so the two indexes can share them.
        index._lines = kept = lines.copy()
        for name in gone:
            del kept[name]
        return index


# RFC 9111 §4.1: request fields match after normalisation "known to have identical semantics".
# These fields are case-insensitive; of them, the order of members is not significant for the
# first three. Accept-Language keeps its order: some recipients read order as priority
# (RFC 9110 §12.5.4).
_UNORDERED_FIELDS = frozenset({"accept", "accept-charset", "accept-encoding"})
_CASELESS_FIELDS = _UNORDERED_FIELDS | {"accept-language"}
_PARAM_SPACE = re.compile(r"\s*([;=])\s*")


def normalize_field_value(name: str, value: str | None) -> str | None:
    """``value`` of request field ``name`` in the form two requests are compared in (§4.1).

    Whitespace around list members is dropped and lines joined (``"1,2"``, ``" 1, 2 "`` and two
    lines ``1`` and ``2`` all normalise to ``"1,2"``); content-negotiation fields are also
    lower-cased, and those whose member order carries no meaning are sorted.

    Args:
        name: Lower-case field name.
        value: The field value (lines joined with commas), or ``None`` when absent.
    """
    if value is None:
        return None
    members = list(split_members(value))
    if name in _CASELESS_FIELDS:
        members = [_PARAM_SPACE.sub(r"\1", m).lower() for m in members]
        if name in _UNORDERED_FIELDS:
            members.sort()
    return ",".join(members)


def _vary_names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    names: list[str] = []
    for member in split_members(value):
        name = member.strip().lower()
        if name and name not in names:
            names.append(name)
    return tuple(names)


_MAGIC = b"RWSR"
_VERSION = 1
_HEAD = struct.Struct(">4sBHddII")  # magic, version, status, request/response time, counts
# Version 2: the same head plus the sizes of one text block and of the body. The texts
# (method, URL, field names and values, Vary selections) are joined by NUL, which no field
# value may hold (RFC 9110 §5.5), so a whole entry is written with one join and one encode;
# a text holding NUL anyway is written in version 1, which prefixes each text with its size.
_VERSION_2 = 2
_HEAD_2 = struct.Struct(">4sBHddIIIQ")
_LEN = struct.Struct(">I")
_BODY_LEN = struct.Struct(">Q")


def _text(value: str) -> bytes:
    data = value.encode("utf-8", "surrogatepass")
    return _LEN.pack(len(data)) + data


def _bounded(count: int, data: bytes, min_size: int) -> int:
    """``count`` items of at least ``min_size`` bytes each, if ``data`` can hold them."""
    if count * min_size > len(data):
        raise ValueError("count larger than the data")
    return count


def _read_texts(data: bytes, pos: int, count: int) -> tuple[list[str], int]:
    """``count`` length-prefixed UTF-8 strings from ``data`` at ``pos``, and the end."""
    out: list[str] = []
    append = out.append
    unpack = _LEN.unpack_from
    size = len(data)
    for _ in range(count):
        if pos + 4 > size:
            raise ValueError("truncated")
        (n,) = unpack(data, pos)
        pos += 4
        end = pos + n
        if end > size:
            raise ValueError("truncated")
        append(data[pos:end].decode("utf-8", "surrogatepass"))
        pos = end
    return out, pos


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise ValueError("truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def text(self) -> str:
        (n,) = _LEN.unpack(self.take(4))
        return self.take(n).decode("utf-8", "surrogatepass")


def _pairs(items: object, what: str, *, optional: bool) -> tuple[tuple[str, Any], ...]:
    """``items`` as a tuple of 2-tuples of strings (second may be None if ``optional``)."""
    if type(items) is tuple and all(
        type(p) is tuple
        and len(p) == 2
        and type(p[0]) is str
        and (type(p[1]) is str or (optional and p[1] is None))
        for p in items
    ):
        return items  # the common case: already the right shape, nothing to copy
    try:
        pairs = tuple(tuple(pair) for pair in items)  # type: ignore[attr-defined]
    except TypeError:
        raise ValueError(f"{what} must be a sequence of (name, value) pairs") from None
    for pair in pairs:
        if (
            len(pair) != 2
            or not isinstance(pair[0], str)
            or not (isinstance(pair[1], str) or (optional and pair[1] is None))
        ):
            raise ValueError(f"{what} must be (name, value) pairs of strings")
    return pairs


@dataclass(frozen=True, slots=True, init=False)
class StoredResponse:
    """A response as the cache keeps it (RFC 9111 §3), immutable.

    Make one with :meth:`CachePolicy.decide_store <restwell.policy.CachePolicy.decide_store>`
    (which filters the headers and fills in the times) or :meth:`from_bytes`; storages persist
    it with :meth:`to_bytes`.

    Attributes:
        method: Method of the request that produced it (``GET``; ``POST`` for a POST response
            RFC 9110 §9.3.3 lets a later GET reuse).
        url: Target URI of that request.
        status: Final status code.
        headers: ``(name, value)`` pairs as received, in order, without the fields §3.1 forbids
            storing; a ``Date`` is added when the response had none (RFC 9110 §6.6.1).
        body: The complete content.
        request_time: Epoch seconds when the request was sent (§4.2.3 ``request_time``).
        response_time: Epoch seconds when the response was received (§4.2.3 ``response_time``).
        vary_headers: ``(lower-case name, value or None)`` of each request field the response's
            ``Vary`` names, as the original request carried them (§4.1).
    """

    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    request_time: float
    response_time: float
    vary_headers: tuple[tuple[str, str | None], ...] = ()
    # Derived from the headers when the entry is made (see make_entry), so a cache hit parses
    # nothing; the full field index only when header() or header_lines() first asks.
    _fields: FieldIndex | None = field(init=False, repr=False, compare=False)
    _cc: CacheControl = field(init=False, repr=False, compare=False)
    _date: float | None = field(init=False, repr=False, compare=False)
    _age: int = field(init=False, repr=False, compare=False)
    _expires: float | None = field(init=False, repr=False, compare=False)
    _has_expires: bool = field(init=False, repr=False, compare=False)
    _last_modified: float | None = field(init=False, repr=False, compare=False)
    _etag: str | None = field(init=False, repr=False, compare=False)
    _vary: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _vary_selected: tuple[tuple[str, str | None], ...] = field(
        init=False, repr=False, compare=False
    )
    _variant: str = field(init=False, repr=False, compare=False)

    def __new__(
        cls,
        method: str,
        url: str,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        request_time: float,
        response_time: float,
        vary_headers: tuple[tuple[str, str | None], ...] = (),
    ) -> StoredResponse:
        """Check and normalise the fields given by a caller, then make the entry.

        Raises:
            ValueError: A field is not of its documented type, or out of range.
        """
        request_time, response_time = _checked(
            method, url, status, body, request_time, response_time
        )
        headers = _pairs(headers, "headers", optional=False)
        if vary_headers or type(vary_headers) is not tuple:
            vary_headers = _pairs(vary_headers, "vary_headers", optional=True)
        return make_entry(
            cls, method, url, status, headers, body, request_time, response_time, vary_headers
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles are made through the constructor: the derived fields follow.
        return (
            type(self),
            (
                self.method,
                self.url,
                self.status,
                self.headers,
                self.body,
                self.request_time,
                self.response_time,
                self.vary_headers,
            ),
        )

    # ------------------------------------------------------------------ derived, read-only

    def header(self, name: str) -> str | None:
        """Value of response field ``name`` (case-insensitive), lines joined, or ``None``."""
        return self._index().get(name.lower())

    def header_lines(self, name: str) -> tuple[str, ...]:
        """Every line of response field ``name`` (case-insensitive), in order."""
        return self._index().lines(name.lower())

    def _index(self) -> FieldIndex:
        fields = self._fields
        if fields is None:
            # Built on first use: most entries (a miss stored, a hit served) never need it. Two
            # threads may both build it; they build the same thing.
            fields = FieldIndex(self.headers)
            _set_fields(self, fields)
        return fields

    @property
    def cache_control(self) -> CacheControl:
        """The parsed ``Cache-Control`` of the stored response."""
        return self._cc

    @property
    def date(self) -> float | None:
        """The ``Date`` value in epoch seconds, ``None`` when absent or invalid."""
        return self._date

    @property
    def date_value(self) -> float:
        """§4.2.3 ``date_value``: ``Date``, or the response time when ``Date`` is unusable."""
        return self._date if self._date is not None else self.response_time

    @property
    def age_value(self) -> int:
        """§4.2.3 ``age_value``: the received ``Age`` in seconds (0 when absent or invalid)."""
        return self._age

    @property
    def expires(self) -> float | None:
        """The ``Expires`` value in epoch seconds, ``None`` when absent or invalid."""
        return self._expires

    @property
    def has_expires(self) -> bool:
        """Whether an ``Expires`` field is present at all (valid or not, §5.3)."""
        return self._has_expires

    @property
    def last_modified(self) -> float | None:
        """The ``Last-Modified`` value in epoch seconds, ``None`` when absent or invalid."""
        return self._last_modified

    @property
    def etag(self) -> str | None:
        """The ``ETag`` as received, ``None`` when absent."""
        return self._etag

    @property
    def vary(self) -> tuple[str, ...]:
        """Lower-case field names of ``Vary`` (``("*",)`` style members included)."""
        return self._vary

    @property
    def variant(self) -> str:
        """Storage variant id: equal for responses selected by the same request field values.

        ``""`` when the response has no ``Vary``; otherwise a hash of the normalised values of
        the fields ``Vary`` names, so no header value (a token, say) appears in a storage key.
        A new response stored under the same key and variant replaces the old one.
        """
        return self._variant

    @property
    def has_validator(self) -> bool:
        """Whether the response can be validated (an ``ETag`` or a valid ``Last-Modified``)."""
        return self._etag is not None or self._last_modified is not None

    @property
    def recency(self) -> tuple[float, float]:
        """Sort key for "the most recent" stored response: ``Date``, then receipt (§4)."""
        return (self.date_value, self.response_time)

    def matches(self, request_headers: HeaderLookup) -> bool:
        """Whether a request with ``request_headers`` selects this response (§4.1).

        Every field ``Vary`` names must match the original request's after normalisation
        (absent matches only absent); ``Vary: *`` never matches.
        """
        if "*" in self._vary:
            return False
        for name, value in self._vary_selected:
            if normalize_field_value(name, request_headers.get(name)) != value:
                return False
        return True

    # ------------------------------------------------------------------ bytes

    def to_bytes(self) -> bytes:
        """A compact, versioned byte form for storages; :meth:`from_bytes` reads it back."""
        texts = [self.method, self.url]
        for pair in self.headers:
            texts += pair
        for name, selected in self.vary_headers:
            texts.append(name)
            # A marker keeps an absent field (None) apart from an empty one.
            texts.append("-" if selected is None else "=" + selected)
        joined = "\0".join(texts)
        if joined.count("\0") == len(texts) - 1:
            block = joined.encode("utf-8", "surrogatepass")
            body = self.body
            head = _HEAD_2.pack(
                _MAGIC,
                _VERSION_2,
                self.status,
                self.request_time,
                self.response_time,
                len(self.headers),
                len(self.vary_headers),
                len(block),
                len(body),
            )
            return head + block + body
        return self._to_bytes_v1()

    def _to_bytes_v1(self) -> bytes:
        parts = [
            _HEAD.pack(
                _MAGIC,
                _VERSION,
                self.status,
                self.request_time,
                self.response_time,
                len(self.headers),
                len(self.vary_headers),
            ),
            _text(self.method),
            _text(self.url),
        ]
        for name, value in self.headers:
            parts.append(_text(name))
            parts.append(_text(value))
        for name, selected in self.vary_headers:
            parts.append(_text(name))
            if selected is None:
                parts.append(b"\x00")
            else:
                parts.append(b"\x01")
                parts.append(_text(selected))
        parts.append(_BODY_LEN.pack(len(self.body)))
        parts.append(self.body)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredResponse:
        """Read what :meth:`to_bytes` wrote.

        Raises:
            ValueError: ``data`` is not a complete stored response of a known version
                (garbage, truncated, another format); the message says why.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"not a stored response: {type(data).__name__}, not bytes")
        data = bytes(data)
        if len(data) < _HEAD.size or data[:4] != _MAGIC:
            raise ValueError("not a stored response: missing the RWSR header")
        if data[4] == _VERSION_2:
            return cls._from_bytes_v2(data)
        if data[4] != _VERSION:
            raise ValueError(f"stored response format version {data[4]} is not supported")
        try:
            _, _, status, request_time, response_time, n_headers, n_vary = _HEAD.unpack_from(data)
            texts, pos = _read_texts(data, _HEAD.size, 2 + 2 * _bounded(n_headers, data, 8))
            method, url = texts[0], texts[1]
            headers = list(zip(texts[2::2], texts[3::2], strict=True))
            reader = _Reader(data)
            reader.pos = pos
            vary_headers: list[tuple[str, str | None]] = []
            for _ in range(_bounded(n_vary, data, 5)):
                name = reader.text()
                flag = reader.take(1)
                if flag == b"\x00":
                    vary_headers.append((name, None))
                elif flag == b"\x01":
                    vary_headers.append((name, reader.text()))
                else:
                    raise ValueError("bad Vary value marker")
            (body_len,) = _BODY_LEN.unpack(reader.take(8))
            body = reader.take(body_len)
            if reader.pos != len(data):
                raise ValueError(f"{len(data) - reader.pos} trailing bytes")
            return _from_parts(
                cls,
                method,
                url,
                status,
                tuple(headers),
                body,
                request_time,
                response_time,
                tuple(vary_headers),
            )
        except (struct.error, UnicodeDecodeError, ValueError, OverflowError, MemoryError) as exc:
            raise ValueError(f"corrupt stored response: {exc}") from None

    @classmethod
    def _from_bytes_v2(cls, data: bytes) -> StoredResponse:
        try:
            (_, _, status, request_time, response_time, n_headers, n_vary, n_block, n_body) = (
                _HEAD_2.unpack_from(data)
            )
            start = _HEAD_2.size
            if start + n_block + n_body != len(data):
                raise ValueError("sizes do not add up to the data")
            texts = data[start : start + n_block].decode("utf-8", "surrogatepass").split("\0")
            if len(texts) != 2 + 2 * n_headers + 2 * n_vary:
                raise ValueError("wrong number of texts")
            end = 2 + 2 * n_headers
            headers = tuple(zip(texts[2:end:2], texts[3:end:2], strict=True))
            vary_headers: list[tuple[str, str | None]] = []
            for name, selected in zip(texts[end::2], texts[end + 1 :: 2], strict=True):
                if selected == "-":
                    vary_headers.append((name, None))
                elif selected[:1] == "=":
                    vary_headers.append((name, selected[1:]))
                else:
                    raise ValueError("bad Vary value marker")
            return _from_parts(
                cls,
                texts[0],
                texts[1],
                status,
                headers,
                data[start + n_block :],
                request_time,
                response_time,
                tuple(vary_headers),
            )
        except (struct.error, UnicodeDecodeError, ValueError, OverflowError, MemoryError) as exc:
            raise ValueError(f"corrupt stored response: {exc}") from None


def _from_parts(
    cls: type[StoredResponse],
    method: str,
    url: str,
    status: int,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    request_time: float,
    response_time: float,
    vary_headers: tuple[tuple[str, str | None], ...],
) -> StoredResponse:
    # What from_bytes read: texts are strings and pairs tuples by construction; only what a
    # damaged blob can hold (an empty method, a status or time out of range) is checked.
    request_time, response_time = _checked(method, url, status, body, request_time, response_time)
    return make_entry(
        cls, method, url, status, headers, body, request_time, response_time, vary_headers
    )


def _checked(
    method: object,
    url: object,
    status: object,
    body: object,
    request_time: object,
    response_time: object,
) -> tuple[float, float]:
    """Check the scalar fields of a stored response; its two times as floats."""
    if not isinstance(method, str) or not method:
        raise ValueError("method must be a non-empty string")
    if not isinstance(url, str):
        raise ValueError("url must be a string")
    if type(status) is not int and (isinstance(status, bool) or not isinstance(status, int)):
        raise ValueError("status must be an int")
    if not 100 <= status <= 999:
        raise ValueError(f"status {status} is not a three-digit code")
    if not isinstance(body, bytes):
        raise ValueError("body must be bytes")
    for name, value in (("request_time", request_time), ("response_time", response_time)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite")
    return float(request_time), float(response_time)  # type: ignore[arg-type]


SCANNED_FIELDS = HOP_BY_HOP_FIELDS | {
    # What a stored response derives its values from ...
    "cache-control",
    "date",
    "age",
    "expires",
    "last-modified",
    "etag",
    "vary",
    # ... and what deciding whether to store one reads besides.
    "content-length",
    "content-encoding",
    "content-location",
}
"""The response fields :func:`scan_fields` collects."""

# Field names as received -> the lower-case name when scanned, "" when not. Senders spell the
# same few dozen names response after response: looking a name up costs less than lower-casing
# it and then looking that up. Bounded, for senders that make names up.
_SPELLINGS: dict[str, str] = {}
_SPELLINGS_MAX = 4096


def scan_fields(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, list[str]], list[tuple[str, str]]] | None:
    """The lines of each field of :data:`SCANNED_FIELDS` in ``pairs``, and the hop-by-hop pairs.

    The lines are keyed by lower-case name, in order; the hop-by-hop pairs (those of
    :data:`HOP_BY_HOP_FIELDS`) are as found in ``pairs``. ``None`` unless every pair is a tuple
    of two ``str``: the caller then takes the general path.
    """
    found: dict[str, list[str]] = {}
    hop: list[tuple[str, str]] = []
    spellings = _SPELLINGS
    try:
        for pair in pairs:
            name, value = pair
            if pair.__class__ is not tuple or value.__class__ is not str:
                return None
            try:
                # A name found here equals a str seen before: only a new one needs checking.
                low = spellings[name]
            except KeyError:
                if name.__class__ is not str:
                    return None
                low = name.lower()
                if low not in SCANNED_FIELDS:
                    low = ""
                if len(spellings) < _SPELLINGS_MAX:
                    spellings[name] = low
            if low:
                if low in found:
                    found[low].append(value)
                else:
                    found[low] = [value]
                if low in HOP_BY_HOP_FIELDS:
                    hop.append(pair)
    except (TypeError, ValueError):  # not a pair at all
        return None
    return found, hop


def scan_fields_general(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """What :func:`scan_fields` gives, also for the pairs it declines (once checked otherwise)."""
    found: dict[str, list[str]] = {}
    hop: list[tuple[str, str]] = []
    for pair in pairs:
        name, value = pair
        low = name.lower()
        if low in SCANNED_FIELDS:
            found.setdefault(low, []).append(value)
            if low in HOP_BY_HOP_FIELDS:
                hop.append(pair)
    return found, hop


def join_lines(lines: list[str] | None) -> str | None:
    """A field's lines joined with ``", "`` (RFC 9110 §5.3), ``None`` for an absent field."""
    if lines is None:
        return None
    return lines[0] if len(lines) == 1 else ", ".join(lines)


def draft_of(cls: type[Any]) -> type[Any]:
    """A mutable class with the slots of the frozen slots dataclass ``cls``: a way to make one.

    A frozen dataclass sets each field through ``object.__setattr__``, most of what making one
    costs. Fill an instance of the draft class with plain assignments instead, then turn it into
    a ``cls`` by assigning ``__class__``, which Python allows between classes of the same layout
    (the same slots, in the same order). Every field must be set: nothing checks it.
    """
    return type(f"_{cls.__name__}Draft", (), {"__slots__": cls.__slots__})


_Draft = draft_of(StoredResponse)
_set_fields = StoredResponse.__dict__["_fields"].__set__


def make_entry(
    cls: type[StoredResponse],
    method: str,
    url: str,
    status: int,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
    request_time: float,
    response_time: float,
    vary_headers: tuple[tuple[str, str | None], ...],
    found: dict[str, list[str]] | None = None,
    cc: CacheControl | None = None,
) -> StoredResponse:
    """A stored response of already checked fields, its derived values computed.

    Args:
        cls: ``StoredResponse`` or a subclass.
        method: See :class:`StoredResponse` for this and the next seven.
        url: The target URI.
        status: The status code.
        headers: The stored ``(name, value)`` pairs.
        body: The content.
        request_time: When the request was sent (a finite float).
        response_time: When the response was received (a finite float).
        vary_headers: The request fields ``Vary`` names.
        found: The scanned lines of ``headers`` (see :func:`scan_fields`) when the caller has
            them; scanned here otherwise.
        cc: The parsed ``Cache-Control`` of ``headers`` when the caller has it.
    """
    if found is None:
        found = (scan_fields(headers) or scan_fields_general(headers))[0]
    entry: Any = _Draft()
    entry.method = method
    entry.url = url
    entry.status = status
    entry.headers = headers
    entry.body = body
    entry.request_time = request_time
    entry.response_time = response_time
    entry.vary_headers = vary_headers
    entry._fields = None
    entry._cc = parse_cache_control(join_lines(found.get("cache-control"))) if cc is None else cc
    lines = found.get("date")
    entry._date = parse_http_date(lines[0], response_time) if lines else None
    lines = found.get("age")
    entry._age = parse_age(lines[0]) if lines else 0
    lines = found.get("expires")
    entry._has_expires = lines is not None
    if lines is None:
        entry._expires = None
    elif len(lines) > 1 and len({line.strip() for line in lines}) > 1:
        entry._expires = None  # §4.2.1: conflicting Expires lines make the response stale
    else:
        entry._expires = parse_http_date(lines[0], response_time)
    lines = found.get("last-modified")
    entry._last_modified = parse_http_date(lines[0], response_time) if lines else None
    lines = found.get("etag")
    etag = lines[0].strip() if lines else None
    entry._etag = etag or None
    lines = found.get("vary")
    vary = _vary_names(join_lines(lines)) if lines else ()
    entry._vary = vary
    if not vary:  # the common case: no Vary, no variant to hash
        entry._vary_selected = ()
        entry._variant = ""
    else:
        given = {name.lower(): value for name, value in vary_headers}
        selected = tuple(
            (name, normalize_field_value(name, given.get(name))) for name in vary if name != "*"
        )
        entry._vary_selected = selected
        if selected:
            text = "\n".join(
                f"{name}:{'' if v is None else '=' + v}" for name, v in sorted(selected)
            )
            entry._variant = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        else:
            entry._variant = ""
    if cls is StoredResponse:
        entry.__class__ = StoredResponse
        return entry  # type: ignore[no-any-return]
    # A subclass may have another layout: copy the slots over.
    made = object.__new__(cls)
    for name in StoredResponse.__slots__:
        object.__setattr__(made, name, getattr(entry, name))
    return made
