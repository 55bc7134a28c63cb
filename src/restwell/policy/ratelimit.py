"""Reading rate-limit signals from response headers, and a gate that paces requests by them.

Three families of headers are understood, in this order of authority:

1. ``Retry-After`` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.
2. The IETF ``RateLimit`` / ``RateLimit-Policy`` fields (draft-ietf-httpapi-ratelimit-headers),
   both the structured form (``"default";r=0;t=30``) and the older dictionary form
   (``limit=100, remaining=0, reset=30``), and the older separate ``RateLimit-Limit`` /
   ``-Remaining`` / ``-Reset`` fields (reset in delta-seconds).
3. ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` as GitHub and many others send them, with
   the reset in epoch seconds. A reset below 10**9 cannot be a recent epoch and is read as
   delta-seconds, which is what a few APIs send under the same name.

Absolute times are measured against the response's own ``Date`` when it has a valid one, so a
client whose clock is off does not wait too long or too little.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from restwell.policy._parse import (
    malformed,
    parse_delta_seconds,
    parse_http_date,
    parse_number,
    parse_params,
    seconds_until,
    split_list,
)

__all__ = [
    "HeaderLookup",
    "RateLimitGate",
    "RateLimitInfo",
    "announces_quota",
    "rate_limit_wait",
    "read_rate_limit",
    "read_retry_after",
]

_EPOCH_THRESHOLD = 1e9


class HeaderLookup(Protocol):
    """What the policy needs of a header collection: case-insensitive ``get``.

    The policy always asks with lower-case names, so a plain ``dict`` with lower-case keys
    satisfies it in tests.
    """

    def get(self, key: str, /) -> str | None:
        """Return the (comma-joined) value of header ``key``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The quota a response announced.

    Attributes:
        limit: Requests allowed per window, if announced.
        remaining: Requests left in the current window, if announced.
        reset_after: Seconds until the window resets, if announced.
        source: Which header family the values came from.
    """

    limit: int | None
    remaining: int | None
    reset_after: float | None
    source: str

    @property
    def exhausted(self) -> bool:
        """True when the server said no requests are left in this window."""
        return self.remaining == 0


def _server_now(headers: HeaderLookup, now: float) -> float:
    date = parse_http_date(headers.get("date"))
    return date if date is not None else now


def read_retry_after(headers: HeaderLookup, now: float) -> float | None:
    """Seconds the server asked us to wait with ``Retry-After`` (RFC 9110 §10.2.3), or ``None``.

    Args:
        headers: Response headers.
        now: Current wall-clock time in epoch seconds (used when there is no ``Date``).
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    delta = parse_delta_seconds(value)
    if delta is not None:
        return float(delta)
    when = parse_http_date(value)
    if when is None:
        malformed("Retry-After", value)
        return None
    return seconds_until(when, _server_now(headers, now))


def _int(value: str | None) -> int | None:
    number = parse_delta_seconds(value)
    return None if number is None else int(number)


def _ietf_structured(value: str, policy: str | None) -> RateLimitInfo | None:
    # Structured list: each member is `"name";r=<remaining>;t=<reset>`; the tightest one binds.
    best: RateLimitInfo | None = None
    quotas: dict[str, int | None] = {}
    if policy:
        for member in split_list(policy):
            name, _, rest = member.partition(";")
            quotas[name.strip()] = _int(parse_params(rest).get("q"))
    for member in split_list(value):
        name, _, rest = member.partition(";")
        params = parse_params(rest)
        remaining = _int(params.get("r"))
        if remaining is None:
            continue
        reset = parse_number(params.get("t"))
        info = RateLimitInfo(quotas.get(name.strip()), remaining, reset, "RateLimit")
        if best is None or remaining < (best.remaining or 0):
            best = info
    return best


def _ietf(headers: HeaderLookup) -> RateLimitInfo | None:
    value = headers.get("ratelimit")
    if value is not None:
        if "remaining=" in value.lower():
            params = parse_params(value, sep=",")
            remaining = _int(params.get("remaining"))
            if remaining is not None:
                return RateLimitInfo(
                    _int(params.get("limit")),
                    remaining,
                    parse_number(params.get("reset")),
                    "RateLimit",
                )
        else:
            info = _ietf_structured(value, headers.get("ratelimit-policy"))
            if info is not None:
                return info
        malformed("RateLimit", value)
    remaining_text = headers.get("ratelimit-remaining")
    if remaining_text is None:
        return None
    remaining = _int(remaining_text)
    if remaining is None:
        malformed("RateLimit-Remaining", remaining_text)
        return None
    return RateLimitInfo(
        _int(headers.get("ratelimit-limit")),
        remaining,
        parse_number(headers.get("ratelimit-reset")),
        "RateLimit-*",
    )


def _x_ratelimit(headers: HeaderLookup, now: float) -> RateLimitInfo | None:
    remaining_text = headers.get("x-ratelimit-remaining")
    if remaining_text is None:
        return None
    remaining = _int(remaining_text)
    if remaining is None:
        malformed("X-RateLimit-Remaining", remaining_text)
        return None
    reset_text = headers.get("x-ratelimit-reset")
    reset = parse_number(reset_text)
    reset_after: float | None
    if reset is None:
        if reset_text is not None:
            malformed("X-RateLimit-Reset", reset_text)
        reset_after = None
    elif reset >= _EPOCH_THRESHOLD:
        reset_after = seconds_until(reset, _server_now(headers, now))
    else:
        reset_after = reset
    return RateLimitInfo(
        _int(headers.get("x-ratelimit-limit")), remaining, reset_after, "X-RateLimit-*"
    )


def read_rate_limit(headers: HeaderLookup, now: float) -> RateLimitInfo | None:
    """Read the quota a response announced, IETF fields first, then ``X-RateLimit-*``.

    Args:
        headers: Response headers.
        now: Current wall-clock time in epoch seconds.

    Returns:
        The announced quota, or ``None`` when the response announced none (or only garbage).
    """
    return _ietf(headers) or _x_ratelimit(headers, now)


def rate_limit_wait(headers: HeaderLookup, now: float) -> float | None:
    """Seconds to wait before another request is worth sending, or ``None`` for "no signal".

    ``Retry-After`` wins when present; otherwise an exhausted quota waits until its reset.

    Args:
        headers: Response headers.
        now: Current wall-clock time in epoch seconds.
    """
    retry_after = read_retry_after(headers, now)
    if retry_after is not None:
        return retry_after
    info = read_rate_limit(headers, now)
    if info is not None and info.exhausted and info.reset_after is not None:
        return info.reset_after
    return None


def is_rate_limited(status: int, headers: HeaderLookup) -> bool:
    """Whether a 403/429 is a rate-limit refusal rather than a plain prohibition.

    429 always is (RFC 6585 §4). A 403 is only when the server says the quota is spent
    (``X-RateLimit-Remaining: 0`` as GitHub sends, or the IETF fields) or asks for a
    ``Retry-After``: otherwise it means "forbidden" and waiting will not help.
    """
    if status == 429:
        return True
    if status != 403:
        return False
    if headers.get("retry-after") is not None:
        return True
    info = read_rate_limit(headers, 0.0)
    return info is not None and info.exhausted


_QUOTA_FIELDS = ("x-ratelimit-remaining", "ratelimit", "ratelimit-remaining")


def announces_quota(headers: HeaderLookup) -> bool:
    """Whether a response carries any quota field at all (a cheap pre-check)."""
    # restwell's Headers answer this with one cheap membership test per name.
    has_any = getattr(headers, "has_any", None)
    if has_any is not None:
        return bool(has_any(_QUOTA_FIELDS))
    return any(headers.get(name) is not None for name in _QUOTA_FIELDS)


class RateLimitGate:
    """Remembers, per key (usually an origin), until when the quota is known to be spent.

    Concurrent callers consult it before sending, so ten tasks sharing a client wait once for
    the reset instead of each spending a request to discover the limit. Thread-safe; the clock
    is passed in.
    """

    __slots__ = ("_lock", "_until")

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def observe(
        self, key: str, status: int, headers: HeaderLookup, now: float, monotonic: float
    ) -> None:
        """Learn from a response: an exhausted quota or a refusal blocks ``key`` for a while.

        ``Retry-After`` counts only on refusals (429, 503, a rate-limited 403): on other
        statuses it means something else (RFC 9110 §10.2.3). An exhausted quota counts on any
        response, since the next request would be refused.

        Args:
            key: What the quota applies to (origin).
            status: Response status code.
            headers: Response headers.
            now: Wall-clock epoch seconds, to read absolute resets.
            monotonic: Monotonic seconds, the time base the gate keeps.
        """
        wait: float | None = None
        if status in (429, 503, 403):
            wait = read_retry_after(headers, now)
        elif not announces_quota(headers):
            return  # the usual success: no quota announced at all
        if wait is None:
            info = read_rate_limit(headers, now)
            if info is None or not info.exhausted or info.reset_after is None:
                return
            wait = info.reset_after
        self.block(key, wait, monotonic)

    def block(self, key: str, seconds: float, monotonic: float) -> None:
        """Block ``key`` for ``seconds`` from ``monotonic`` (e.g. a secondary limit's backoff)."""
        with self._lock:
            until = monotonic + seconds
            if until > self._until.get(key, 0.0):
                self._until[key] = until

    def delay(self, key: str, monotonic: float) -> float:
        """Seconds a request to ``key`` should wait before it is sent (0.0 when free)."""
        until = self._until.get(key)
        if until is None:
            return 0.0
        if until <= monotonic:
            with self._lock:
                if self._until.get(key, 0.0) <= monotonic:
                    self._until.pop(key, None)
            return 0.0
        return until - monotonic
