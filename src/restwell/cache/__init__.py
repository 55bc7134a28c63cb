"""Storages for restwell's HTTP cache: in memory, in a SQLite file, or in Redis.

Each implements :class:`CacheStorage`: variants of opaque ``bytes`` values under a primary key,
with a time to live, in blocking and awaitable forms. :class:`RedisCache` needs the
``restwell[redis]`` extra, imported only when one is made.
"""

from restwell.cache._base import (
    DEFAULT_MAX_ENTRY_BYTES,
    BlockingStorage,
    CacheStorage,
    NonBlockingStorage,
    Variants,
)
from restwell.cache._memory import MemoryCache
from restwell.cache._redis import RedisCache
from restwell.cache._sqlite import SQLiteCache

__all__ = [
    "DEFAULT_MAX_ENTRY_BYTES",
    "BlockingStorage",
    "CacheStorage",
    "MemoryCache",
    "NonBlockingStorage",
    "RedisCache",
    "SQLiteCache",
    "Variants",
]
