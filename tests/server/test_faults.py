"""Fault injection: what a client of a bad network sees."""

from __future__ import annotations

import time

import httpx
import pytest

from restwell.server import FaultSettings
from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, assert_problem


def statuses(client: httpx.Client, count: int) -> list[int]:
    return [client.get("/items").status_code for _ in range(count)]


def test_fail_first(serve: Serve) -> None:
    faults = FaultSettings(fail_first=3, retry_after=7)
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        failed = [client.get("/items") for _ in range(3)]
        for response in failed:
            assert_problem(response, 503)
            assert response.headers["retry-after"] == "7"
        assert statuses(client, 5) == [200] * 5


def test_error_rate_is_reproducible_with_a_seed(serve: Serve) -> None:
    faults = FaultSettings(error_rate=0.5, seed=42)
    runs = []
    for _ in range(2):
        with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            runs.append(statuses(client, 40))

    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}
    assert 8 <= runs[0].count(503) <= 32


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_error_rate_bounds(serve: Serve, rate: float) -> None:
    # 0 never fails (and installs no middleware); 1 always fails.
    faults = FaultSettings(error_rate=rate, latency=0.001)
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        assert set(statuses(client, 10)) == ({503} if rate else {200})


def test_latency(serve: Serve) -> None:
    faults = FaultSettings(latency=0.15, latency_jitter=0.05, seed=1)
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for _ in range(3):
            started = time.perf_counter()
            assert client.get("/items").status_code == 200
            assert 0.15 <= time.perf_counter() - started < 1.0


def test_dropped_connections_are_transport_errors(serve: Serve) -> None:
    faults = FaultSettings(drop_rate=0.5, seed=3)
    outcomes: list[str] = []
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for _ in range(20):
            try:
                response = client.get("/items")
            except httpx.TransportError:
                outcomes.append("dropped")
            else:
                assert response.status_code == 200
                assert response.json() == {"items": [], "next_cursor": None}
                outcomes.append("ok")

    assert {"dropped", "ok"} == set(outcomes)


def test_a_dropped_response_still_took_effect(serve: Serve) -> None:
    # The write happens and only the response is lost; an Idempotency-Key makes the retry safe.
    body, key = {"name": "lost response"}, {"Idempotency-Key": "drop-1"}
    with (
        serve(faults=FaultSettings(drop_rate=1.0)) as url,
        httpx.Client(base_url=url, timeout=TIMEOUT) as client,
    ):
        with pytest.raises(httpx.TransportError):
            client.post("/items", json=body, headers=key)
        assert client.head("/items").status_code == 200  # HEAD has no body to cut short

    with serve() as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        retried = client.post("/items", json=body, headers=key)
        assert retried.status_code == 201
        assert retried.headers["idempotent-replayed"] == "true"
        assert [item["name"] for item in client.get("/items").json()["items"]] == [body["name"]]


def test_burst_429(serve: Serve) -> None:
    faults = FaultSettings(burst_429=3, burst_window=60)
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        allowed = [client.get("/items") for _ in range(3)]
        limited = client.get("/items")

    assert [response.status_code for response in allowed] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
    assert_problem(limited, 429)
    headers = limited.headers
    assert 0 < int(headers["retry-after"]) <= 60
    assert headers["x-ratelimit-limit"] == "3"
    assert headers["x-ratelimit-remaining"] == "0"
    assert 0 < int(headers["x-ratelimit-reset"]) - time.time() <= 61
    assert headers["ratelimit-policy"] == '"burst";q=3;w=60'
    assert headers["ratelimit"] == f'"burst";r=0;t={headers["retry-after"]}'


def test_burst_window_resets(serve: Serve) -> None:
    faults = FaultSettings(burst_429=2, burst_window=0.3)
    with serve(faults=faults) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        assert statuses(client, 3) == [200, 200, 429]
        time.sleep(0.35)
        assert statuses(client, 3) == [200, 200, 429]


def test_faults_apply_to_writes(serve: Serve) -> None:
    # A failed create must not have happened: the fault answers before the app runs.
    with (
        serve(faults=FaultSettings(fail_first=1)) as url,
        httpx.Client(base_url=url, timeout=TIMEOUT) as client,
    ):
        assert_problem(client.post("/items", json={"name": "x"}), 503)
        assert client.get("/items").json()["items"] == []
