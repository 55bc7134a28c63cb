"""A worker thread that runs a storage's blocking operations for the event loop, in batches.

:func:`asyncio.to_thread` costs tens of microseconds of CPU per call (a context copy, an
executor future, a thread wake-up and a loop wake-up each time), more than a SQLite read of one
key. A :class:`Lane` keeps one thread per kind of operation and hands it every operation queued
while it was busy as one batch, waking each waiting loop once per batch, so under concurrency
the hop is paid per batch rather than per operation; a batch also lets the storage do all its
writes in one transaction (group commit). The loop still never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "Lane", "run_each"]


@dataclass(slots=True)
class Job:
    """One operation: ``fn(*args)`` for the future ``future`` of ``loop``."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    result: Any = None
    error: BaseException | None = None


def run_each(jobs: list[Job]) -> None:
    """Run the jobs of a batch one by one, each with its own result or error."""
    for job in jobs:
        try:
            job.result = job.fn(*job.args)
        except BaseException as exc:  # delivered to the awaiting task, never lost here
            job.error = exc


def _deliver(jobs: list[Job]) -> None:
    # On the loop: settle each future, unless its awaiting task gave up (cancelled) meanwhile.
    for job in jobs:
        future = job.future
        if future.done():
            continue
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)


_STOP = object()


class Lane:
    """A thread running batches of jobs with ``run_batch``; started on first use.

    Args:
        name: The thread's name.
        run_batch: Runs a batch, filling in each job's ``result`` or ``error``.
        max_batch: Most jobs in one batch.
    """

    def __init__(
        self, name: str, run_batch: Callable[[list[Job]], None] = run_each, max_batch: int = 64
    ) -> None:
        self._name = name
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queue ``fn(*args)``; the future (of the running loop) settles with its outcome."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._thread is None or self._pid != os.getpid():
            self._start()
        self._queue.put(Job(loop, future, fn, args))
        return future

    def _start(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child: the parent's thread is not here, nor are its jobs ours.
                self._queue = queue.SimpleQueue()
                self._thread, self._pid = None, os.getpid()
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                thread.start()
                self._thread = thread

    def stop(self) -> None:
        """Finish the jobs already queued, then end the thread (it restarts if used again)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and self._pid == os.getpid():
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join()

    def _serve(self) -> None:
        get, get_nowait, limit = self._queue.get, self._queue.get_nowait, self._max_batch
        while True:
            first = get()
            if first is _STOP:
                return
            assert isinstance(first, Job)
            batch = [first]
            stop = False
            while len(batch) < limit:
                try:
                    more = get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                assert isinstance(more, Job)
                batch.append(more)
            try:
                self._run_batch(batch)
            except BaseException as exc:  # the batch as a whole failed: each job says so
                for job in batch:
                    if job.error is None:
                        job.error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
            for job in batch:
                by_loop.setdefault(job.loop, []).append(job)
            for loop, jobs in by_loop.items():
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits now
                    loop.call_soon_threadsafe(_deliver, jobs)
            if stop:
                return
