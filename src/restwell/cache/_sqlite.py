"""A cache in one SQLite file, shared by the threads and processes that open it."""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from restwell.cache._base import (
    DEFAULT_MAX_ENTRY_BYTES,
    BlockingStorage,
    Variants,
    check_limit,
    log_corrupt,
    log_skipped,
)
from restwell.cache._codec import decode, encode, why_undecodable
from restwell.cache._lane import Job, Lane

__all__ = ["SCHEMA_VERSION", "SQLiteCache"]

#: Version of the tables below; recorded in ``restwell_cache_meta``.
SCHEMA_VERSION: Final = 1

_META: Final = """CREATE TABLE IF NOT EXISTS restwell_cache_meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
)"""
_SCHEMA: Final = (
    # A rowid table rather than WITHOUT ROWID: values are often many kilobytes, and SQLite
    # advises WITHOUT ROWID only for small rows.
    """CREATE TABLE IF NOT EXISTS restwell_cache (
        key TEXT NOT NULL,
        variant TEXT NOT NULL,
        value BLOB NOT NULL,
        expires REAL,
        PRIMARY KEY (key, variant)
    )""",
    """CREATE INDEX IF NOT EXISTS restwell_cache_expires
        ON restwell_cache (expires) WHERE expires IS NOT NULL""",
)
_SELECT: Final = (
    "SELECT variant, value FROM restwell_cache WHERE key = ? AND (expires IS NULL OR expires > ?)"
)
_UPSERT: Final = (
    "INSERT INTO restwell_cache (key, variant, value, expires) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (key, variant) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)


def _delete(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("DELETE FROM restwell_cache WHERE key = ?", (key,))


def _clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM restwell_cache")


_PURGE_KEY: Final = "DELETE FROM restwell_cache WHERE key = ? AND expires <= ?"
_PURGE_SOME: Final = (
    "DELETE FROM restwell_cache WHERE rowid IN "
    "(SELECT rowid FROM restwell_cache WHERE expires <= ? LIMIT 1000)"
)
# Idle connections kept per cache; more threads than this still work, they connect anew.
_MAX_IDLE: Final = 16
# Connections a forked child inherited: never used or closed there (SQLite forbids carrying a
# connection across fork), only kept from the garbage collector, which would close them.
_ABANDONED: list[sqlite3.Connection] = []


class SQLiteCache(BlockingStorage):
    """A cache in a SQLite file, safe for many threads and processes at once.

    * **Concurrency.** The database runs in WAL mode, so readers never wait for the writer;
      writers queue on SQLite's lock for up to ``timeout`` seconds (``busy_timeout``) instead of
      failing with "database is locked". Every write opens with ``BEGIN IMMEDIATE``, taking
      the write lock before reading anything, which is what keeps a busy writer from failing
      instead of waiting. Each thread borrows its own connection from a small pool; a forked
      child opens fresh connections.
    * **Crash safety.** Each write is one transaction: a process killed mid-write leaves the
      previous value or the new one, never a mix. ``synchronous=NORMAL`` makes commits durable
      across process crashes (an OS crash may lose the last commits, never corrupt the file).
      Values also carry a checksum, so anything else found in the table reads as a miss.
    * **Expiry.** Expiry times are wall-clock (shared by processes); expired rows are never
      returned, and are deleted lazily: a key's expired variants on each write to that key,
      and up to 1,000 expired rows of any key every ``purge_interval`` seconds of writes.
    * **Schema.** Versioned in the ``restwell_cache_meta`` table; a file from an older version
      is emptied and upgraded (it is a cache), one from a newer version is refused.

    Args:
        path: The database file (created, with its directory, when missing).
        max_entry_bytes: Values larger than this are not stored (``put`` returns ``False``).
        timeout: Seconds to wait for another connection's lock before raising.
        clock: Wall-clock seconds since the epoch, for TTLs; injectable for tests.
        purge_interval: Seconds between sweeps of expired rows.

    Raises:
        ValueError: For an in-memory path (use :class:`MemoryCache`) or bad limits.
        RuntimeError: When the file was written by a newer schema version.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        purge_interval: float = 60.0,
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError("SQLiteCache needs a file path; use MemoryCache for memory")
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0, not {timeout!r}")
        self._path = Path(path)
        self._max_entry_bytes = check_limit("max_entry_bytes", max_entry_bytes, minimum=0)
        self._timeout = timeout
        self._clock = clock
        self._purge_interval = purge_interval
        self._next_purge = clock()
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._initialise()
        self._reads = Lane(f"restwell-sqlite-reads-{self._path.name}")
        self._writes = Lane(f"restwell-sqlite-writes-{self._path.name}", self._commit_batch)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def max_entry_bytes(self) -> int:
        """Largest value, in bytes, that :meth:`put` stores."""
        return self._max_entry_bytes

    def get(self, key: str) -> Variants:
        """All live variants of ``key``; undecodable ones are deleted and logged."""
        with self._connection() as conn:
            rows: list[tuple[Any, Any]] = conn.execute(_SELECT, (key, self._clock())).fetchall()
        found: Variants = []
        bad: list[tuple[str, Any, Any]] = []
        for variant, blob in rows:
            value = decode(blob)
            if value is None or not isinstance(variant, str):
                log_corrupt("SQLiteCache", key, str(variant), why_undecodable(blob))
                bad.append((key, variant, blob))
            else:
                found.append((variant, value))
        if bad:
            with self._write() as conn:
                # Only if unchanged: a writer may have replaced it with a good value meanwhile.
                conn.executemany(
                    "DELETE FROM restwell_cache WHERE key = ? AND variant IS ? AND value IS ?", bad
                )
        return found

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Store ``value`` as ``variant`` of ``key`` in one transaction.

        Returns:
            ``False`` when the value is larger than :attr:`max_entry_bytes` or ``ttl <= 0``
            (the previous value of the variant is removed all the same).
        """
        write = self._put_write(key, variant, value, ttl)
        with self._write() as conn:
            return write(conn)

    def delete(self, key: str) -> None:
        """Remove every variant of ``key``."""
        with self._write() as conn:
            _delete(conn, key)

    def clear(self) -> None:
        """Remove every entry (the file and its schema stay)."""
        with self._write() as conn:
            _clear(conn)

    # The async methods: reads on one worker thread, writes on another, each taking every
    # operation queued meanwhile as one batch (see restwell.cache._lane). A read never waits
    # behind a write (WAL readers do not block), and a batch of writes commits once.

    async def aget(self, key: str) -> Variants:
        """Awaitable :meth:`get`, run on the cache's reader thread."""
        return await self._reads.submit(self.get, key)  # type: ignore[no-any-return]

    async def aput(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Awaitable :meth:`put`, committed by the cache's writer thread.

        Writes queued together commit in one transaction; each stays whole (undone alone if it
        fails), and the await returns only once its write is committed.
        """
        # Encoding and size checks happen here, off the writer thread and its transaction.
        write = self._put_write(key, variant, value, ttl)
        return await self._writes.submit(write)  # type: ignore[no-any-return]

    async def adelete(self, key: str) -> None:
        """Awaitable :meth:`delete`, run on the cache's writer thread."""
        await self._writes.submit(functools.partial(_delete, key=key))

    async def aclear(self) -> None:
        """Awaitable :meth:`clear`, run on the cache's writer thread."""
        await self._writes.submit(_clear)

    async def aclose(self) -> None:
        """Awaitable :meth:`close`: queued operations finish first."""
        await asyncio.to_thread(self.close)

    def _put_write(
        self, key: str, variant: str, value: bytes, ttl: float | None
    ) -> Callable[[sqlite3.Connection], bool]:
        """The SQL of one :meth:`put`, to run inside a write transaction."""
        if len(value) > self._max_entry_bytes or (ttl is not None and ttl <= 0):
            if len(value) > self._max_entry_bytes:
                log_skipped("SQLiteCache", key, variant, len(value), self._max_entry_bytes)

            def remove(conn: sqlite3.Connection) -> bool:
                conn.execute(
                    "DELETE FROM restwell_cache WHERE key = ? AND variant = ?", (key, variant)
                )
                return False

            return remove
        blob = encode(value)  # outside the transaction: the write lock is held for SQL only

        def store(conn: sqlite3.Connection) -> bool:
            now = self._clock()
            expires = None if ttl is None else now + ttl
            conn.execute(_UPSERT, (key, variant, blob, expires))
            conn.execute(_PURGE_KEY, (key, now))
            if now >= self._next_purge:
                self._next_purge = now + self._purge_interval
                conn.execute(_PURGE_SOME, (now,))
            return True

        return store

    def _commit_batch(self, jobs: list[Job]) -> None:
        """The writer thread's batch: every write in one transaction (group commit).

        Each write runs under a savepoint of its own, so one that fails is undone alone and
        reports its error; the others commit together, once. If the transaction cannot begin
        or commit, every write of the batch fails with that error.
        """
        if len(jobs) == 1:  # alone: its transaction is its savepoint
            job = jobs[0]
            with self._write() as conn:
                job.result = job.fn(conn, *job.args)
            return
        with self._write() as conn:
            for job in jobs:
                conn.execute("SAVEPOINT one_write")
                try:
                    job.result = job.fn(conn, *job.args)
                except Exception as exc:
                    conn.execute("ROLLBACK TO one_write")
                    job.error = exc
                conn.execute("RELEASE one_write")

    def close(self) -> None:
        """Close the pooled connections; connections in use close when they are returned.

        Operations the async methods queued are finished first.
        """
        self._reads.stop()
        self._writes.stop()
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def purge_expired(self) -> int:
        """Delete every expired row now (writes do it lazily); returns how many."""
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM restwell_cache WHERE expires <= ?", (self._clock(),))
            return cursor.rowcount

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; this module opens them itself.
        # check_same_thread=False: pooled connections move between threads, one at a time.
        conn = sqlite3.connect(
            self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def _initialise(self) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                with self._connection() as conn:
                    self._set_up(conn)
                return
            except sqlite3.OperationalError as exc:
                # Switching a new file to WAL needs an exclusive lock, and SQLite may report
                # busy at once instead of calling the busy handler when several processes
                # create the same file together.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _set_up(self, conn: sqlite3.Connection) -> None:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        if mode != "wal":
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if mode != "wal":
                raise RuntimeError(f"{self._path}: cannot use WAL mode (got {mode!r})")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_META)
            row = conn.execute(
                "SELECT value FROM restwell_cache_meta WHERE name = 'schema_version'"
            ).fetchone()
            version = None if row is None else row[0]
            if version is not None and version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self._path} holds a restwell cache of schema version {version}, newer "
                    f"than this restwell's {SCHEMA_VERSION}: upgrade restwell or use another file"
                )
            if version != SCHEMA_VERSION:
                # A new file, or an older layout: it is only a cache, so start afresh.
                conn.execute("DROP TABLE IF EXISTS restwell_cache")
                conn.execute(
                    "INSERT OR REPLACE INTO restwell_cache_meta (name, value) "
                    "VALUES ('schema_version', ?)",
                    (SCHEMA_VERSION,),
                )
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this SQLiteCache is closed")
            if self._pid != os.getpid():
                # A forked child: the parent's connections are not ours to use or close.
                _ABANDONED.extend(self._idle)
                self._idle = []
                self._pid = os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            if conn.in_transaction:  # an error inside a write that did not roll back
                conn.execute("ROLLBACK")
            with self._lock:
                keep = not self._closed and len(self._idle) < _MAX_IDLE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            # IMMEDIATE takes the write lock up front, so a busy database makes this wait
            # (busy_timeout) rather than fail later on a read-to-write upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
