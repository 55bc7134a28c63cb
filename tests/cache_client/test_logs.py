"""Every cache decision is logged on ``restwell.cache`` at DEBUG, with ``restwell_cache`` (what
the cache did, as on ``Response.cache_status``) and ``restwell_reason`` (why) as extras.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import pytest

from restwell import Response
from restwell.cache import CacheStorage
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory, StorageFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver


def decisions(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (getattr(r, "restwell_cache"), getattr(r, "restwell_reason"))  # noqa: B009
        for r in caplog.records
        if r.name == "restwell.cache" and hasattr(r, "restwell_cache")
    ]


def logged(
    caplog: pytest.LogCaptureFixture, call: Callable[[], Response]
) -> tuple[Response, str, str]:
    """Make one call; the single decision it logged, checked against its ``cache_status``."""
    caplog.clear()
    response = call()
    found = decisions(caplog)
    assert len(found) == 1, found
    [(status, reason)] = found
    assert status == response.cache_status
    assert reason
    record = next(r for r in caplog.records if hasattr(r, "restwell_cache"))
    assert record.levelno == logging.DEBUG
    return response, status, reason


def test_every_decision_is_logged_with_its_reason(
    client: Driver,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="restwell.cache")
    origin.set(key, {"Cache-Control": "max-age=10, stale-if-error=600", "ETag": '"v1"'})
    _, status, reason = logged(caplog, lambda: client.get(url))
    assert status == "miss"
    assert "stored" in reason
    _, status, reason = logged(caplog, lambda: client.get(url))
    assert (status, "fresh" in reason) == ("hit", True)
    fake_clock.advance(20)
    _, status, reason = logged(caplog, lambda: client.get(url))
    assert (status, "304" in reason) == ("revalidated", True)
    fake_clock.advance(20)
    stale = {"Cache-Control": "max-stale=60"}
    _, status, reason = logged(caplog, lambda: client.get(url, headers=stale))
    assert (status, "max-stale" in reason) == ("stale", True)
    origin.fail(key, "503")
    _, status, reason = logged(caplog, lambda: client.get(url, retry=None))
    assert (status, "stale-if-error" in reason) == ("stale", True)
    origin.fail(key, "drop")
    _, status, reason = logged(caplog, lambda: client.get(url, retry=None))
    assert (status, "unreachable" in reason) == ("stale", True)
    origin.heal(key)
    _, status, reason = logged(caplog, lambda: client.get(url, cache_mode="skip"))
    assert (status, reason) == ("bypass", "skipped")
    _, status, reason = logged(caplog, lambda: client.post(url))
    assert status == "bypass"
    assert "method" in reason
    never = f"{url}?cc=" + quote("no-store")
    _, status, reason = logged(caplog, lambda: client.get(never))
    assert (status, "no-store" in reason) == ("miss", True)
    only = {"Cache-Control": "only-if-cached"}
    response, status, reason = logged(caplog, lambda: client.get(f"{url}?x", headers=only))
    assert (response.status_code, status, "only-if-cached" in reason) == (504, "miss", True)


def test_nothing_is_logged_above_debug_for_ordinary_decisions(
    client: Driver, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="restwell.cache")
    client.get(f"{url}?cc=max-age%3D60")
    client.get(f"{url}?cc=max-age%3D60")
    assert decisions(caplog) == []


def test_the_log_says_when_the_storage_refused_the_entry(
    make_client: ClientFactory,
    make_storage: StorageFactory,
    url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The body fits the limit, the stored entry (headers and all) does not.
    storage: CacheStorage = make_storage(max_entry_bytes=10_000)
    client = make_client(storage)
    caplog.set_level(logging.DEBUG, logger="restwell.cache")
    target = f"{url}?cc=max-age%3D600&size=9990"
    _, status, reason = logged(caplog, lambda: client.get(target))
    assert status == "miss"
    assert "not stored" in reason
    assert client.get(target).cache_status == "miss"


def test_urls_in_cache_logs_are_redacted(
    client: Driver, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="restwell.cache")
    client.get(f"{url}?api_key=s3cret&cc=max-age%3D60")
    assert "s3cret" not in caplog.text
