"""Streamed bodies and body size limits."""

from __future__ import annotations

import json

import pytest

from restwell.errors import BodyTooLarge, StreamNotRead
from tests.drivers import DriverFactory
from tests.origin import Origin, body_bytes

pytestmark = pytest.mark.needs("stream")


def test_stream_yields_the_whole_body_in_chunks(make_client: DriverFactory) -> None:
    client = make_client()
    response, chunks = client.stream_bytes("GET", "/bytes?n=1000000", chunk_size=65536)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert b"".join(chunks) == body_bytes(1_000_000)
    assert len(chunks) >= 1_000_000 // 65536
    assert all(0 < len(chunk) <= 65536 for chunk in chunks)


def test_streamed_body_is_not_preloaded(make_client: DriverFactory) -> None:
    client = make_client()
    response, chunks = client.stream_bytes("GET", "/bytes?n=1000", max_chunks=0)
    assert chunks == []
    with pytest.raises(StreamNotRead):
        _ = response.content


def test_stream_is_retried_before_the_body_is_handed_over(
    make_client: DriverFactory, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    client = make_client()
    response, chunks = client.stream_bytes("GET", f"/flaky/{key}?fail=2")
    assert (response.status_code, response.attempts, origin.hits(key)) == (200, 3, 3)
    assert json.loads(b"".join(chunks)) == {"attempts": 3}


def test_fully_read_stream_gives_its_connection_back(make_client: DriverFactory, key: str) -> None:
    client = make_client()
    _, chunks = client.stream_bytes("GET", f"/conn/{key}")
    first = json.loads(b"".join(chunks))["connection"]
    assert client.request_json("GET", f"/conn/{key}")["connection"] == first


def test_abandoned_stream_does_not_poison_the_pool(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    # The body arrives in two parts; the caller stops after the first. The connection still
    # carries the rest, so it must be closed, not reused for the next request.
    client = make_client(timeout=(2, 2), retry=None)
    _, chunks = client.stream_bytes(
        "GET", "/trickle?n=100000&first=64&pause=0.2", chunk_size=64, max_chunks=1
    )
    assert chunks == [body_bytes(64)]
    echoed = client.request_json("POST", f"/echo/{key}", json={"after": "stream"})
    assert echoed["body"] == '{"after":"stream"}'
    assert origin.hits(key) == 1


def test_max_body_size_rejects_a_larger_body(make_client: DriverFactory) -> None:
    client = make_client(max_body_size=1000)
    assert client.request("GET", "/bytes?n=1000").content == body_bytes(1000)
    with pytest.raises(BodyTooLarge, match="response body over 1000 bytes"):
        client.request("GET", "/bytes?n=1001")
    with pytest.raises(BodyTooLarge):
        client.request("GET", "/bytes?n=1000000")
    # The client is still usable afterwards.
    assert client.request_json("GET", "/ok") == {"ok": True}


def test_max_body_size_counts_the_whole_body_not_the_first_read(
    make_client: DriverFactory,
) -> None:
    # The body arrives in two parts: the limit must hold across both.
    client = make_client(max_body_size=5000, timeout=(2, 2))
    with pytest.raises(BodyTooLarge):
        client.request("GET", "/trickle?n=100000&first=100&pause=0.05")
    assert len(client.request("GET", "/trickle?n=5000&first=100&pause=0.05").content) == 5000


def test_a_body_over_max_body_size_closes_its_connection(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    client = make_client(max_body_size=1000)
    pooled = client.request_json("GET", f"/conn/{key}")["connection"]
    with pytest.raises(BodyTooLarge) as info:
        client.request("GET", "/bytes?n=1000000")  # on the pooled connection, left mid-body
    # Closed now, while the error (and its traceback, as a logger would keep it) is alive:
    # not when garbage collection gets round to it.
    assert origin.wait_closed(pooled, timeout=2)
    assert info.value.__traceback__ is not None
