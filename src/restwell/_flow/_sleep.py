"""The only places restwell waits, so that testing mode can remove every wait at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["TestingState", "asleep", "sleep", "testing_state"]


@dataclass(slots=True)
class TestingState:
    """Testing mode (see :func:`restwell.testing.set_testing`).

    Attributes:
        enabled: When true, waits return at once.
        slept: Every wait requested while enabled, in seconds, for assertions.
        advance: Called with each skipped wait (a fake clock's ``advance``), or ``None``.
    """

    enabled: bool = False
    slept: list[float] = field(default_factory=list)
    advance: Callable[[float], None] | None = None

    def skip(self, seconds: float) -> None:
        """Record a wait that testing mode skips."""
        self.slept.append(seconds)
        if self.advance is not None:
            self.advance(seconds)


testing_state = TestingState()


def sleep(seconds: float) -> None:
    """Block for ``seconds`` (or record it and return, in testing mode)."""
    if testing_state.enabled:
        testing_state.skip(seconds)
        return
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Await ``seconds`` (or record it and yield once, in testing mode)."""
    if testing_state.enabled:
        testing_state.skip(seconds)
        await asyncio.sleep(0)
        return
    await asyncio.sleep(seconds)
