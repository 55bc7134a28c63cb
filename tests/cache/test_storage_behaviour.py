"""The storage contract, one test body for every storage, blocking and awaitable.

Every test runs for memory, SQLite and Redis, through the sync methods and through the
``a``-methods (see the ``case`` and ``ops`` fixtures).
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.cache import CacheStorage
from tests.cache.conftest import MAX_ENTRY, STORAGES, Case, Ops, make_case

pytestmark = pytest.mark.anyio


def _sorted(found: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return sorted(found)


async def test_implements_the_protocol(case: Case, ops: Ops) -> None:
    assert isinstance(case.storage, CacheStorage)
    assert case.storage.max_entry_bytes == MAX_ENTRY


async def test_put_then_get_returns_the_value(ops: Ops) -> None:
    assert await ops.get("GET https://x.test/a") == []
    assert await ops.put("GET https://x.test/a", "", b"body\x00\xff") is True
    assert await ops.get("GET https://x.test/a") == [("", b"body\x00\xff")]


async def test_empty_value_and_unicode_names(ops: Ops) -> None:
    assert await ops.put("GET https://x.test/é?q=☃", "accept-language=fr é", b"") is True
    assert await ops.get("GET https://x.test/é?q=☃") == [("accept-language=fr é", b"")]


async def test_variants_are_stored_side_by_side_and_replaced_one_by_one(ops: Ops) -> None:
    await ops.put("k", "json", b"1")
    await ops.put("k", "html", b"2")
    assert _sorted(await ops.get("k")) == [("html", b"2"), ("json", b"1")]
    await ops.put("k", "json", b"3")
    assert _sorted(await ops.get("k")) == [("html", b"2"), ("json", b"3")]
    assert await ops.get("other") == []


async def test_delete_removes_every_variant_of_that_key_only(ops: Ops) -> None:
    await ops.put("k", "a", b"1")
    await ops.put("k", "b", b"2")
    await ops.put("k2", "a", b"3")
    await ops.delete("k")
    await ops.delete("never-stored")
    assert await ops.get("k") == []
    assert await ops.get("k2") == [("a", b"3")]


async def test_clear_removes_everything(ops: Ops) -> None:
    for i in range(30):
        await ops.put(f"k{i}", "", b"v")
    await ops.clear()
    assert [await ops.get(f"k{i}") for i in range(30)] == [[]] * 30
    assert await ops.put("k0", "", b"again") is True
    assert await ops.get("k0") == [("", b"again")]


async def test_ttl_expires_entries_and_none_never_does(case: Case, ops: Ops) -> None:
    await ops.put("short", "a", b"1", case.ttl)
    await ops.put("short", "b", b"2", None)
    await ops.put("forever", "", b"3")
    assert _sorted(await ops.get("short")) == [("a", b"1"), ("b", b"2")]
    case.expire()
    assert await ops.get("short") == [("b", b"2")]
    assert await ops.get("forever") == [("", b"3")]


async def test_only_the_expired_variant_goes(case: Case, ops: Ops) -> None:
    await ops.put("k", "a", b"1", case.ttl)
    await ops.put("k", "b", b"2", case.ttl * 100)
    case.expire()
    assert await ops.get("k") == [("b", b"2")]


async def test_a_put_renews_the_ttl(case: Case, ops: Ops) -> None:
    await ops.put("k", "a", b"1", case.ttl)
    await ops.put("k", "a", b"2", None)
    case.expire()
    assert await ops.get("k") == [("a", b"2")]


@pytest.mark.parametrize("ttl", [0, -1.5])
async def test_a_non_positive_ttl_stores_nothing_and_drops_the_old_value(
    ops: Ops, ttl: float
) -> None:
    await ops.put("k", "a", b"old")
    await ops.put("k", "b", b"other")
    assert await ops.put("k", "a", b"new", ttl) is False
    assert await ops.get("k") == [("b", b"other")]


async def test_oversized_values_are_skipped_not_truncated(
    ops: Ops, caplog: pytest.LogCaptureFixture
) -> None:
    assert await ops.put("k", "a", b"x" * MAX_ENTRY) is True
    assert await ops.get("k") == [("a", b"x" * MAX_ENTRY)]
    with caplog.at_level(logging.DEBUG, logger="restwell.cache"):
        assert await ops.put("k", "a", b"y" * (MAX_ENTRY + 1)) is False
    # The newer response was not stored, so the older one must not be served either.
    assert await ops.get("k") == []
    assert any("not storing" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "restwell.cache")


@pytest.mark.parametrize("junk", [b"junk", b"rwc\x01\x00\x00\x00\x00tampered", "text", 42])
async def test_an_undecodable_value_is_a_miss_and_is_removed(
    case: Case, ops: Ops, caplog: pytest.LogCaptureFixture, junk: object
) -> None:
    if case.corrupt is None:
        pytest.skip("memory keeps the caller's bytes objects: nothing to decode")
    if case.name == "redis" and not isinstance(junk, bytes):
        junk = str(junk).encode()  # Redis stores bytes only
    await ops.put("GET https://x.test/p?token=s3cret", "good", b"fine")
    await ops.put("GET https://x.test/p?token=s3cret", "bad", b"soon corrupt")
    case.corrupt("GET https://x.test/p?token=s3cret", "bad", junk)
    with caplog.at_level(logging.WARNING, logger="restwell.cache"):
        assert await ops.get("GET https://x.test/p?token=s3cret") == [("good", b"fine")]
    warnings = [r for r in caplog.records if r.name == "restwell.cache"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "s3cret" not in warnings[0].getMessage()  # keys are logged redacted
    assert case.stored_variants("GET https://x.test/p?token=s3cret") == {"good"}
    assert await ops.put("GET https://x.test/p?token=s3cret", "bad", b"healed") is True
    assert _sorted(await ops.get("GET https://x.test/p?token=s3cret")) == [
        ("bad", b"healed"),
        ("good", b"fine"),
    ]


async def test_many_keys(ops: Ops) -> None:
    for i in range(150):
        await ops.put(f"k{i}", str(i % 3), i.to_bytes(2, "big") * (i % 7))
    for i in range(150):
        assert await ops.get(f"k{i}") == [(str(i % 3), i.to_bytes(2, "big") * (i % 7))]


_names = st.sampled_from(["a", "b", "c"])
_actions = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _names, _names, st.binary(max_size=40)),
        st.tuples(st.just("get"), _names, _names, st.just(b"")),
        st.tuples(st.just("delete"), _names, _names, st.just(b"")),
    ),
    max_size=25,
)


@pytest.mark.parametrize("name", STORAGES)
def test_random_operations_match_a_dictionary(
    name: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    case = make_case(name, request, tmp_path_factory.mktemp(name))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(actions=_actions)
    def check(actions: list[tuple[str, str, str, bytes]]) -> None:
        storage = case.storage
        storage.clear()
        model: dict[str, dict[str, bytes]] = {}
        for action, key, variant, value in actions:
            if action == "put":
                assert storage.put(key, variant, value) is True
                model.setdefault(key, {})[variant] = value
            elif action == "delete":
                storage.delete(key)
                model.pop(key, None)
            else:
                assert dict(storage.get(key)) == model.get(key, {})
        for key in "abc":
            assert dict(storage.get(key)) == model.get(key, {})

    try:
        check()
    finally:
        for step in case.cleanup:
            step()
        case.storage.close()
