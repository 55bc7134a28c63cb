"""Retry decisions: whether to try a request again, after how long, and why.

The rules (each decision carries the one that applied as its ``reason``):

- A request is retried only if repeating it is safe: its method is idempotent (RFC 9110
  §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), or it carries an ``Idempotency-Key``, or
  the failure proves it never reached the server (connection refused, connect timeout, no
  pool slot), which is safe for any method.
- Retryable outcomes: statuses 408, 429, 500, 502, 503, 504 by default, a 403 that is really a
  rate limit (quota spent or ``Retry-After``), and transport failures (connect errors, read
  timeouts, dropped connections).
- The wait is the server's when it gave one (``Retry-After``, or an exhausted quota's reset),
  bounded by ``max_wait``: beyond it the policy raises (default) or caps the wait. Otherwise
  it is exponential backoff with jitter.
- ``max_attempts`` bounds the attempts; ``deadline`` bounds the total time: an attempt whose
  wait would end past the deadline is not started.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from restwell.policy.backoff import Backoff, Random
from restwell.policy.ratelimit import HeaderLookup, is_rate_limited, rate_limit_wait

__all__ = [
    "IDEMPOTENT_METHODS",
    "Action",
    "ErrorKind",
    "RetryDecision",
    "RetryPolicy",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class ErrorKind(enum.Enum):
    """What went wrong below HTTP, as far as retrying is concerned."""

    CONNECT = "connect"
    """The connection could not be made (refused, unreachable, DNS, TLS handshake)."""
    CONNECT_TIMEOUT = "connect_timeout"
    """The connection was not made in time."""
    POOL_TIMEOUT = "pool_timeout"
    """No pooled connection became free in time."""
    READ_TIMEOUT = "read_timeout"
    """The server did not answer (or finish answering) in time."""
    WRITE_TIMEOUT = "write_timeout"
    """The request could not be sent in time."""
    RESET = "reset"
    """The connection was closed or reset before a complete response arrived."""
    PROTOCOL = "protocol"
    """The server answered something that is not valid HTTP."""
    OTHER = "other"
    """Anything else (not retried by default)."""

    @property
    def unsent(self) -> bool:
        """True when the request certainly never reached the server."""
        return self in _UNSENT


_UNSENT = frozenset({ErrorKind.CONNECT, ErrorKind.CONNECT_TIMEOUT, ErrorKind.POOL_TIMEOUT})


class Action(enum.Enum):
    """What to do with an attempt's outcome."""

    RETRY = "retry"
    """Wait ``delay`` seconds, then try again."""
    RETURN = "return"
    """Stop; hand the response (or raise the error) to the caller as it is."""
    RAISE = "raise"
    """Stop and raise: the server asked for a wait longer than the policy allows."""


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """The policy's verdict on one attempt.

    Attributes:
        action: What to do.
        delay: Seconds to wait before the next attempt (RETRY), or the wait the server asked
            for (RAISE).
        reason: Why, in a few words, for logs and ``Response.retries``.
        server_wait: True when ``delay`` is the server's (``Retry-After``, quota reset) rather
            than backoff; such a wait does not feed the next decorrelated-jitter delay.
    """

    action: Action
    delay: float
    reason: str
    server_wait: bool = False

    @property
    def retry(self) -> bool:
        """True when another attempt should be made."""
        return self.action is Action.RETRY


_DEFAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_DEFAULT_ERRORS = frozenset(
    {
        ErrorKind.CONNECT,
        ErrorKind.CONNECT_TIMEOUT,
        ErrorKind.POOL_TIMEOUT,
        ErrorKind.READ_TIMEOUT,
        ErrorKind.WRITE_TIMEOUT,
        ErrorKind.RESET,
    }
)


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """An immutable description of how requests are retried.

    Attributes:
        max_attempts: Attempts in all, the first included (1 disables retries).
        backoff: Delay schedule when the server gives no wait of its own.
        deadline: Total seconds for all attempts and waits, or ``None`` for no bound.
        retry_statuses: Statuses worth another attempt.
        retry_errors: Transport failures worth another attempt.
        retry_methods: Methods safe to repeat without an idempotency key.
        idempotency_header: Header whose presence makes any method safe to repeat.
        retry_unsent: Retry any method when the failure proves the request was never sent.
        respect_retry_after: Wait as long as ``Retry-After`` / rate-limit headers ask.
        max_wait: Longest server-requested wait the policy accepts, in seconds.
        on_long_wait: Over ``max_wait``: ``"raise"`` (default) or ``"cap"`` the wait.
    """

    max_attempts: int = 4
    backoff: Backoff = field(default_factory=Backoff)
    deadline: float | None = None
    retry_statuses: frozenset[int] = _DEFAULT_STATUSES
    retry_errors: frozenset[ErrorKind] = _DEFAULT_ERRORS
    retry_methods: frozenset[str] = IDEMPOTENT_METHODS
    idempotency_header: str = "Idempotency-Key"
    retry_unsent: bool = True
    respect_retry_after: bool = True
    max_wait: float = 60.0
    on_long_wait: Literal["raise", "cap"] = "raise"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.deadline is not None and self.deadline <= 0:
            raise ValueError("deadline must be positive (or None)")
        if self.max_wait < 0:
            raise ValueError("max_wait must not be negative")
        if self.on_long_wait not in ("raise", "cap"):
            raise ValueError("on_long_wait must be 'raise' or 'cap'")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)

    def may_repeat(self, method: str, has_idempotency_key: bool) -> bool:
        """Whether a request with ``method`` may be sent again after it may have arrived."""
        return method in self.retry_methods or has_idempotency_key

    def time_left(self, elapsed: float) -> float | None:
        """Seconds left before the deadline (``None`` when there is no deadline)."""
        if self.deadline is None:
            return None
        return self.deadline - elapsed

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
        """Decide what follows a response.

        Args:
            attempt: The attempt that produced it (1 for the first).
            method: Request method, upper case.
            has_idempotency_key: Whether the request carries the idempotency header.
            status: Response status.
            headers: Response headers (case-insensitive lookup, lower-case names asked).
            now: Wall-clock epoch seconds (to read HTTP-dates).
            elapsed: Seconds since the first attempt started.
            random: Source of floats in ``[0, 1)`` for jitter.
            previous_delay: The delay before this attempt (decorrelated jitter).
        """
        if status not in self.retry_statuses and not (
            status == 403 and is_rate_limited(status, headers)
        ):
            return RetryDecision(Action.RETURN, 0.0, f"{_status_text(status)} is final")
        what = _status_text(status)
        if not self.may_repeat(method, has_idempotency_key):
            return RetryDecision(
                Action.RETURN,
                0.0,
                f"{what}, but {method} without {self.idempotency_header} is not retried",
            )
        server_wait = rate_limit_wait(headers, now) if self.respect_retry_after else None
        return self._schedule(attempt, elapsed, what, server_wait, random, previous_delay)

    def decide_error(
        self,
        *,
        attempt: int,
        method: str,
        has_idempotency_key: bool,
        kind: ErrorKind,
        elapsed: float,
        random: Random,
        previous_delay: float = 0.0,
    ) -> RetryDecision:
        """Decide what follows a transport failure (arguments as in :meth:`decide_status`)."""
        what = f"{kind.value} error"
        if kind not in self.retry_errors:
            return RetryDecision(Action.RETURN, 0.0, f"{what} is not retryable")
        if not (
            self.may_repeat(method, has_idempotency_key) or (self.retry_unsent and kind.unsent)
        ):
            return RetryDecision(
                Action.RETURN,
                0.0,
                f"{what}; {method} without {self.idempotency_header} may have been received, "
                "not retried",
            )
        return self._schedule(attempt, elapsed, what, None, random, previous_delay)

    def decide_exception(
        self, *, attempt: int, elapsed: float, random: Random, previous_delay: float = 0.0
    ) -> RetryDecision:
        """Decide what follows a retryable exception of a plain function (``@retry``)."""
        return self._schedule(attempt, elapsed, "retryable exception", None, random, previous_delay)

    def _schedule(
        self,
        attempt: int,
        elapsed: float,
        what: str,
        server_wait: float | None,
        random: Random,
        previous_delay: float,
    ) -> RetryDecision:
        if attempt >= self.max_attempts:
            return RetryDecision(
                Action.RETURN, 0.0, f"{what}; attempts exhausted ({attempt} of {self.max_attempts})"
            )
        if server_wait is not None:
            if server_wait > self.max_wait:
                if self.on_long_wait == "raise":
                    return RetryDecision(
                        Action.RAISE,
                        server_wait,
                        f"{what}; server asked to wait {server_wait:g}s, over max_wait "
                        f"{self.max_wait:g}s",
                    )
                delay, how = self.max_wait, f"server wait {server_wait:g}s capped to"
            else:
                delay, how = server_wait, "server asked for"
        else:
            delay = self.backoff.delay(attempt, random, previous_delay)
            how = "backoff"
        left = self.time_left(elapsed)
        if left is not None and delay >= left:
            return RetryDecision(
                Action.RETURN,
                0.0,
                f"{what}; waiting {delay:.3g}s would pass the {self.deadline:g}s deadline",
            )
        return RetryDecision(
            Action.RETRY,
            delay,
            f"{what}; {how} {delay:.3g}s before attempt {attempt + 1} of {self.max_attempts}",
            server_wait=server_wait is not None,
        )
