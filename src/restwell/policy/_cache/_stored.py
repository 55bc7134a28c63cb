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
from dataclasses import InitVar, dataclass, field
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
    "FieldIndex",
    "StoredResponse",
    "normalize_field_value",
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


@dataclass(frozen=True, slots=True)
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
    _fields: FieldIndex = field(init=False, repr=False, compare=False)
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
    # Internal: the FieldIndex of ``headers`` when the caller already built one (decide_store
    # has, for its own checks), so it is not built twice; the caller vouches that every field
    # is already of its checked form (``headers`` and ``vary_headers`` tuples of string pairs,
    # float times, ...), so nothing is checked again. Never part of equality, repr or
    # replace().
    _index: InitVar[FieldIndex | None] = None

    def __post_init__(self, _index: FieldIndex | None) -> None:
        set_ = object.__setattr__
        # Given an index, this is decide_store's own entry: it has checked every value and
        # built the index over these very headers; checking again is much of what building
        # one costs.
        fields = self._checked() if _index is None else _index
        response_time = self.response_time

        set_(self, "_fields", fields)
        set_(self, "_cc", parse_cache_control(fields.get("cache-control")))
        set_(self, "_date", parse_http_date(fields.first("date"), response_time))
        set_(self, "_age", parse_age(fields.first("age")))
        expires_lines = fields.lines("expires")
        set_(self, "_has_expires", bool(expires_lines))
        if not expires_lines:
            expires = None
        elif len({line.strip() for line in expires_lines}) > 1:
            expires = None  # §4.2.1: conflicting Expires lines make the response stale
        else:
            expires = parse_http_date(expires_lines[0], response_time)
        set_(self, "_expires", expires)
        set_(
            self,
            "_last_modified",
            parse_http_date(fields.first("last-modified"), response_time),
        )
        etag = fields.first("etag")
        set_(self, "_etag", etag.strip() if etag is not None and etag.strip() else None)
        vary = _vary_names(fields.get("vary"))
        set_(self, "_vary", vary)
        if not vary:  # the common case: no Vary, no variant to hash
            set_(self, "_vary_selected", ())
            set_(self, "_variant", "")
            return
        given = {name.lower(): value for name, value in self.vary_headers}
        selected = tuple(
            (name, normalize_field_value(name, given.get(name))) for name in vary if name != "*"
        )
        set_(self, "_vary_selected", selected)
        if selected:
            text = "\n".join(
                f"{name}:{'' if v is None else '=' + v}" for name, v in sorted(selected)
            )
            variant = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        else:
            variant = ""
        set_(self, "_variant", variant)

    def _checked(self) -> FieldIndex:
        """Check and normalise the fields given by a caller; the index of the headers."""
        set_ = object.__setattr__
        method, status = self.method, self.status
        if not isinstance(method, str) or not method:
            raise ValueError("method must be a non-empty string")
        if not isinstance(self.url, str):
            raise ValueError("url must be a string")
        if type(status) is not int and (isinstance(status, bool) or not isinstance(status, int)):
            raise ValueError("status must be an int")
        if not 100 <= status <= 999:
            raise ValueError(f"status {status} is not a three-digit code")
        if not isinstance(self.body, bytes):
            raise ValueError("body must be bytes")
        request_time, response_time = self.request_time, self.response_time
        for name, value in (("request_time", request_time), ("response_time", response_time)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite")
        set_(self, "request_time", float(request_time))
        set_(self, "response_time", float(response_time))
        headers = _pairs(self.headers, "headers", optional=False)
        set_(self, "headers", headers)
        selected_pairs = self.vary_headers
        if selected_pairs or type(selected_pairs) is not tuple:
            selected_pairs = _pairs(selected_pairs, "vary_headers", optional=True)
        set_(self, "vary_headers", selected_pairs)
        return FieldIndex(headers)

    # ------------------------------------------------------------------ derived, read-only

    def header(self, name: str) -> str | None:
        """Value of response field ``name`` (case-insensitive), lines joined, or ``None``."""
        return self._fields.get(name.lower())

    def header_lines(self, name: str) -> tuple[str, ...]:
        """Every line of response field ``name`` (case-insensitive), in order."""
        return self._fields.lines(name.lower())

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
            return cls(
                method=method,
                url=url,
                status=status,
                headers=tuple(headers),
                body=body,
                request_time=request_time,
                response_time=response_time,
                vary_headers=tuple(vary_headers),
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
            return cls(
                method=texts[0],
                url=texts[1],
                status=status,
                headers=headers,
                body=data[start + n_block :],
                request_time=request_time,
                response_time=response_time,
                vary_headers=tuple(vary_headers),
            )
        except (struct.error, UnicodeDecodeError, ValueError, OverflowError, MemoryError) as exc:
            raise ValueError(f"corrupt stored response: {exc}") from None
