"""Exponential backoff with jitter.

The random source is passed in (a callable returning a float in ``[0, 1)``), so a schedule is
exact under test. The jitter kinds are those compared in "Exponential Backoff And Jitter"
(AWS Architecture Blog, 2015): full jitter spreads retries best and is the default.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "Jitter"]

Random = Callable[[], float]


class Jitter(enum.Enum):
    """How randomness is applied to the exponential delay."""

    NONE = "none"
    """Exactly ``base * multiplier**n`` (capped): synchronised clients retry together."""
    FULL = "full"
    """Uniform in ``[0, d]``: the least total work under contention."""
    EQUAL = "equal"
    """``d/2`` plus uniform in ``[0, d/2]``: never retries immediately."""
    DECORRELATED = "decorrelated"
    """Uniform in ``[base, previous * 3]`` (capped): grows from the last delay, not the count."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``n`` (``n = 1`` is the first retry).

    Attributes:
        base: Delay scale in seconds (the first un-jittered delay).
        multiplier: Growth per retry.
        cap: Upper bound of any delay, in seconds.
        jitter: Randomisation, :attr:`Jitter.FULL` by default.
    """

    base: float = 0.5
    multiplier: float = 2.0
    cap: float = 30.0
    jitter: Jitter = Jitter.FULL

    def __post_init__(self) -> None:
        # Written so that NaN fails every comparison; infinities would make delays infinite.
        finite = math.isfinite(self.base) and math.isfinite(self.cap)
        if not (finite and self.base >= 0 and self.cap >= 0 and 1 <= self.multiplier < math.inf):
            raise ValueError("backoff needs finite base >= 0, cap >= 0 and multiplier >= 1")

    def ceiling(self, retry: int) -> float:
        """The un-jittered delay before retry ``retry``, capped."""
        exponent = max(0, retry - 1)
        if self.base == 0:
            return 0.0
        # Stop growing before the float overflows; the cap applies anyway.
        if exponent > 64:
            return self.cap
        try:
            return min(self.cap, self.base * self.multiplier**exponent)
        except OverflowError:  # a large multiplier overflows well before 64
            return self.cap

    def delay(self, retry: int, random: Random, previous: float = 0.0) -> float:
        """The delay before retry number ``retry``.

        Args:
            retry: 1 for the first retry, 2 for the second, ...
            random: Source of floats in ``[0, 1)``.
            previous: The previous delay (used by decorrelated jitter only).
        """
        if self.jitter is Jitter.DECORRELATED:
            low = self.base
            high = max(low, (previous or self.base) * 3)
            return min(self.cap, low + (high - low) * random())
        ceiling = self.ceiling(retry)
        if self.jitter is Jitter.FULL:
            return ceiling * random()
        if self.jitter is Jitter.EQUAL:
            half = ceiling / 2
            return half + half * random()
        return ceiling
