"""Tolerant parsers for the header values the policy reads.

Every parser here returns ``None`` (or an empty result) for a value it cannot read and never
raises: a malformed header from a server is treated as absent, and logged once at DEBUG so it
can be found. Property-based tests feed them arbitrary text to hold them to that.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC
from email.utils import parsedate_to_datetime

_log = logging.getLogger("restwell.policy")

_DIGITS = re.compile(r"[0-9]+")
# RFC 9110 §5.6.2 token characters.
_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TCHARS})\s*(?:=\s*({_TCHARS}|{_QUOTED}))?\s*")
# Far enough ahead to be nonsense for any wait; keeps float maths finite.
_MAX_SECONDS = 10.0**9


def malformed(header: str, value: str) -> None:
    """Record a header value the policy could not read (it then counts as absent)."""
    _log.debug("ignoring malformed %s header: %.80r", header, value)


def parse_delta_seconds(value: str | None) -> int | None:
    """Parse RFC 9111 §1.2.2 delta-seconds: ASCII digits only; huge values are clamped."""
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        return None
    # §1.2.2: a value too large to represent is taken as 2**31. Leading zeros are dropped
    # before the digits are bounded, or "000000000000120" would read as 0.
    return min(int(text.lstrip("0")[:12] or "0"), 2**31)


def parse_http_date(value: str | None) -> float | None:
    """Parse an HTTP-date (RFC 9110 §5.6.7, all three legacy forms) into epoch seconds."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # HTTP-dates are always GMT; a zone-less parse (asctime form) means GMT too.
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_number(value: str | None) -> float | None:
    """Parse a non-negative finite decimal number (integer or fraction), else ``None``."""
    if value is None:
        return None
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,15}(?:\.[0-9]{1,9})?", text):
        return None
    return float(text)


def split_list(value: str) -> Iterator[str]:
    """Split an RFC 9110 §5.6.1 comma-separated list, respecting quoted strings."""
    start = 0
    quoted = False
    escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            item = value[start:i].strip()
            if item:
                yield item
            start = i + 1
    item = value[start:].strip()
    if item:
        yield item


def unquote(value: str) -> str:
    """Remove the quotes and backslash escapes of an RFC 9110 §5.6.4 quoted-string."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_params(value: str, sep: str = ";") -> dict[str, str | None]:
    """Parse ``name[=value]`` items separated by ``sep`` (names lower-cased, first one wins)."""
    out: dict[str, str | None] = {}
    for part in value.split(sep):
        if not part.strip():
            continue
        m = _PARAM.fullmatch(part)
        if m is None:
            continue
        name = m.group(1).lower()
        if name not in out:
            raw = m.group(2)
            out[name] = unquote(raw) if raw is not None else None
    return out


def seconds_until(epoch: float | None, now: float) -> float | None:
    """Seconds from ``now`` to ``epoch`` (never negative), or ``None`` if ``epoch`` is unknown."""
    if epoch is None:
        return None
    return min(max(0.0, epoch - now), _MAX_SECONDS)
