"""Building a :class:`FlowConfig` from the options every client and integration accepts."""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterable

from restwell._flow._core import Clock, FlowConfig, RetryHook, SystemClock
from restwell.policy import CircuitBreaker, RateLimitGate, RetryBudget, RetryPolicy

__all__ = ["build_config", "coerce_policy"]


def coerce_policy(retry: RetryPolicy | int | None) -> RetryPolicy:
    """A policy from what users pass: a policy, an attempt count, or ``None`` (no retries)."""
    if retry is None:
        return RetryPolicy.never()
    if isinstance(retry, bool) or not isinstance(retry, RetryPolicy | int):
        raise TypeError(f"retry must be a RetryPolicy, an attempt count or None, not {retry!r}")
    if isinstance(retry, int):
        return RetryPolicy(max_attempts=retry)
    return retry


def build_config(
    *,
    retry: RetryPolicy | int | None = RetryPolicy(),  # noqa: B008 - immutable
    budget: RetryBudget | bool = True,
    breaker: CircuitBreaker | bool = True,
    rate_limit: RateLimitGate | bool = True,
    follow_redirects: bool = True,
    max_redirects: int = 20,
    on_retry: RetryHook | Iterable[RetryHook] = (),
    clock: Clock | None = None,
    random: Callable[[], float] | None = None,
) -> FlowConfig:
    """The shared state and settings of one client or integration.

    ``True`` for ``budget``/``breaker``/``rate_limit`` makes a fresh default one, ``False``
    turns it off, and an instance is used as it is (so several clients can share it).
    """
    hooks = (on_retry,) if callable(on_retry) else tuple(on_retry)
    return FlowConfig(
        retry=coerce_policy(retry),
        budget=RetryBudget() if budget is True else budget or None,
        breaker=CircuitBreaker() if breaker is True else breaker or None,
        gate=RateLimitGate() if rate_limit is True else rate_limit or None,
        follow_redirects=follow_redirects,
        max_redirects=max_redirects,
        on_retry=hooks,
        clock=clock or SystemClock(),
        random=random or _random.Random().random,
    )
