"""An in-process cache bounded in bytes, least recently used first out."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from restwell.cache._base import (
    DEFAULT_MAX_ENTRY_BYTES,
    NonBlockingStorage,
    Variants,
    check_limit,
    log_skipped,
)

__all__ = ["MemoryCache"]


# (value, expires, size): a tuple of atoms, which the garbage collector stops tracking after
# its first pass, so a full cache adds nothing to what each full collection walks (an object
# of a class would stay tracked, one per entry, for as long as the entry lives).
_Entry = tuple[bytes, float | None, int]


class MemoryCache(NonBlockingStorage):
    """A bounded least-recently-used cache in this process's memory.

    The bound is in bytes: the UTF-8 length of each key and variant id plus the length of its
    value (Python's per-object overhead is not counted). Storing past the bound evicts the
    least recently used variants until the total fits; reading a key makes its variants the
    most recently used. Expired variants are dropped when read, and meanwhile age out of the
    LRU order like any other.

    One lock guards all state and is held only for dictionary operations (never for I/O or
    hashing), so the cache is safe to share between threads, and the async methods run inline
    on the event loop.

    Args:
        max_bytes: Upper bound on the bytes held.
        max_entry_bytes: Values larger than this are not stored (``put`` returns ``False``);
            the effective limit is never more than ``max_bytes``.
        clock: Seconds on a monotonic clock, for TTLs; injectable for tests.
    """

    def __init__(
        self,
        max_bytes: int = 64 * 1024 * 1024,
        *,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_bytes = check_limit("max_bytes", max_bytes, minimum=1)
        self._max_entry_bytes = min(
            check_limit("max_entry_bytes", max_entry_bytes, minimum=0), max_bytes
        )
        self._clock = clock
        self._lock = threading.Lock()
        # LRU order over (key, variant); the per-key index keeps `get` from scanning it.
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._index: dict[str, dict[str, None]] = {}
        self._bytes = 0

    @property
    def max_bytes(self) -> int:
        """Upper bound on :attr:`current_bytes`."""
        return self._max_bytes

    @property
    def max_entry_bytes(self) -> int:
        """Largest value, in bytes, that :meth:`put` stores."""
        return self._max_entry_bytes

    @property
    def current_bytes(self) -> int:
        """Bytes held now (keys, variant ids and values, expired ones until dropped)."""
        return self._bytes

    def __len__(self) -> int:
        """Number of stored variants (expired ones included until dropped)."""
        return len(self._entries)

    def get(self, key: str) -> Variants:
        """All live variants of ``key``; reading makes them the most recently used."""
        # A miss needs no lock: a dict read is atomic, and a put racing with it is simply
        # ordered after it.
        if key not in self._index:
            return []
        with self._lock:
            variants = self._index.get(key)
            if not variants:
                return []
            now = self._clock()
            found: Variants = []
            for variant in list(variants):
                slot = (key, variant)
                value, expires, _ = self._entries[slot]
                if expires is not None and expires <= now:
                    self._remove(key, variant)
                else:
                    self._entries.move_to_end(slot)
                    found.append((variant, value))
            return found

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Store ``value`` as ``variant`` of ``key``, evicting least recently used variants.

        Returns:
            ``False`` when the value is larger than :attr:`max_entry_bytes` or ``ttl <= 0``
            (the previous value of the variant is removed all the same).
        """
        # Sizes are computed outside the lock; an ASCII string's UTF-8 length is its length.
        size = len(value)
        size += len(key) if key.isascii() else len(key.encode())
        size += len(variant) if variant.isascii() else len(variant.encode())
        if len(value) > self._max_entry_bytes:
            oversized: tuple[int, int] | None = (len(value), self._max_entry_bytes)
        elif size > self._max_bytes:
            oversized = (size, self._max_bytes)
        else:
            oversized = None
        slot = (key, variant)
        with self._lock:
            entries = self._entries
            if slot in entries:
                self._remove(key, variant)
            if oversized is not None or (ttl is not None and ttl <= 0):
                stored = False
            else:
                expires = None if ttl is None else self._clock() + ttl
                entries[slot] = (value, expires, size)
                variants = self._index.get(key)
                if variants is None:
                    self._index[key] = {variant: None}
                else:
                    variants[variant] = None
                self._bytes += size
                while self._bytes > self._max_bytes:
                    (old_key, old_variant), _ = next(iter(entries.items()))
                    self._remove(old_key, old_variant)
                stored = True
        if oversized is not None:
            log_skipped("MemoryCache", key, variant, *oversized)
        return stored

    def delete(self, key: str) -> None:
        """Remove every variant of ``key``."""
        with self._lock:
            for variant in list(self._index.get(key, ())):
                self._remove(key, variant)

    def clear(self) -> None:
        """Remove everything."""
        with self._lock:
            self._entries.clear()
            self._index.clear()
            self._bytes = 0

    def close(self) -> None:
        """Release the memory held (the cache stays usable, empty)."""
        self.clear()

    def _remove(self, key: str, variant: str) -> None:
        # Caller holds the lock.
        entry = self._entries.pop((key, variant), None)
        if entry is None:
            return
        self._bytes -= entry[2]
        variants = self._index[key]
        del variants[variant]
        if not variants:
            del self._index[key]
