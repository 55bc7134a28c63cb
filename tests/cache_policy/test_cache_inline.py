"""The cache flow with an ``inline`` storage: called in place, never through storage actions.

Played by hand as in ``test_cache_collapse``: the runner records every action the flow
yields, so a storage call that went through the runner would show up there.
"""

from __future__ import annotations

from restwell.cache import MemoryCache
from restwell.policy.cache import CachePolicy
from tests.cache_policy.test_cache_collapse import Runner, get, leading


def test_an_inline_storage_is_read_and_written_in_place() -> None:
    storage = MemoryCache()
    runner = Runner(leading([]))
    assert runner.run(get(), inline=storage).cache_status == "miss"
    assert runner.actions == ["Send"]  # no CacheGet, no CachePut
    assert runner.storage == {}
    key = CachePolicy().cache_key("GET", get().url)
    assert [variant for variant, _ in storage.get(key)] == ["|"]
    assert runner.run(get(), inline=storage).cache_status == "hit"
    assert runner.actions == ["Send"]  # the hit never reached the runner either


def test_an_unsafe_method_invalidates_an_inline_storage_in_place() -> None:
    storage = MemoryCache()
    runner = Runner(leading([]))
    runner.run(get(), inline=storage)
    key = CachePolicy().cache_key("GET", get().url)
    assert storage.get(key)
    assert runner.run(get("DELETE"), inline=storage).cache_status == "bypass"
    assert runner.actions == ["Send", "Send"]
    assert storage.get(key) == []
    assert runner.run(get(), inline=storage).cache_status == "miss"


def test_without_inline_the_runner_carries_out_every_storage_action() -> None:
    runner = Runner(leading([]))
    runner.run(get())
    runner.run(get())
    assert runner.actions == ["CacheGet", "Send", "CachePut", "CacheGet"]
