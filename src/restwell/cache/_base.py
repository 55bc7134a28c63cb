"""The storage protocol every cache backend implements, and the two ways to offer its async half.

A storage holds opaque ``bytes`` under a *primary key* (what the cache policy derives from the
request's method and URI) and a *variant* id (what it derives from the request headers a
response's ``Vary`` names, RFC 9111 §4.1), so one URL can keep several responses at once. The
storage knows nothing of HTTP: serialising a stored response and choosing among variants is the
policy's job; the storage's jobs are bounds, expiry, integrity and concurrency.

The async methods never re-implement a storage: :class:`NonBlockingStorage` calls the sync
methods inline (for storages that never block, such as memory) and :class:`BlockingStorage` runs
them in a worker thread (for storages that do file I/O, such as SQLite). A storage with a native
async client (Redis) writes each operation once as a generator of commands and drives it with a
blocking and an awaiting client.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from restwell._models import redact_url

__all__ = [
    "DEFAULT_MAX_ENTRY_BYTES",
    "BlockingStorage",
    "CacheStorage",
    "NonBlockingStorage",
    "Variants",
]

log = logging.getLogger("restwell.cache")

#: Values larger than this are not stored unless a storage is told otherwise (8 MiB).
DEFAULT_MAX_ENTRY_BYTES = 8 * 1024 * 1024

Variants = list[tuple[str, bytes]]
"""What :meth:`CacheStorage.get` returns: ``(variant_id, value)`` pairs for one primary key."""


@runtime_checkable
class CacheStorage(Protocol):
    """Where the HTTP cache keeps responses: variants of opaque values under a primary key.

    Every method has a blocking form for :class:`restwell.Client` and an ``a``-prefixed
    awaitable form for :class:`restwell.AsyncClient`; both act on the same stored data.

    Contract shared by all implementations:

    * ``put`` replaces the variant. When the value is not stored (larger than
      :attr:`max_entry_bytes`, or ``ttl <= 0``) the previous value of that variant is removed
      too, so a response superseded by a newer one is never served; ``put`` returns ``False``.
    * An expired variant is never returned by ``get``.
    * A stored value that cannot be decoded (corrupt, torn, or written by something else) is a
      miss: it is deleted and logged at WARNING on the ``restwell.cache`` logger, never raised.
    * Operational failures (a Redis server that is down, a disk that is full) do raise; the
      caller decides whether to treat them as a bypass.
    """

    @property
    def max_entry_bytes(self) -> int:
        """Largest value, in bytes, that ``put`` stores; check it before buffering a body."""
        ...

    def get(self, key: str) -> Variants:
        """All live variants stored under ``key`` as ``(variant_id, value)`` pairs."""
        ...

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Store ``value`` as ``variant`` of ``key`` for ``ttl`` seconds (``None``: no expiry).

        Returns:
            Whether the value was stored.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove every variant of ``key``."""
        ...

    def clear(self) -> None:
        """Remove everything this storage holds (for shared stores: under its own namespace)."""
        ...

    def close(self) -> None:
        """Release connections and files; the storage is not used afterwards."""
        ...

    async def aget(self, key: str) -> Variants:
        """Awaitable :meth:`get`."""
        ...

    async def aput(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Awaitable :meth:`put`."""
        ...

    async def adelete(self, key: str) -> None:
        """Awaitable :meth:`delete`."""
        ...

    async def aclear(self) -> None:
        """Awaitable :meth:`clear`."""
        ...

    async def aclose(self) -> None:
        """Awaitable :meth:`close`."""
        ...


class _SyncStorage:
    """The blocking half of the protocol, which subclasses implement, and context managers."""

    def get(self, key: str) -> Variants:  # pragma: no cover - abstract
        raise NotImplementedError

    def put(
        self, key: str, variant: str, value: bytes, ttl: float | None = None
    ) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def delete(self, key: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def clear(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class NonBlockingStorage(_SyncStorage):
    """Base for storages whose methods never block: the async methods call them inline.

    Subclass it and implement ``get``, ``put``, ``delete``, ``clear`` and ``close``. Each call
    must finish without waiting on I/O (holding a lock for microseconds is fine), because it
    runs on the event loop. restwell's clients and integrations call these sync methods in
    place from their cache flow, in async code as well, rather than through the async ones.
    """

    async def aget(self, key: str) -> Variants:
        """Awaitable :meth:`get`, run inline on the event loop."""
        return self.get(key)

    async def aput(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Awaitable :meth:`put`, run inline on the event loop."""
        return self.put(key, variant, value, ttl)

    async def adelete(self, key: str) -> None:
        """Awaitable :meth:`delete`, run inline on the event loop."""
        self.delete(key)

    async def aclear(self) -> None:
        """Awaitable :meth:`clear`, run inline on the event loop."""
        self.clear()

    async def aclose(self) -> None:
        """Awaitable :meth:`close`, run inline on the event loop."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class BlockingStorage(_SyncStorage):
    """Base for storages whose methods block on I/O: the async methods run them in a thread.

    Subclass it and implement ``get``, ``put``, ``delete``, ``clear`` and ``close`` as thread-safe
    blocking methods; the ``a``-methods hand them to :func:`asyncio.to_thread`, so the event
    loop never waits on a disk. A cancelled await does not interrupt the thread: the operation
    still completes (or fails) as a whole.
    """

    async def aget(self, key: str) -> Variants:
        """Awaitable :meth:`get`, run in a worker thread."""
        return await asyncio.to_thread(self.get, key)

    async def aput(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Awaitable :meth:`put`, run in a worker thread."""
        return await asyncio.to_thread(self.put, key, variant, value, ttl)

    async def adelete(self, key: str) -> None:
        """Awaitable :meth:`delete`, run in a worker thread."""
        await asyncio.to_thread(self.delete, key)

    async def aclear(self) -> None:
        """Awaitable :meth:`clear`, run in a worker thread."""
        await asyncio.to_thread(self.clear)

    async def aclose(self) -> None:
        """Awaitable :meth:`close`, run in a worker thread."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def check_limit(name: str, value: int, *, minimum: int) -> int:
    """``value`` if it is an int of at least ``minimum``, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")
    return value


def safe_key(key: str) -> str:
    """``key`` for a log line: URLs inside it without credentials or secret query values."""
    return " ".join(redact_url(part) for part in key.split(" "))


def log_skipped(storage: str, key: str, variant: str, size: int, limit: int) -> None:
    """Say at DEBUG that a value was not stored because of its size."""
    log.debug(
        "%s: not storing %s (variant %r): %d bytes > limit %d",
        storage,
        safe_key(key),
        variant,
        size,
        limit,
        extra={
            "restwell_cache_key": safe_key(key),
            "restwell_cache_variant": variant,
            "restwell_cache_size": size,
            "restwell_cache_limit": limit,
        },
    )


def log_corrupt(storage: str, key: str, variant: str, reason: str) -> None:
    """Say at WARNING that a stored value could not be decoded and was dropped."""
    log.warning(
        "%s: dropping undecodable entry %s (variant %r): %s",
        storage,
        safe_key(key),
        variant,
        reason,
        extra={
            "restwell_cache_key": safe_key(key),
            "restwell_cache_variant": variant,
            "restwell_cache_reason": reason,
        },
    )
