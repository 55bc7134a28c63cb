"""A Redis that accepts connections but never answers must not hold requests up."""

from __future__ import annotations

import socket
import time

import restwell
from restwell import RedisCache
from tests.origin import running_origin


def test_a_hanging_redis_costs_at_most_its_timeout_and_requests_go_on_uncached() -> None:
    # A listening socket nobody accepts from: TCP connects, then silence.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        cache = RedisCache(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        with (
            running_origin() as origin,
            restwell.Client(origin.url, cache=cache, retry=None) as client,
        ):
            started = time.monotonic()
            response = client.get("/ok")
            elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json() == {"ok": True}
        assert response.cache_status == "miss"
        # One timed-out read and one timed-out write, not redis-py's default seconds.
        assert elapsed < 1.5
    finally:
        silent.close()
