"""Request collapsing: concurrent cache misses of one key send one request to the origin.

The cache flow yields :class:`~restwell._flow._core.Collapse` before going to the origin; the
runner answers with a :class:`Ticket` from its client's :class:`Collapser`. The first request
for a key leads (it goes to the origin, and releases the others when it ends, however it
ends); the requests that arrive meanwhile wait (bounded) and then look the cache up again.
The registry and the hand-over are written once here; the runners only wait, each its own
way (a ``threading.Event`` for the sync client, an ``asyncio.Event`` for the async one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

__all__ = ["Collapser", "Ticket"]

W = TypeVar("W")


@dataclass(slots=True)
class Ticket:
    """A runner's answer to :class:`~restwell._flow._core.Collapse`.

    Attributes:
        lead: This request goes to the origin for the others; it must call :meth:`done`
            when it ends (in a ``finally``), directly, not through an action.
        waited: Seconds a follower waited for the leader.
        timed_out: The follower stopped waiting at the runner's bound, the leader still out.
    """

    lead: bool
    waited: float = 0.0
    timed_out: bool = False
    _release: Callable[[], None] | None = None

    def done(self) -> None:
        """The leader ended: wake its followers and forget the key (idempotent)."""
        release, self._release = self._release, None
        if release is not None:
            release()


class Collapser(Generic[W]):
    """The leaders in flight, by collapse key, each with what its followers wait on.

    Args:
        timeout: Longest a follower waits for its leader, in seconds.
        make: A new waitable for a leader's followers (an event).
        wake: Wake everyone waiting on one (set the event); called once per leader.
    """

    def __init__(self, timeout: float, make: Callable[[], W], wake: Callable[[W], None]) -> None:
        if timeout < 0:
            raise ValueError("cache_collapse_timeout must not be negative")
        self.timeout = timeout
        self._make, self._wake = make, wake
        # Followers of one client may be on several threads (sync client): one lock.
        self._lock = threading.Lock()
        self._leaders: dict[str, W] = {}

    def join(self, key: str) -> Ticket | W:
        """Lead ``key`` (a :class:`Ticket` with ``lead``), or what to wait on for its leader."""
        with self._lock:
            waitable = self._leaders.get(key)
            if waitable is not None:
                return waitable
            waitable = self._leaders[key] = self._make()
        return Ticket(True, _release=partial(self._finish, key, waitable))

    def _finish(self, key: str, waitable: W) -> None:
        with self._lock:
            # Removed before the wake-up, so a follower that wakes and misses again goes to
            # the origin itself rather than finding (and waiting on) a finished leader.
            if self._leaders.get(key) is waitable:
                del self._leaders[key]
        self._wake(waitable)

    def __len__(self) -> int:
        """Leaders in flight."""
        with self._lock:
            return len(self._leaders)
