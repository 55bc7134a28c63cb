"""``CacheLane``: which cached GETs it answers or sends itself, and which it leaves to the flow.

Decision logic only, on a real ``MemoryCache`` with a settable clock: the clients' use of
the lane against a real origin is covered by ``tests/cache_client``, where every scenario
runs on a memory storage (the lane) and on SQLite and Redis (the flow) alike.
"""

from __future__ import annotations

import logging

import pytest

from restwell._flow import CacheLane, FlowConfig
from restwell._models import Headers, Request, Response, Timeout
from restwell.cache import MemoryCache
from restwell.policy import RetryPolicy
from restwell.policy.cache import CachePolicy
from tests.cache_policy.support import T0, URL, http_date


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def monotonic(self) -> float:
        return self.now - T0

    def time(self) -> float:
        return self.now


def _request(method: str = "GET", **fields: str) -> Request:
    return Request(method, URL, Headers({"Accept": "application/json", **fields}))


class _Setup:
    def __init__(self, policy: CachePolicy | None = None) -> None:
        self.clock = _Clock()
        self.cfg = FlowConfig(retry=RetryPolicy(max_attempts=1), clock=self.clock)
        self.policy = policy or CachePolicy()
        self.storage = MemoryCache()

    def begin(
        self, request: Request, *, key: str | None = None, max_entry_bytes: int | None = None
    ) -> Response | CacheLane | None:
        return CacheLane.begin(
            request,
            Timeout(),
            self.cfg,
            self.policy,
            self.storage,
            key=key,
            max_entry_bytes=max_entry_bytes,
        )

    def fill(self, cache_control: str, *, etag: str | None = None, **fields: str) -> Response:
        """A miss through the lane, answered with ``cache_control``."""
        request = _request(**fields)
        lane = self.begin(request)
        assert isinstance(lane, CacheLane)
        headers = {"Cache-Control": cache_control, "Date": http_date(), "Content-Length": "2"}
        if etag is not None:
            headers["ETag"] = etag
        return lane.keep(Response(200, Headers(headers), request=request, content=b"ok"))


def test_nothing_stored_gives_a_lane_and_keep_stores_the_answer() -> None:
    setup = _Setup()
    response = setup.fill("max-age=60")
    assert response.cache_status == "miss"
    hit = setup.begin(_request())
    assert isinstance(hit, Response)
    assert (hit.cache_status, hit.content, hit.attempts) == ("hit", b"ok", 0)
    assert hit.headers.get("age") == "0"


def test_a_stale_answer_the_request_allows_is_given_at_once() -> None:
    setup = _Setup()
    setup.fill("max-age=10")
    setup.clock.now += 30
    stale = setup.begin(_request(**{"Cache-Control": "max-stale=60"}))
    assert isinstance(stale, Response)
    assert stale.cache_status == "stale"
    assert stale.headers.get("age") == "30"


@pytest.mark.parametrize(
    ("cache_control", "etag"),
    [
        ("max-age=10", '"v1"'),  # stale with a validator: revalidate
        ("max-age=10, stale-while-revalidate=60", None),  # served, with a background refresh
        ("max-age=10, stale-if-error=60", None),  # a miss, with a stale answer in reserve
    ],
)
def test_a_stored_answer_that_needs_the_flow_gives_none(
    cache_control: str, etag: str | None
) -> None:
    setup = _Setup()
    setup.fill(cache_control, etag=etag)
    setup.clock.now += 30
    assert setup.begin(_request()) is None


@pytest.mark.parametrize("method", ["HEAD", "POST", "DELETE"])
def test_only_gets_take_the_lane(method: str) -> None:
    assert _Setup().begin(_request(method)) is None


def test_only_if_cached_with_nothing_stored_is_left_to_the_flow() -> None:
    # The flow answers it with a 504 (§5.2.1.7); the lane never sends such a request.
    assert _Setup().begin(_request(**{"Cache-Control": "only-if-cached"})) is None


def test_another_credentials_answer_is_not_found() -> None:
    setup = _Setup()
    setup.fill("max-age=60", Authorization="Bearer one")
    assert isinstance(setup.begin(_request(Authorization="Bearer one")), Response)
    assert isinstance(setup.begin(_request(Authorization="Bearer two")), CacheLane)


def test_a_custom_key_is_the_primary_key() -> None:
    setup = _Setup()
    lane = setup.begin(_request(), key="mine")
    assert isinstance(lane, CacheLane)
    fields = Headers({"Cache-Control": "max-age=60", "Date": http_date()})
    lane.keep(Response(200, fields, request=_request(), content=b"ok"))
    assert setup.storage.get("mine")
    assert isinstance(setup.begin(_request(), key="mine"), Response)
    assert isinstance(setup.begin(_request()), CacheLane)  # the URI's key holds nothing


@pytest.mark.parametrize(
    ("fields", "body", "limit", "reason"),
    [
        ({"Cache-Control": "no-store"}, b"ok", None, "no-store"),
        ({"Cache-Control": "max-age=60"}, b"x" * 100, 10, "body over 10"),
    ],
)
def test_keep_stores_nothing_the_policy_or_the_limit_refuses(
    fields: dict[str, str],
    body: bytes,
    limit: int | None,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = _Setup()
    lane = setup.begin(_request(), max_entry_bytes=limit)
    assert isinstance(lane, CacheLane)
    with caplog.at_level(logging.DEBUG, logger="restwell.cache"):
        response = lane.keep(Response(200, Headers(fields), request=_request(), content=body))
    assert response.cache_status == "miss"
    assert reason in caplog.records[-1].restwell_reason  # type: ignore[attr-defined]
    assert isinstance(setup.begin(_request(), max_entry_bytes=limit), CacheLane)


def test_an_unreadable_entry_is_dropped_and_the_request_misses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = _Setup()
    key = setup.policy.cache_key("GET", URL)
    setup.storage.put(key, "|", b"not an entry", 60.0)
    with caplog.at_level(logging.WARNING, logger="restwell.cache"):
        assert isinstance(setup.begin(_request()), CacheLane)
    assert "unreadable" in caplog.text
    assert setup.storage.get(key) == []


class _Broken(MemoryCache):
    def get(self, key: str, /) -> list[tuple[str, bytes]]:
        raise OSError("disk on fire")

    def put(self, key: str, variant: str, value: bytes, ttl: float | None = None, /) -> bool:
        raise OSError("disk on fire")


def test_a_failing_storage_is_a_miss_and_the_answer_still_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = _Setup()
    setup.storage = _Broken()
    with caplog.at_level(logging.DEBUG, logger="restwell.cache"):
        response = setup.fill("max-age=60")
    assert response.cache_status == "miss"
    assert response.content == b"ok"
    assert "cache storage failed (OSError: disk on fire)" in caplog.text
    assert "not stored: the storage failed" in caplog.text
