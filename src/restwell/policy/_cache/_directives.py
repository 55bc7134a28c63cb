"""The header values RFC 9111 reads: ``Cache-Control``, HTTP-dates, ``Age`` and entity-tags.

Every parser here is tolerant in the way :mod:`restwell.policy._parse` is: a value it cannot read
is treated as absent (or, where RFC 9111 asks for it, as "already stale"), logged once at DEBUG
through :func:`restwell.policy._parse.malformed`, and never raises.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from restwell.policy._parse import malformed, parse_delta_seconds, split_list, unquote

__all__ = [
    "MAX_DELTA",
    "CacheControl",
    "etag_for_request",
    "format_http_date",
    "parse_age",
    "parse_cache_control",
    "parse_etag",
    "parse_http_date",
    "split_members",
    "strong_match",
    "weak_match",
]

MAX_DELTA = 2**31
"""RFC 9111 §1.2.2: the value a too-large delta-seconds (or any overflowing result) is taken as."""


def split_members(value: str) -> list[str]:
    """The members of a comma-separated list (RFC 9110 §5.6.1), stripped, empty ones dropped.

    Commas inside quoted strings do not split; values without quotes take a fast path.
    """
    if '"' not in value:
        return [m for m in (part.strip() for part in value.split(",")) if m]
    return list(split_list(value))


_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
# RFC 9111 §5.2: cache-directive = token [ "=" ( token / quoted-string ) ]. No whitespace is
# allowed around "=", so "max-age =100" and "max-age= 100" are malformed and ignored.
_DIRECTIVE = re.compile(rf'({_TCHAR}+)(?:=({_TCHAR}+|"(?:[^"\\]|\\.)*"))?')


@dataclass(frozen=True, slots=True)
class CacheControl:
    """The directives of a ``Cache-Control`` field (RFC 9111 §5.2), request or response.

    Directive names are case-insensitive and both the token and quoted-string forms of an
    argument are accepted (§5.2). When a directive appears more than once the first occurrence
    counts (§4.2.1), with two exceptions: ``max-age`` or ``s-maxage`` given twice with different
    values is conflicting freshness information and reads as 0 (stale, §4.2.1); and for
    ``no-cache`` and ``private`` an unqualified occurrence anywhere wins over qualified ones (the
    most restrictive reading), while qualified field lists add up.

    Attributes:
        max_age: ``max-age`` seconds. Present with an invalid or conflicting argument it is 0:
            a response with invalid freshness information is stale (§4.2.1).
        s_maxage: ``s-maxage`` seconds (shared caches only), 0 when invalid.
        max_stale: Request ``max-stale``: the staleness the client accepts, ``math.inf`` when it
            has no argument (any staleness), ``None`` when absent or invalid.
        min_fresh: Request ``min-fresh`` seconds.
        no_cache: Unqualified ``no-cache``: never use without successful validation.
        no_cache_fields: Lower-case field names of a qualified ``no-cache="..."`` (§5.2.2.4).
        no_store: ``no-store``.
        no_transform: ``no-transform``.
        only_if_cached: Request ``only-if-cached``.
        must_revalidate: ``must-revalidate``.
        proxy_revalidate: ``proxy-revalidate`` (shared caches only).
        must_understand: ``must-understand``.
        public: ``public``.
        private: Unqualified ``private``.
        private_fields: Lower-case field names of a qualified ``private="..."`` (§5.2.2.7).
        immutable: ``immutable`` (RFC 8246).
        stale_while_revalidate: RFC 5861 ``stale-while-revalidate`` seconds.
        stale_if_error: RFC 5861 ``stale-if-error`` seconds.
    """

    max_age: int | None = None
    s_maxage: int | None = None
    max_stale: float | None = None
    min_fresh: int | None = None
    no_cache: bool = False
    no_cache_fields: frozenset[str] = frozenset()
    no_store: bool = False
    no_transform: bool = False
    only_if_cached: bool = False
    must_revalidate: bool = False
    proxy_revalidate: bool = False
    must_understand: bool = False
    public: bool = False
    private: bool = False
    private_fields: frozenset[str] = frozenset()
    immutable: bool = False
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None


_EMPTY = CacheControl()

_FLAGS = {
    "no-store": "no_store",
    "no-transform": "no_transform",
    "only-if-cached": "only_if_cached",
    "must-revalidate": "must_revalidate",
    "proxy-revalidate": "proxy_revalidate",
    "must-understand": "must_understand",
    "public": "public",
    "immutable": "immutable",
}
# Freshness directives whose invalid argument means "stale" (§4.2.1).
_STALE_IF_INVALID = {"max-age": "max_age", "s-maxage": "s_maxage"}
# Directives whose invalid argument is ignored (the directive then counts as absent).
_IGNORE_IF_INVALID = {
    "min-fresh": "min_fresh",
    "stale-while-revalidate": "stale_while_revalidate",
    "stale-if-error": "stale_if_error",
}


def _field_names(arg: str) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in arg.split(",") if name.strip())


@functools.lru_cache(maxsize=1024)
def _parse_cache_control(value: str) -> CacheControl:
    return _parse(value)


def parse_cache_control(value: str | None) -> CacheControl:
    """Parse a ``Cache-Control`` field value (lines already joined with ``,``); never raises.

    Malformed members (``max-age =5``, stray quotes, an empty name) are ignored and logged at
    DEBUG (once per distinct value: results are memoised, the parse being a pure function).

    Args:
        value: The field value, or ``None`` when the field is absent.
    """
    if not value:
        return _EMPTY
    return _parse_cache_control(value)


def _parse(value: str) -> CacheControl:
    args: dict[str, str | None] = {}
    conflicting: set[str] = set()
    no_cache = private = False
    no_cache_fields: set[str] = set()
    private_fields: set[str] = set()
    for member in split_members(value):
        m = _DIRECTIVE.fullmatch(member)
        if m is None:
            malformed("Cache-Control", member)
            continue
        name = m.group(1).lower()
        raw = m.group(2)
        arg = unquote(raw) if raw is not None else None
        if name in ("no-cache", "private"):
            fields = _field_names(arg) if arg is not None else frozenset()
            unqualified = not fields  # an empty list reads as the unqualified directive
            if name == "no-cache":
                no_cache = no_cache or unqualified
                no_cache_fields |= fields
            else:
                private = private or unqualified
                private_fields |= fields
            continue
        if name not in args:
            args[name] = arg  # §4.2.1: the first occurrence is used ...
        elif name in _STALE_IF_INVALID and args[name] != arg:
            conflicting.add(name)  # ... but two different lifetimes make it stale
    out: dict[str, object] = {
        "no_cache": no_cache,
        "private": private,
        "no_cache_fields": frozenset(no_cache_fields),
        "private_fields": frozenset(private_fields),
    }
    for name, arg in args.items():
        if name in _FLAGS:
            out[_FLAGS[name]] = True  # an argument where none is defined does not cancel it
        elif name in _STALE_IF_INVALID:
            seconds = parse_delta_seconds(arg)
            if seconds is None or name in conflicting:
                malformed("Cache-Control", value if seconds is not None else f"{name}={arg}")
                seconds = 0
            out[_STALE_IF_INVALID[name]] = seconds
        elif name in _IGNORE_IF_INVALID:
            seconds = parse_delta_seconds(arg)
            if seconds is None:
                malformed("Cache-Control", f"{name}={arg}")
            else:
                out[_IGNORE_IF_INVALID[name]] = seconds
        elif name == "max-stale":
            if arg is None:
                out["max_stale"] = math.inf
            else:
                seconds = parse_delta_seconds(arg)
                if seconds is None:
                    malformed("Cache-Control", f"max-stale={arg}")
                else:
                    out["max_stale"] = float(seconds)
    return CacheControl(**out)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- HTTP-dates

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name.lower(): i + 1 for i, name in enumerate(_MONTHS)}
_MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# RFC 9110 §5.6.7. Names are matched without regard to case (servers send "GMT" as "gmt");
# everything else is exact: "UTC", two-digit years in the fixdate form, missing commas, extra
# spaces or one-digit hours make the value invalid.
_IMF_FIXDATE = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{{2}}) {_MON} ([0-9]{{4}}) {_TIME} GMT", re.I
)
_RFC850 = re.compile(
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"([0-9]{{2}})-{_MON}-([0-9]{{2}}) {_TIME} GMT",
    re.I,
)
_ASCTIME = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} ([0-9]{{2}}| [0-9]) {_TIME} ([0-9]{{4}})", re.I
)


def _epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float | None:
    if hour > 23 or minute > 59 or second > 60:
        return None
    try:
        # A leap second (:60) is read as :59.
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
    return moment.timestamp()


@functools.lru_cache(maxsize=256)
def _imf_fixdate(value: str) -> float | None:
    """``value`` as an IMF-fixdate in epoch seconds, ``None`` when it is not a valid one.

    Memoised: the form senders must use does not depend on the clock, and the same few values
    come back response after response (a ``Date`` changes once a second, a ``Last-Modified``
    hardly ever), so parsing each once spares every stored response two parses.
    """
    m = _IMF_FIXDATE.fullmatch(value.strip())
    if m is None:
        return None
    day, mon, year, hh, mm, ss = m.groups()
    return _epoch(int(year), _MONTH_NUMBER[mon.lower()], int(day), int(hh), int(mm), int(ss))


def parse_http_date(value: str | None, now: float | None = None) -> float | None:
    """Parse an HTTP-date (RFC 9110 §5.6.7, its three forms) strictly into epoch seconds.

    Unlike the lenient :func:`restwell.policy._parse.parse_http_date`, anything that is not one
    of the three forms is invalid: RFC 9111 §5.3 asks caches to treat an invalid ``Expires`` as
    a time in the past, so "almost a date" must not pass.

    Args:
        value: The field value.
        now: Epoch seconds used to place a two-digit RFC 850 year: one that would be more than
            50 years in the future is the most recent past year with those digits.
    """
    if not value:
        return None
    fixdate = _imf_fixdate(value)
    if fixdate is not None:
        return fixdate
    text = value.strip()
    m = _RFC850.fullmatch(text)
    if m is not None:
        day, mon, yy, hh, mm, ss = m.groups()
        # Without a clock reading, the POSIX pivot: 69 and below are 20xx.
        this_year = 2019
        if now is not None and math.isfinite(now):
            with contextlib.suppress(ValueError, OverflowError, OSError):
                this_year = datetime.fromtimestamp(now, UTC).year
        year = this_year - this_year % 100 + int(yy)
        if year > this_year + 50:
            year -= 100
        return _epoch(year, _MONTH_NUMBER[mon.lower()], int(day), int(hh), int(mm), int(ss))
    m = _ASCTIME.fullmatch(text)
    if m is not None:
        mon, day, hh, mm, ss, yyyy = m.groups()
        return _epoch(int(yyyy), _MONTH_NUMBER[mon.lower()], int(day), int(hh), int(mm), int(ss))
    return None


def format_http_date(epoch: float) -> str | None:
    """``epoch`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), or ``None`` if out of range.

    Day and month names are written from fixed tables, never through the locale.
    """
    try:
        moment = datetime.fromtimestamp(math.floor(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )


# ----------------------------------------------------------------------------- Age


def parse_age(value: str | None) -> int:
    """The ``Age`` value in seconds (RFC 9111 §5.1); 0 when absent or invalid.

    Of a list (``Age: 7200, 0``) the first member counts, as for any duplicated single-value
    field (§4.2.1). A negative, fractional or non-numeric age is ignored.
    """
    if not value:
        return 0
    for member in split_members(value):
        seconds = parse_delta_seconds(member)
        if seconds is None:
            malformed("Age", value)
            return 0
        return seconds
    return 0


# ----------------------------------------------------------------------------- entity-tags


def parse_etag(tag: str) -> tuple[bool, str]:
    """Split an entity-tag (RFC 9110 §8.8.3) into ``(weak, opaque)``; tolerant of bad syntax.

    ``W/`` (or ``w/``) marks a weak tag; the surrounding quotes are removed. A tag that is not
    quoted is kept whole, so two equally malformed tags still compare equal.
    """
    text = tag.strip()
    weak = text[:2] in ("W/", "w/")
    if weak:
        text = text[2:]
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return weak, text


def weak_match(a: str, b: str) -> bool:
    """RFC 9110 §8.8.3.2 weak comparison: the opaque tags are equal, weakness ignored."""
    return parse_etag(a)[1] == parse_etag(b)[1]


def strong_match(a: str, b: str) -> bool:
    """RFC 9110 §8.8.3.2 strong comparison: both tags strong and their opaque tags equal."""
    weak_a, opaque_a = parse_etag(a)
    weak_b, opaque_b = parse_etag(b)
    return not weak_a and not weak_b and opaque_a == opaque_b


def etag_for_request(tag: str) -> str:
    """``tag`` in the form a precondition carries it: quoted, ``W/`` kept for a weak tag.

    An unquoted tag (``abc``) is sent quoted (``"abc"``); one too malformed to quote is sent as
    received.
    """
    weak, opaque = parse_etag(tag)
    if not opaque or '"' in opaque or any(ch in opaque for ch in " \t,"):
        return tag.strip()
    return f'{"W/" if weak else ""}"{opaque}"'
