"""RedisCache against a real redis-server: expiry by Redis, atomic variants, foreign data,
clients, the missing extra, and 8 processes with threads at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio

from restwell.cache import RedisCache
from restwell.cache._codec import decode
from tests.cache import hammer, payload

pytestmark = pytest.mark.redis


@pytest.fixture
def cache(redis_url: str) -> Iterator[RedisCache]:
    made = RedisCache(redis_url, prefix=f"test-{uuid.uuid4().hex}:")
    yield made
    made.clear()
    made.close()


def wait_until(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.02)
    return False


def test_redis_itself_deletes_the_key_when_its_last_variant_expires(
    cache: RedisCache, raw_redis: redis.Redis
) -> None:
    name = cache.redis_key("k")
    cache.put("k", "a", b"1", ttl=0.3)
    assert 0 < raw_redis.pttl(name) <= 300
    # Nobody reads the key: Redis removes it on its own.
    assert wait_until(lambda: raw_redis.exists(name) == 0)


def test_the_key_lives_as_long_as_its_longest_lived_variant(
    cache: RedisCache, raw_redis: redis.Redis
) -> None:
    name = cache.redis_key("k")
    cache.put("k", "a", b"1", ttl=0.3)
    cache.put("k", "b", b"2", ttl=60)
    assert 59_000 < raw_redis.pttl(name) <= 60_000
    cache.put("k", "c", b"3")  # one variant never expires: neither does the key
    assert raw_redis.pttl(name) == -1
    cache.put("k", "c", b"3", ttl=0.3)  # back to the longest TTL
    assert 59_000 < raw_redis.pttl(name) <= 60_000
    time.sleep(0.4)
    assert cache.get("k") == [("b", b"2")]
    cache.put("k", "d", b"4", ttl=30)  # a write also drops the expired variants' fields
    assert sorted(raw_redis.hkeys(name)) == [b"v:b", b"v:d", b"x:b", b"x:d"]


def test_removing_the_last_variant_removes_the_key(
    cache: RedisCache, raw_redis: redis.Redis
) -> None:
    cache.put("k", "a", b"1")
    cache.put("k", "a", b"too big", ttl=0)
    assert raw_redis.exists(cache.redis_key("k")) == 0


def test_a_key_of_another_type_under_the_prefix_is_a_miss_and_is_replaced(
    cache: RedisCache, raw_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    name = cache.redis_key("k")
    raw_redis.rpush(name, b"someone else's list")
    assert cache.get("k") == []
    assert "Redis list, not a hash" in caplog.text
    assert raw_redis.exists(name) == 0
    raw_redis.set(name, b"a string")
    assert cache.put("k", "a", b"1") is True
    assert cache.get("k") == [("a", b"1")]


def test_foreign_fields_and_bad_expiry_values_are_handled(
    cache: RedisCache, raw_redis: redis.Redis
) -> None:
    name = cache.redis_key("k")
    cache.put("k", "a", b"1")
    raw_redis.hset(name, mapping={b"junk": b"x", b"x:a": b"not a number", b"x:ghost": b"1"})
    assert cache.get("k") == []  # an unreadable expiry counts as expired
    cache.put("k", "b", b"2")
    assert sorted(raw_redis.hkeys(name)) == [b"v:b"]  # foreign and orphaned fields are gone


def test_a_non_utf8_variant_field_is_dropped(cache: RedisCache, raw_redis: redis.Redis) -> None:
    name = cache.redis_key("k")
    cache.put("k", "a", b"1")
    raw_redis.hset(name, b"v:\xff", raw_redis.hget(name, b"v:a") or b"")
    assert cache.get("k") == [("a", b"1")]
    assert raw_redis.hexists(name, b"v:\xff") == 0


def test_clear_removes_only_this_prefix_even_with_glob_characters(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    tag = uuid.uuid4().hex
    cache = RedisCache(redis_url, prefix=f"{tag}[*?\\:")
    neighbour = f"{tag}X:k".encode()
    raw_redis.set(neighbour, b"not ours")
    try:
        for i in range(2_500):  # several SCAN batches
            cache.put(f"k{i}", "", b"v")
        cache.clear()
        assert raw_redis.keys(f"{tag}*".encode()) == [neighbour]
    finally:
        raw_redis.delete(neighbour)
        cache.close()


def test_values_are_stored_enveloped(cache: RedisCache, raw_redis: redis.Redis) -> None:
    cache.put("k", "a", b"payload")
    assert decode(raw_redis.hget(cache.redis_key("k"), b"v:a")) == b"payload"


def test_given_clients_are_used_and_left_open(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-{uuid.uuid4().hex}:"
    with RedisCache(client=client, prefix=prefix) as cache:
        cache.put("k", "", b"v")
    assert client.ping()  # still usable: the caller owns it

    async def main() -> None:
        async_client = redis.asyncio.Redis.from_url(redis_url)
        async with RedisCache(async_client=async_client, prefix=prefix) as cache:
            assert await cache.aget("k") == [("", b"v")]
            with pytest.raises(RuntimeError, match="only an asyncio client"):
                cache.get("k")
        assert await async_client.ping()
        await async_client.aclose()

    asyncio.run(main())
    RedisCache(client=client, prefix=prefix).clear()
    client.close()


def test_a_blocking_client_alone_also_serves_the_async_methods(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    cache = RedisCache(client=client, prefix=f"test-{uuid.uuid4().hex}:")

    async def main() -> None:
        await cache.aput("k", "", b"v")
        assert await cache.aget("k") == [("", b"v")]
        await cache.aclear()

    asyncio.run(main())
    client.close()


def test_one_cache_serves_several_event_loops(cache: RedisCache) -> None:
    async def use(value: bytes) -> None:
        await cache.aput("k", "", value)
        assert await cache.aget("k") == [("", value)]
        await cache.aclose()

    asyncio.run(use(b"first loop"))
    asyncio.run(use(b"second loop"))


def test_decoding_clients_and_bad_arguments_are_refused(redis_url: str) -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        RedisCache(client=redis.Redis.from_url(redis_url, decode_responses=True))
    with pytest.raises(ValueError, match="url="):
        RedisCache()
    with pytest.raises(ValueError, match="not both"):
        RedisCache(redis_url, client=redis.Redis.from_url(redis_url))
    with pytest.raises(ValueError, match="prefix"):
        RedisCache(redis_url, prefix="")


def test_without_the_redis_package_restwell_imports_and_the_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['redis'] = None\n"  # as if redis were not installed
        "import restwell, restwell.cache\n"
        "try:\n"
        "    restwell.cache.RedisCache('redis://127.0.0.1:1')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'restwell[redis]'" in result.stdout


def test_eight_processes_with_threads_hammer_one_server(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    prefix = f"hammer-{uuid.uuid4().hex}:"
    summaries = hammer.run_processes("redis", f"{redis_url} {prefix}", threads=3, seconds=1.5)
    hammer.assert_clean(summaries)
    # Every hash left behind is consistent: intact values, expiry fields only for stored
    # variants, and the key's own expiry that of its longest-lived variant.
    names: list[bytes] = raw_redis.keys(f"{prefix}*".encode())  # type: ignore[assignment]
    assert names
    for name in names:
        key = name[len(prefix) :].decode()
        fields: dict[bytes, bytes] = raw_redis.hgetall(name)  # type: ignore[assignment]
        variants = {f[2:] for f in fields if f.startswith(b"v:")}
        assert {f[2:] for f in fields if f.startswith(b"x:")} <= variants
        for variant in variants:
            value = decode(fields[b"v:" + variant])
            assert value is not None
            assert payload.problem(key, variant.decode(), value) is None
        pttl = raw_redis.pttl(name)
        if any(b"x:" + v not in fields for v in variants):
            assert pttl == -1
        else:
            latest = max(int(fields[b"x:" + v]) for v in variants)
            seconds, micros = raw_redis.time()
            assert abs((latest - (seconds * 1000 + micros // 1000)) - pttl) < 1_000
    raw_redis.delete(*names)
