"""GitHub's rate limits, sans I/O: reading them, telling them apart, and one shared limiter.

The rules, as GitHub documents them ("Rate limits for the REST API", "Best practices"):

- **Primary limit.** Every response carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Used``,
  ``-Reset`` (epoch seconds) and ``-Resource``. A 403 or 429 with ``X-RateLimit-Remaining: 0``
  means the quota is spent: do not retry before ``X-RateLimit-Reset``. The client waits until
  then plus a small skew margin (``skew``, 1 s: the reset is whole seconds, measured against
  the response's ``Date``), or raises.
- **Secondary limits** (too many concurrent requests, too many points per minute, ...). A 403
  or 429 with ``Retry-After`` means: wait that long. Without it (and with requests left in the
  quota), wait at least a minute, and back off exponentially while it persists. Detection reads
  headers first: ``Retry-After``, or a 429 with requests left. A 403 with requests left and no
  ``Retry-After`` is "forbidden" unless its message says "secondary rate limit" (GitHub's
  documented wording; older responses said "abuse"): the message is only the fallback.
- **Quotas are per resource** (``core``, ``search``, ``code_search``, ``graphql``, ...); a
  secondary limit holds every request.
- ``304 Not Modified`` does not count against the primary limit.

:class:`RateLimiter` is the one place that decides *when* a request may be sent. It is shared
by every request of a client (every task of an async client, every thread of a sync one) and is
consulted right before a request goes on the wire, after the cache, so cached answers are never
held. It knows each resource's quota from the latest responses and reserves a slot per request
in flight, so when 3 requests are left and 10 tasks want one, 3 are sent and 7 wait: none is
sent to be refused. When it must wait, exactly one caller sleeps; the others wait for it. A
quota it has not seen yet is probed with one request before the rest are let through.

:class:`GitHubRetryPolicy` is restwell's :class:`~restwell.policy.RetryPolicy` taught GitHub's
refusals: it retries a rate-limited 403/429 at once, because the limiter holds the retry until
the limit has passed (or raises), so the wait happens once, in one place.

Everything here is pure: times are arguments, the drivers in ``_client`` do the waiting.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Final, Literal

from restwell.github._errors import RateLimitExceeded
from restwell.github._models import RateLimit, RateLimitKind, RateLimitWait
from restwell.policy import (
    Action,
    HeaderLookup,
    RetryDecision,
    RetryPolicy,
    read_rate_limit,
    read_retry_after,
)
from restwell.policy.backoff import Random

__all__ = [
    "Admission",
    "GitHubRetryPolicy",
    "RateLimiter",
    "Refusal",
    "classify_refusal",
    "read_quota",
    "resource_for",
]

SECONDARY_MESSAGES: Final = ("secondary rate limit", "abuse detection", "abuse rate limit")
"""Lower-case fragments of the messages GitHub sends with a secondary-limit refusal."""
PRIMARY_MESSAGE: Final = "rate limit exceeded"
"""Lower-case fragment of the primary-limit message (``"API rate limit exceeded for ..."``)."""
ALL_RESOURCES: Final = "*"

DetectedBy = Literal["headers", "message"]


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_quota(headers: HeaderLookup, now: float) -> tuple[RateLimit, float | None] | None:
    """The quota a response announced, and the seconds until its window resets.

    Args:
        headers: Response headers.
        now: Wall-clock epoch seconds (the response's ``Date`` wins when present).

    Returns:
        ``(quota, reset_after)``, or ``None`` when the response carries no ``X-RateLimit-*``.
    """
    info = read_rate_limit(headers, now)
    if info is None or info.remaining is None:
        return None
    resource = (headers.get("x-ratelimit-resource") or "").strip() or "core"
    quota = RateLimit(
        resource=resource,
        limit=info.limit,
        remaining=info.remaining,
        used=_int(headers.get("x-ratelimit-used")),
        reset=_int(headers.get("x-ratelimit-reset")),
    )
    return quota, info.reset_after


def resource_for(path: str) -> str | None:
    """The quota a request path draws on (``None``: ``/rate_limit``, which draws on none).

    Args:
        path: The URL path relative to the API root (e.g. ``/search/code``).
    """
    path = "/" + path.lstrip("/")
    if path == "/rate_limit" or path.startswith("/rate_limit?"):
        return None
    if path.startswith("/search/code"):
        return "code_search"
    if path.startswith("/search/"):
        return "search"
    if path.startswith("/graphql"):
        return "graphql"
    return "core"


def body_message(body: bytes) -> str:
    """GitHub's ``message`` from an error body (``""`` if there is none)."""
    if not body:
        return ""
    try:
        data = json.loads(body[:65536])
    except (ValueError, UnicodeDecodeError):
        return body[:1024].decode("utf-8", errors="replace")
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return ""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A 403/429 that is a rate limit, and what it asks for.

    Attributes:
        kind: ``"primary"`` or ``"secondary"``.
        detected_by: ``"headers"``, or ``"message"`` when only the body's text told.
        retry_after: ``Retry-After`` in seconds, if sent.
        reset_after: Seconds until the quota's window resets, if the quota is spent.
        quota: The quota the response announced, if any.
    """

    kind: RateLimitKind
    detected_by: DetectedBy
    retry_after: float | None
    reset_after: float | None
    quota: RateLimit | None

    @property
    def resource(self) -> str:
        """The resource held: the quota's for a primary limit, every one for a secondary."""
        if self.kind == "primary" and self.quota is not None:
            return self.quota.resource
        return ALL_RESOURCES


def classify_refusal(status: int, headers: HeaderLookup, body: bytes, now: float) -> Refusal | None:
    """Whether a response is a rate-limit refusal, which kind, and how it was told.

    Headers first: ``Retry-After`` on a 403/429, then ``X-RateLimit-Remaining: 0`` (primary),
    then any 429 (secondary). Only a 403 with none of those is read for GitHub's message.

    Args:
        status: Response status.
        headers: Response headers.
        body: Response body (``b""`` when only headers are known).
        now: Wall-clock epoch seconds.

    Returns:
        The refusal, or ``None`` for a response that is not one (a 403 then means forbidden).
    """
    if status not in (403, 429):
        return None
    read = read_quota(headers, now)
    quota, reset_after = read if read is not None else (None, None)
    spent = quota is not None and quota.remaining == 0
    retry_after = read_retry_after(headers, now)
    if retry_after is not None:
        kind: RateLimitKind = "primary" if spent else "secondary"
        return Refusal(kind, "headers", retry_after, reset_after if spent else None, quota)
    if spent:
        return Refusal("primary", "headers", None, reset_after, quota)
    if status == 429:
        return Refusal("secondary", "headers", None, None, quota)
    message = body_message(body).lower()
    if any(fragment in message for fragment in SECONDARY_MESSAGES):
        return Refusal("secondary", "message", None, None, quota)
    if PRIMARY_MESSAGE in message:
        return Refusal("primary", "message", None, None, quota)
    return None


@dataclass(frozen=True, slots=True)
class GitHubRetryPolicy(RetryPolicy):
    """restwell's retry policy, taught GitHub's rate-limit refusals.

    A rate-limited 403/429 (see :func:`classify_refusal`; headers only, as the retry layer sees
    no body) is retried with no delay of its own: the client's :class:`RateLimiter` has already
    learned the limit from that response and holds the retry until it passes, or raises if the
    wait is not allowed. Every other status is decided as :class:`RetryPolicy` decides it.

    Attributes:
        wait_on_rate_limit: ``False`` (``on_rate_limit="raise"``): a rate-limited response is
            final, and the client raises :class:`~restwell.github.RateLimitExceeded`.
        max_wait: Longest ``Retry-After`` accepted on other statuses (503), in seconds.
    """

    wait_on_rate_limit: bool = True
    max_wait: float = 900.0

    def decide_status(
        self,
        *,
        attempt: int,
        method: str,
        has_idempotency_key: bool,
        status: int,
        headers: HeaderLookup,
        now: float,
        elapsed: float,
        random: Random,
        previous_delay: float = 0.0,
    ) -> RetryDecision:
        """Decide what follows a response (arguments as in :meth:`RetryPolicy.decide_status`)."""
        if status in (403, 429):
            refusal = classify_refusal(status, headers, b"", now)
            if refusal is None:
                return RetryDecision(Action.RETURN, 0.0, f"{status} Forbidden is final")
            what = f"{status} {refusal.kind} rate limit"
            if not self.wait_on_rate_limit:
                return RetryDecision(Action.RETURN, 0.0, f"{what}; on_rate_limit='raise'")
            if not self.may_repeat(method, has_idempotency_key):
                return RetryDecision(
                    Action.RETURN,
                    0.0,
                    f"{what}, but {method} without {self.idempotency_header} is not retried",
                )
            if attempt >= self.max_attempts:
                return RetryDecision(
                    Action.RETURN,
                    0.0,
                    f"{what}; attempts exhausted ({attempt} of {self.max_attempts})",
                )
            return RetryDecision(
                Action.RETRY,
                0.0,
                f"{what}; the rate limiter holds attempt {attempt + 1} of {self.max_attempts} "
                "until the limit passes",
                server_wait=True,
            )
        return RetryPolicy.decide_status(
            self,
            attempt=attempt,
            method=method,
            has_idempotency_key=has_idempotency_key,
            status=status,
            headers=headers,
            now=now,
            elapsed=elapsed,
            random=random,
            previous_delay=previous_delay,
        )


class Step(enum.Enum):
    """What a caller of :meth:`RateLimiter.admit` does next."""

    GO = "go"
    """Send now (a slot is reserved: call :meth:`RateLimiter.release` with the outcome)."""
    WAIT = "wait"
    """Another caller is sleeping, or requests in flight will tell more: wait for a
    :meth:`RateLimiter.release` or :meth:`RateLimiter.woke`, then ask again."""
    SLEEP = "sleep"
    """Sleep ``event.seconds``, then call :meth:`RateLimiter.woke` and ask again."""
    REFUSE = "refuse"
    """Raise ``error``: the caller may not wait that long (or not at all)."""


@dataclass(frozen=True, slots=True)
class Admission:
    """The limiter's answer to "may this request be sent now?".

    Attributes:
        step: What to do.
        event: The wait (``SLEEP``) or the refused wait (``REFUSE``).
        error: The error to raise (``REFUSE``).
    """

    step: Step
    event: RateLimitWait | None = None
    error: RateLimitExceeded | None = None


_GO: Final = Admission(Step.GO)
_WAIT: Final = Admission(Step.WAIT)


@dataclass(slots=True)
class _Quota:
    """What the limiter knows of one resource's quota."""

    seen: bool = False  # a response for this resource arrived (else: probe with one request)
    limit: int | None = None
    remaining: int | None = None  # None: the responses announce no quota (no limit known)
    reset: int | None = None  # the window's end as announced (epoch), identifies the window
    reset_at: float | None = None  # the same on the monotonic clock; None once it passed
    used: int | None = None
    in_flight: int = 0


class RateLimiter:
    """The shared state of one client's rate limits: quotas, reservations, secondary holds.

    Not thread-safe by itself: the sync client calls it under a lock, the async client from
    its event loop. Times are passed in: ``mono`` (monotonic seconds) for waiting, ``wall``
    (epoch seconds) for reading headers and reporting.

    Args:
        wait: ``True`` to wait for limits (``on_rate_limit="wait"``), ``False`` to raise.
        max_wait: Longest wait allowed, in seconds; a longer one raises.
        skew: Seconds added to a primary limit's reset.
        secondary_wait: First wait for a secondary limit without ``Retry-After``.
        secondary_factor: Growth of that wait while secondary refusals persist.
    """

    def __init__(
        self,
        *,
        wait: bool = True,
        max_wait: float = 900.0,
        skew: float = 1.0,
        secondary_wait: float = 60.0,
        secondary_factor: float = 2.0,
    ) -> None:
        if max_wait < 0 or skew < 0 or secondary_wait < 0 or secondary_factor < 1:
            raise ValueError(
                "max_wait, skew and secondary_wait must not be negative; secondary_factor >= 1"
            )
        self.wait = wait
        self.max_wait = max_wait
        self.skew = skew
        self.secondary_wait = secondary_wait
        self.secondary_factor = secondary_factor
        self._quotas: dict[str, _Quota] = {}
        self._held_until = 0.0  # secondary limit: every request held until then (monotonic)
        self._held_kind: RateLimitKind = "secondary"
        self._held_reason = ""
        self._strikes = 0  # secondary refusals without Retry-After since the last success
        self._sleeping = False
        self._sleep_until = 0.0  # where the current sleeper's wait ends (monotonic)
        self._served = 0.0  # waits slept in full count as time passed, up to here

    # -- reading the state ---------------------------------------------------------------

    def quota(self, resource: str = "core") -> RateLimit | None:
        """The last known quota of ``resource`` (``None`` before any response announced one)."""
        q = self._quotas.get(resource)
        if q is None or q.remaining is None:
            return None
        return RateLimit(resource, q.limit, q.remaining, q.used, q.reset)

    @property
    def strikes(self) -> int:
        """Secondary-limit refusals without ``Retry-After`` since the last success."""
        return self._strikes

    def held_for(self, mono: float) -> float:
        """Seconds every request is still held by a secondary limit (0.0 when none)."""
        return max(0.0, self._held_until - mono)

    def next_secondary_wait(self) -> float:
        """The wait the next secondary refusal without ``Retry-After`` would impose."""
        return self.secondary_wait * self.secondary_factor**self._strikes

    # -- admission -----------------------------------------------------------------------

    def admit(self, resource: str | None, mono: float, wall: float) -> Admission:
        """May a request drawing on ``resource`` be sent now?

        Args:
            resource: The quota the request draws on (``None``: none, e.g. ``/rate_limit``).
            mono: Monotonic seconds now.
            wall: Wall-clock epoch seconds now.
        """
        if self._sleeping:
            return _WAIT
        # A wait slept in full has passed, even on a clock that has not (testing mode, a
        # coarse clock, a sleep that woke a hair early): nobody waits for it twice.
        mono = max(mono, self._served)
        if self._held_until > mono:
            seconds = self._held_until - mono
            return self._hold(self._held_kind, ALL_RESOURCES, seconds, mono, wall, None)
        if resource is None:
            return _GO
        q = self._quotas.get(resource)
        if q is None:
            q = self._quotas[resource] = _Quota()
        if not q.seen:
            # Unknown quota: one request finds it out before the others are let through.
            if q.in_flight:
                return _WAIT
            q.in_flight += 1
            return _GO
        if q.reset_at is not None and q.reset_at <= mono:
            # The window ended: a new one starts full (its reset arrives with the next answer).
            q.remaining, q.reset_at, q.used = q.limit, None, 0
        if q.remaining is not None and q.remaining - q.in_flight <= 0:
            if q.in_flight:
                return _WAIT  # what is in flight spends the rest; its answers will tell more
            if q.reset_at is not None:
                seconds = q.reset_at - mono + self.skew
                return self._hold("primary", resource, seconds, mono, wall, q.limit)
            # Spent, with no known reset: probe as for an unknown quota.
            q.seen = False
        q.in_flight += 1
        return _GO

    def _hold(
        self,
        kind: RateLimitKind,
        resource: str,
        seconds: float,
        mono: float,
        wall: float,
        limit: int | None,
    ) -> Admission:
        if resource != ALL_RESOURCES:
            reason = f"quota of '{resource}' spent"
        else:
            reason = self._held_reason or f"{kind} rate limit"
        event = RateLimitWait(kind, resource, seconds, wall + seconds, reason)
        why = None
        if not self.wait:
            why = "on_rate_limit='raise'"
        elif seconds > self.max_wait:
            why = f"that is over max_rate_limit_wait={self.max_wait:g}s"
        if why is not None:
            error = RateLimitExceeded(
                f"{reason}; {why}",
                kind=kind,
                resource=resource,
                retry_after=seconds,
                reset_at=wall + seconds,
                limit=limit,
            )
            return Admission(Step.REFUSE, event, error)
        self._sleeping = True
        self._sleep_until = mono + seconds
        return Admission(Step.SLEEP, event)

    def woke(self, slept: bool = True) -> None:
        """The caller told to ``SLEEP`` has slept in full (or, ``slept=False``, was interrupted)."""
        self._sleeping = False
        if slept:
            self._served = max(self._served, self._sleep_until)

    # -- learning from responses ---------------------------------------------------------

    def release(
        self,
        resource: str | None,
        status: int | None,
        headers: HeaderLookup | None,
        body: bytes,
        mono: float,
        wall: float,
    ) -> Refusal | None:
        """Give back the slot :meth:`admit` reserved, and learn from the response.

        Args:
            resource: What :meth:`admit` was asked for.
            status: The response status (``None`` when the request failed without one).
            headers: The response headers (``None`` likewise).
            body: The response body, for the message fallback (``b""`` if unknown).
            mono: Monotonic seconds now.
            wall: Wall-clock epoch seconds now.

        Returns:
            The rate-limit refusal the response was, if it was one.
        """
        if resource is not None:
            q = self._quotas.get(resource)
            if q is not None and q.in_flight:
                q.in_flight -= 1
        if status is None or headers is None:
            return None
        return self.observe(resource, status, headers, body, mono, wall)

    def observe(
        self,
        resource: str | None,
        status: int,
        headers: HeaderLookup,
        body: bytes,
        mono: float,
        wall: float,
    ) -> Refusal | None:
        """Learn from a response (arguments as in :meth:`release`, no slot given back)."""
        read = read_quota(headers, wall)
        if read is not None:
            quota, reset_after = read
            self._learn(quota, reset_after, mono)
        elif resource is not None and status < 500:
            # An answer without X-RateLimit-* (GitHub Enterprise with rate limits off): no
            # quota to keep. A 5xx from a proxy says nothing either way.
            self._quotas.setdefault(resource, _Quota()).seen = True
        refusal = classify_refusal(status, headers, body, wall)
        if refusal is None:
            if status < 400:
                self._strikes = 0
            return None
        if refusal.retry_after is not None:
            why = f"{status} with Retry-After: {refusal.retry_after:g}"
            self._hold_all(refusal.kind, refusal.retry_after, mono, why)
            if refusal.kind == "secondary":
                self._strikes += 1
        elif refusal.kind == "secondary" or refusal.reset_after is None:
            seconds = self.next_secondary_wait()
            self._strikes += 1
            if refusal.detected_by == "headers":
                told = "with requests left"
            elif refusal.kind == "secondary":
                told = "with GitHub's secondary-limit message"
            else:
                told = "saying the rate limit was exceeded, without quota headers"
            why = f"{status} {told}, no Retry-After: backoff #{self._strikes}"
            self._hold_all(refusal.kind, seconds, mono, why)
        return refusal

    def learn(self, quota: RateLimit, reset_after: float | None, mono: float) -> None:
        """Learn a quota announced elsewhere (e.g. in ``GET /rate_limit``'s body)."""
        self._learn(quota, reset_after, mono)

    def _learn(self, quota: RateLimit, reset_after: float | None, mono: float) -> None:
        q = self._quotas.get(quota.resource)
        if q is None:
            q = self._quotas[quota.resource] = _Quota()
        q.seen = True
        if q.reset is not None and quota.reset is not None and quota.reset < q.reset:
            return  # an answer from a window that has ended
        same_window = quota.reset is not None and quota.reset == q.reset
        if same_window and q.remaining is not None:
            # Answers may arrive out of order: within a window the lowest count is the latest.
            q.remaining = min(q.remaining, quota.remaining)
        else:
            q.remaining = quota.remaining
        if quota.limit is not None:
            q.limit = quota.limit
        q.used = None if q.limit is None else q.limit - q.remaining
        q.reset = quota.reset
        q.reset_at = None if reset_after is None else mono + reset_after

    def _hold_all(self, kind: RateLimitKind, seconds: float, mono: float, reason: str) -> None:
        until = mono + seconds
        if until > self._held_until:
            self._held_until = until
            self._held_kind = kind
            self._held_reason = reason
