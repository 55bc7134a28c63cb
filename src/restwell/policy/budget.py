"""A retry budget: retries stop adding load once failures outweigh successes.

This is gRPC's retry throttling (gRFC A6): a bucket of ``max_tokens`` tokens; every failed
attempt takes one, every success puts back ``token_ratio``; retries are allowed only while the
bucket holds more than half. When an origin is down, retries stop after a handful of failures
and only first attempts go out, so a fleet of clients does not multiply the load on a service
that is trying to recover. Successes refill it gradually.

The bucket's state sits behind :class:`BudgetState`, so it can live in memory (default) or in a
shared store so that several processes draw from one budget.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["BudgetState", "MemoryBudgetState", "RetryBudget"]


class BudgetState(Protocol):
    """Storage of the token count. Implementations must make :meth:`add` atomic."""

    def add(self, delta: float, low: float, high: float) -> float:
        """Add ``delta`` to the count clamped to ``[low, high]`` and return the new count."""
        ...

    def get(self) -> float:
        """The current count."""
        ...


class MemoryBudgetState:
    """In-process token count, guarded by a lock."""

    __slots__ = ("_lock", "_tokens")

    def __init__(self, tokens: float) -> None:
        self._tokens = tokens
        self._lock = threading.Lock()

    def add(self, delta: float, low: float, high: float) -> float:
        """Add ``delta`` atomically, clamped to ``[low, high]``."""
        with self._lock:
            self._tokens = min(high, max(low, self._tokens + delta))
            return self._tokens

    def get(self) -> float:
        """The current count."""
        return self._tokens


@dataclass(slots=True)
class RetryBudget:
    """Token-bucket retry throttling shared by every request of a client.

    The defaults tolerate random failures of up to about one request in six indefinitely
    (each failure costs 1, each success returns 0.2), and stop retrying after about 50 more
    failures than that rate allows, e.g. 50 in a row when an origin goes down.

    Attributes:
        max_tokens: Bucket size. Retries are allowed while more than half of it is left.
        token_ratio: Tokens returned per success.
        state: Where the count lives; in memory by default.
    """

    max_tokens: float = 100.0
    token_ratio: float = 0.2
    state: BudgetState = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.max_tokens <= 0 or self.token_ratio <= 0:
            raise ValueError("a retry budget needs max_tokens > 0 and token_ratio > 0")
        if self.state is None:
            self.state = MemoryBudgetState(self.max_tokens)

    @property
    def tokens(self) -> float:
        """Tokens currently in the bucket."""
        return self.state.get()

    def record_success(self) -> None:
        """An attempt succeeded (or failed in a way retries cannot fix): refill a little."""
        if self.state.get() < self.max_tokens:
            self.state.add(self.token_ratio, 0.0, self.max_tokens)

    def record_failure(self) -> None:
        """An attempt failed in a retryable way: take a token."""
        self.state.add(-1.0, 0.0, self.max_tokens)

    def can_retry(self) -> bool:
        """Whether a retry may go out now (more than half of the bucket left)."""
        return self.state.get() > self.max_tokens / 2
