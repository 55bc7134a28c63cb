"""What every integration shares: options, idempotency keys, and body replay rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from restwell._flow import FlowConfig, RetryHook, build_config, coerce_policy
from restwell._flow._core import Clock
from restwell._models import Response
from restwell.errors import InvalidURL, TransportError
from restwell.policy import (
    NEEDS_KEY_METHODS,
    CircuitBreaker,
    OriginCache,
    RateLimitGate,
    RetryBudget,
    RetryPolicy,
    new_idempotency_key,
)

__all__ = [
    "MAX_REPLAY_BYTES",
    "NATIVE_ERRORS",
    "IntegrationBase",
    "native_error",
    "override_policy",
    "report",
]

MAX_REPLAY_BYTES = 1024 * 1024
"""Streamed request bodies up to this size are buffered so a retry can send them again."""

_UNSET: Any = object()

NATIVE_ERRORS = (TransportError, InvalidURL)
"""restwell errors that stand for a library's own exception (kept as ``__cause__``): an
integration raises that exception instead, so its users catch what their library raises."""


def report(outcome: Response | TransportError) -> dict[str, Any]:
    """What the policy did for one request: attempts, retries, and why it stopped."""
    return {
        "attempts": outcome.attempts,
        "retries": outcome.retries,
        "stop_reason": outcome.stop_reason,
    }


def native_error(exc: Exception) -> BaseException:
    """The library's own exception behind ``exc``, carrying restwell's report as ``.restwell``.

    The report says how many attempts were made and why no further one was (e.g. a request
    body that could not be sent again).
    """
    native = exc.__cause__ if exc.__cause__ is not None else exc
    if isinstance(exc, TransportError) and native is not exc:
        # (Every exception has a __dict__, so any library's can carry the report.)
        native.restwell = report(exc)  # type: ignore[attr-defined]
    return native


def override_policy(value: Any) -> RetryPolicy | None:
    """A per-request policy override: a policy, an attempt count, ``None``/``False`` for none."""
    if value is _UNSET:
        return None
    if value is None or value is False:
        return RetryPolicy.never()
    return coerce_policy(value)


class IntegrationBase:
    """Options every integration takes, and the flow configuration they make.

    Args:
        retry: Retry policy (``None`` for no retries).
        budget: Retry budget (``True``: a default one; ``False``: none; or a shared instance).
        breaker: Circuit breaker per origin (as ``budget``).
        rate_limit: Pacing by rate-limit headers (as ``budget``).
        idempotency_keys: Add an ``Idempotency-Key`` to POST/PATCH requests without one, so
            they can be retried (only for APIs that honour the header).
        max_replay_bytes: Streamed request bodies up to this size are buffered for retries;
            larger ones are sent once and never retried.
        on_retry: Callables ``(request, record)`` called before each retry's wait.
        clock: Time sources (tests).
        random: Jitter source (tests).
    """

    def __init__(
        self,
        *,
        retry: RetryPolicy | int | None = RetryPolicy(),  # noqa: B008 - immutable
        budget: RetryBudget | bool = True,
        breaker: CircuitBreaker | bool = True,
        rate_limit: RateLimitGate | bool = True,
        idempotency_keys: bool = False,
        max_replay_bytes: int = MAX_REPLAY_BYTES,
        on_retry: RetryHook | Iterable[RetryHook] = (),
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        # The wrapped library follows redirects itself; each hop comes through here.
        self.flow_config: FlowConfig = build_config(
            retry=retry,
            budget=budget,
            breaker=breaker,
            rate_limit=rate_limit,
            follow_redirects=False,
            on_retry=on_retry,
            clock=clock,
            random=random,
        )
        self.idempotency_keys = idempotency_keys
        self.origins = OriginCache()
        self.max_replay_bytes = max_replay_bytes

    def key_to_add(self, method: str, has_key: bool) -> str | None:
        """The idempotency key to add to a request, if the option asks for one."""
        if self.idempotency_keys and method.upper() in NEEDS_KEY_METHODS and not has_key:
            return new_idempotency_key()
        return None

    @property
    def key_header(self) -> str:
        """The idempotency header name of the policy."""
        return self.flow_config.retry.idempotency_header
