"""A cache in Redis, shared by every process and machine that reaches the server.

Layout: one Redis hash per primary key, named ``prefix + key``, with two fields per variant:
``v:<variant>`` holds the enveloped value (:mod:`restwell.cache._codec`) and ``x:<variant>``
its expiry in Unix milliseconds of the *server's* clock (absent: no expiry). Every update runs as
one Lua script, so readers on any machine see the whole multi-variant change or none of it, and
the script sets the key's own expiry (``PEXPIREAT``) to that of its longest-lived variant
(``PERSIST`` when one never expires): Redis itself deletes a key once all its variants are
stale, while reads filter out the variants that expired earlier than their siblings. Using the
server's clock keeps machines with skewed clocks in agreement.

Each operation is written once, as a generator of Redis commands (:class:`_Eval`,
:class:`_Call`); :meth:`RedisCache._run` drives it with a blocking ``redis.Redis`` and
:meth:`RedisCache._arun` with a ``redis.asyncio.Redis``, the only code that differs.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import weakref
from collections.abc import Generator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, TypeVar

from restwell.cache._base import (
    DEFAULT_MAX_ENTRY_BYTES,
    Variants,
    check_limit,
    log_corrupt,
    log_skipped,
)
from restwell.cache._codec import decode, encode, why_undecodable

if TYPE_CHECKING:
    from types import TracebackType

    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis
    from redis.commands.core import AsyncScript, Script

__all__ = ["RedisCache"]

T = TypeVar("T")
ScriptName = Literal["get", "put", "drop"]

# Milliseconds on the server's clock.
_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# Drop expired variants and orphaned or foreign fields, then give the key the expiry of its
# longest-lived variant. An emptied hash disappears by itself.
_RESCHEDULE: Final = """
local latest, forever = 0, false
for _, f in ipairs(redis.call('HKEYS', key)) do
  local kind, v = string.sub(f, 1, 2), string.sub(f, 3)
  if kind == 'v:' then
    local x = redis.call('HGET', key, 'x:' .. v)
    if not x then
      forever = true
    else
      x = tonumber(x) or 0
      if x <= now then
        redis.call('HDEL', key, f, 'x:' .. v)
      elseif x > latest then
        latest = x
      end
    end
  elseif kind ~= 'x:' or redis.call('HEXISTS', key, 'v:' .. v) == 0 then
    redis.call('HDEL', key, f)
  end
end
if forever then
  redis.call('PERSIST', key)
elseif latest > 0 then
  redis.call('PEXPIREAT', key, string.format('%d', latest))
end
"""
# KEYS[1]: the key. Returns {} (nothing), {'foreign', type} (not ours), or
# {'ok', variant1, value1, ...} for the variants that have not expired.
_GET: Final = (
    """
local key = KEYS[1]
local kind = redis.call('TYPE', key)['ok']
if kind == 'none' then return {} end
if kind ~= 'hash' then return {'foreign', kind} end
"""
    + _NOW
    + """
local flat = redis.call('HGETALL', key)
local expiry = {}
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'x:' then
    expiry[string.sub(flat[i], 3)] = tonumber(flat[i + 1]) or 0
  end
end
local out = {'ok'}
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'v:' then
    local v = string.sub(flat[i], 3)
    local x = expiry[v]
    if x == nil or x > now then
      out[#out + 1] = v
      out[#out + 1] = flat[i + 1]
    end
  end
end
return out
"""
)
# KEYS[1]: the key; ARGV: variant, value ('' removes the variant), ttl in ms ('' for none).
# Anything that is not a hash under our name is replaced.
_PUT: Final = (
    """
local key, variant, value, ttl = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'none' and kind ~= 'hash' then redis.call('DEL', key) end
"""
    + _NOW
    + """
if value == '' then
  redis.call('HDEL', key, 'v:' .. variant, 'x:' .. variant)
else
  redis.call('HSET', key, 'v:' .. variant, value)
  if ttl == '' then
    redis.call('HDEL', key, 'x:' .. variant)
  else
    redis.call('HSET', key, 'x:' .. variant, string.format('%d', now + tonumber(ttl)))
  end
end
"""
    + _RESCHEDULE
    + "return 1\n"
)
# KEYS[1]: the key. No ARGV: delete the key if it is not a hash. ARGV = variant, value: delete
# that variant if it still holds exactly that (undecodable) value.
_DROP: Final = (
    """
local key = KEYS[1]
local kind = redis.call('TYPE', key)['ok']
if #ARGV == 0 then
  if kind ~= 'hash' and kind ~= 'none' then redis.call('DEL', key) end
  return 1
end
if kind ~= 'hash' or redis.call('HGET', key, 'v:' .. ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', key, 'v:' .. ARGV[1], 'x:' .. ARGV[1])
"""
    + _NOW
    + _RESCHEDULE
    + "return 1\n"
)
_SCRIPTS: Final[dict[ScriptName, str]] = {"get": _GET, "put": _PUT, "drop": _DROP}


@dataclass(frozen=True, slots=True)
class _Eval:
    """Run one of the Lua scripts on ``key``; the reply is the script's return value."""

    script: ScriptName
    key: bytes
    args: tuple[bytes | int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Call:
    """Call a client method (the same name on the blocking and the asyncio client)."""

    method: Literal["delete", "scan", "unlink"]
    args: tuple[Any, ...]


_Op = Generator[_Eval | _Call, Any, T]


def _require_redis() -> ModuleType:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        raise ImportError(
            "RedisCache needs the redis package: pip install 'restwell[redis]'"
        ) from exc
    return redis


def _check_binary(client: Redis | AsyncRedis) -> None:
    if client.get_encoder().decode_responses:
        raise ValueError("RedisCache needs a client with decode_responses=False (values are bytes)")


class RedisCache:
    """A cache in Redis, shared by processes and machines; Redis expires the entries.

    * **Atomicity.** Every update of a key (store a variant, drop one) is one Lua script, so
      concurrent writers on any machine never leave a half-updated set of variants.
    * **Expiry.** Redis deletes a key when its last variant expires (``PEXPIREAT``); variants
      that expire before their siblings are filtered out on read and removed on the next write.
      Expiry uses the Redis server's clock.
    * **Foreign data.** Values carry a checksum; an undecodable value, or a key under the
      prefix that is not one of ours, is a miss, removed and logged.
    * **Sync and async.** The blocking methods use ``redis.Redis``, the ``a``-methods
      ``redis.asyncio.Redis``; both run the same operation code. With ``url=`` both clients are
      made on demand (an asyncio one per event loop, as redis-py requires); given only a
      blocking ``client=``, the ``a``-methods run it in a worker thread.

    Args:
        url: A ``redis://`` or ``rediss://`` URL to connect to.
        client: A blocking ``redis.Redis`` to use instead (it must not decode responses); the
            cache does not close it.
        async_client: A ``redis.asyncio.Redis`` for the ``a``-methods; not closed either.
        prefix: Namespace of every key this cache writes; :meth:`clear` removes only these.
        max_entry_bytes: Values larger than this are not stored (``put`` returns ``False``).
        timeout: Seconds a Redis created from ``url`` may take to connect or answer; a cache
            that hangs must not hold every request up (the client then goes on uncached).

    Raises:
        ImportError: When the ``redis`` package is missing (the ``restwell[redis]`` extra).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Redis | None = None,
        async_client: AsyncRedis | None = None,
        prefix: str = "restwell:",
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        timeout: float = 0.5,
    ) -> None:
        self._redis = _require_redis()
        if timeout <= 0:
            raise ValueError("RedisCache needs a positive timeout")
        self._timeout = timeout
        if url is None and client is None and async_client is None:
            raise ValueError("RedisCache needs url=, client= or async_client=")
        if url is not None and (client is not None or async_client is not None):
            raise ValueError("give RedisCache either url= or clients, not both")
        if not prefix:
            # An empty prefix would make clear() wipe the whole database.
            raise ValueError("RedisCache needs a non-empty prefix")
        for given in (client, async_client):
            if given is not None:
                _check_binary(given)
        self._url = url
        self._prefix = prefix.encode()
        self._pattern = re.sub(rb"([*?\[\]\\])", rb"\\\1", self._prefix) + b"*"
        self._max_entry_bytes = check_limit("max_entry_bytes", max_entry_bytes, minimum=0)
        self._lock = threading.Lock()
        self._client = client
        self._scripts: dict[ScriptName, Script] | None = None
        self._async_client = async_client
        self._async_scripts: dict[ScriptName, AsyncScript] | None = None
        # redis.asyncio connections belong to the loop that opened them: one client per loop.
        self._loop_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[AsyncRedis, dict[ScriptName, AsyncScript]]
        ] = weakref.WeakKeyDictionary()

    @property
    def prefix(self) -> str:
        """Namespace of every key this cache writes."""
        return self._prefix.decode()

    @property
    def max_entry_bytes(self) -> int:
        """Largest value, in bytes, that :meth:`put` stores."""
        return self._max_entry_bytes

    def redis_key(self, key: str) -> bytes:
        """The Redis key (a hash of variants) that holds ``key``."""
        return self._prefix + key.encode()

    # The protocol, blocking and awaitable: one operation generator each.

    def get(self, key: str) -> Variants:
        """All live variants of ``key``; undecodable ones are deleted and logged."""
        return self._run(self._get_op(key))

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Store ``value`` as ``variant`` of ``key`` atomically, expiring after ``ttl`` s.

        Returns:
            ``False`` when the value is larger than :attr:`max_entry_bytes` or ``ttl <= 0``
            (the previous value of the variant is removed all the same).
        """
        return self._run(self._put_op(key, variant, value, ttl))

    def delete(self, key: str) -> None:
        """Remove every variant of ``key``."""
        self._run(self._delete_op(key))

    def clear(self) -> None:
        """Remove every key under this cache's prefix (``SCAN`` + ``UNLINK``, in batches)."""
        self._run(self._clear_op())

    def close(self) -> None:
        """Close the blocking client if this cache made it."""
        with self._lock:
            if self._url is None:  # the caller's client: theirs to close
                return
            client, self._client, self._scripts = self._client, None, None
        if client is not None:
            client.close()

    async def aget(self, key: str) -> Variants:
        """Awaitable :meth:`get`."""
        return await self._arun(self._get_op(key))

    async def aput(self, key: str, variant: str, value: bytes, ttl: float | None = None) -> bool:
        """Awaitable :meth:`put`."""
        return await self._arun(self._put_op(key, variant, value, ttl))

    async def adelete(self, key: str) -> None:
        """Awaitable :meth:`delete`."""
        await self._arun(self._delete_op(key))

    async def aclear(self) -> None:
        """Awaitable :meth:`clear`."""
        await self._arun(self._clear_op())

    async def aclose(self) -> None:
        """Close the clients this cache made: this event loop's asyncio one and the blocking one."""
        if self._url:
            with self._lock:
                made = self._loop_clients.pop(asyncio.get_running_loop(), None)
            if made is not None:
                await made[0].aclose()
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    # Operations, written once.

    def _get_op(self, key: str) -> _Op[Variants]:
        name = self.redis_key(key)
        reply = yield _Eval("get", name)
        if not reply:
            return []
        if reply[0] != b"ok":
            kind = reply[1].decode(errors="replace")
            log_corrupt("RedisCache", key, "*", f"the key holds a Redis {kind}, not a hash")
            yield _Eval("drop", name)
            return []
        found: Variants = []
        for raw_variant, blob in zip(reply[1::2], reply[2::2], strict=True):
            value = decode(blob)
            try:
                variant = raw_variant.decode()
            except UnicodeDecodeError:
                value = None
                variant = repr(raw_variant)
            if value is None:
                log_corrupt("RedisCache", key, variant, why_undecodable(blob))
                yield _Eval("drop", name, (raw_variant, blob))
            else:
                found.append((variant, value))
        return found

    def _put_op(self, key: str, variant: str, value: bytes, ttl: float | None) -> _Op[bool]:
        name, field = self.redis_key(key), variant.encode()
        if len(value) > self._max_entry_bytes or (ttl is not None and ttl <= 0):
            # An empty value tells the script to remove the variant.
            yield _Eval("put", name, (field, b"", b""))
            if len(value) > self._max_entry_bytes:
                log_skipped("RedisCache", key, variant, len(value), self._max_entry_bytes)
            return False
        ttl_ms: bytes | int = b"" if ttl is None else max(1, math.ceil(ttl * 1000))
        yield _Eval("put", name, (field, encode(value), ttl_ms))
        return True

    def _delete_op(self, key: str) -> _Op[None]:
        yield _Call("delete", (self.redis_key(key),))

    def _clear_op(self) -> _Op[None]:
        cursor = 0
        while True:
            cursor, names = yield _Call("scan", (cursor, self._pattern, 1000))
            if names:
                yield _Call("unlink", tuple(names))
            if int(cursor) == 0:
                return

    # The two drivers: the only code that knows whether a client blocks or awaits.

    def _run(self, op: _Op[T]) -> T:
        client, scripts = self._blocking()
        reply: Any = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(step, _Eval):
                reply = scripts[step.script](keys=[step.key], args=step.args, client=client)
            else:
                reply = getattr(client, step.method)(*step.args)

    async def _arun(self, op: _Op[T]) -> T:
        made = self._awaiting()
        if made is None:
            return await asyncio.to_thread(self._run, op)
        client, scripts = made
        reply: Any = None
        while True:
            try:
                step = op.send(reply)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(step, _Eval):
                reply = await scripts[step.script](keys=[step.key], args=step.args, client=client)
            else:
                reply = await getattr(client, step.method)(*step.args)

    def _blocking(self) -> tuple[Redis, dict[ScriptName, Script]]:
        with self._lock:
            if self._client is None:
                if self._url is None:
                    raise RuntimeError(
                        "this RedisCache has only an asyncio client: use the a-methods, or "
                        "pass url= or client= for blocking use"
                    )
                self._client = self._redis.Redis.from_url(
                    self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
                )
            if self._scripts is None:
                self._scripts = {
                    name: self._client.register_script(text) for name, text in _SCRIPTS.items()
                }
            return self._client, self._scripts

    def _awaiting(self) -> tuple[AsyncRedis, dict[ScriptName, AsyncScript]] | None:
        # The lock: threads may each run an event loop on the same cache. Making a client does
        # no I/O (it connects on first use), so holding a lock here never blocks a loop long.
        with self._lock:
            if self._async_client is not None:
                if self._async_scripts is None:
                    self._async_scripts = {
                        name: self._async_client.register_script(text)
                        for name, text in _SCRIPTS.items()
                    }
                return self._async_client, self._async_scripts
            if self._url is None:
                return None
            loop = asyncio.get_running_loop()
            made = self._loop_clients.get(loop)
            if made is None:
                client: AsyncRedis = self._redis.asyncio.Redis.from_url(
                    self._url, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
                )
                scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}
                made = self._loop_clients[loop] = (client, scripts)
            return made
