"""Background revalidations (``stale-while-revalidate``): one at a time per stored entry.

The cache flow yields :class:`~restwell._flow._core.Spawn`; whoever runs flows (the clients,
the integrations) hands it here, to run on a daemon thread (sync) or an event-loop task
(async). A second revalidation of the same entry while one runs is dropped: it would fetch
the same answer again.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from restwell._flow._core import FlowAction, Spawn, run_async, run_sync

__all__ = ["Revalidations"]


class Revalidations:
    """The background revalidations of one client or integration, and their claims."""

    def __init__(self) -> None:
        self._claims: set[str] = set()
        self._lock = threading.Lock()
        self.threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        """Threads still running (sync): a closing client may wait for them a moment."""
        self.tasks: set[asyncio.Task[Any]] = set()
        """Tasks not yet done (async), strongly held until they end."""

    def _claim(self, key: str) -> bool:
        with self._lock:
            if key in self._claims:
                return False
            self._claims.add(key)
            return True

    def _release(self, key: str) -> None:
        with self._lock:
            self._claims.discard(key)

    def start_thread(self, spawn: Spawn, perform: Callable[[FlowAction], Any]) -> None:
        """Run ``spawn.flow`` on a daemon thread, unless its entry is busy."""
        if not self._claim(spawn.key):
            spawn.flow.close()
            return

        def revalidate() -> None:
            try:
                run_sync(spawn.flow, perform)
            finally:
                self._release(spawn.key)

        thread = threading.Thread(target=revalidate, name="restwell-revalidate", daemon=True)
        self.threads.add(thread)
        thread.start()

    def start_task(self, spawn: Spawn, perform: Callable[[FlowAction], Awaitable[Any]]) -> None:
        """Run ``spawn.flow`` as a task of the running loop, unless its entry is busy."""
        if not self._claim(spawn.key):
            spawn.flow.close()
            return
        task = asyncio.get_running_loop().create_task(run_async(spawn.flow, perform))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        task.add_done_callback(lambda _: self._release(spawn.key))

    async def cancel_tasks(self) -> None:
        """Cancel the unfinished tasks and wait until they have ended."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
