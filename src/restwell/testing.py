"""Helpers for testing code that uses restwell: no real waits, a clock you move by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from restwell._flow import testing_state

__all__ = ["FakeClock", "set_testing", "slept", "testing_mode"]


def set_testing(enabled: bool, *, clock: FakeClock | None = None) -> None:
    """Turn testing mode on or off for the whole process.

    While on, every wait restwell would make (retry backoff, ``Retry-After``, rate-limit
    resets, ``@retry`` delays) returns at once and is recorded in :func:`slept`, so tests of
    retrying code run fast and can still assert the schedule.

    Args:
        enabled: On or off.
        clock: A :class:`FakeClock` moved forward by each skipped wait, so deadlines and
            resets behave as if the time had passed.
    """
    testing_state.enabled = enabled
    testing_state.slept.clear()
    testing_state.advance = clock.advance if (enabled and clock is not None) else None


def slept() -> list[float]:
    """The waits requested since testing mode was turned on, in seconds."""
    return list(testing_state.slept)


@contextmanager
def testing_mode(clock: FakeClock | None = None) -> Iterator[list[float]]:
    """Testing mode for a ``with`` block; yields the live list of requested waits."""
    set_testing(True, clock=clock)
    try:
        yield testing_state.slept
    finally:
        set_testing(False)


class FakeClock:
    """A clock that moves only when told to (:meth:`advance`) or when restwell sleeps on it.

    Pass it as ``clock=`` to a client or ``@retry`` so deadlines, breakers and rate-limit
    resets can be tested exactly.

    Args:
        start: Initial wall-clock time in epoch seconds.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 0.0

    def monotonic(self) -> float:
        """Seconds on the fake monotonic clock."""
        return self._mono

    def time(self) -> float:
        """Fake wall-clock epoch seconds."""
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self._mono += seconds
        self._wall += seconds
