"""Idempotency-Key on POST and PATCH: one write per key, replays, conflicts, expiry."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import create_engine, insert

from restwell.server._db import idempotency_keys
from restwell.server._idempotency import fingerprint
from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, assert_problem, create

REPLAYED_HEADERS = ("content-type", "location", "etag")


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def count_items(client: httpx.Client) -> int:
    return len(client.get("/items?limit=100").json()["items"])


def test_post_replay_returns_the_first_response(client: httpx.Client) -> None:
    first = client.post("/items", json={"name": "once"}, headers=keyed("k-1"))
    # The same JSON written differently is the same request.
    again = client.post(
        "/items",
        content=b'{ "name" :"once" }',
        headers={**keyed("k-1"), "content-type": "application/json"},
    )

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    for name in REPLAYED_HEADERS:
        assert again.headers[name] == first.headers[name]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_items(client) == 1


def test_quoted_key_is_the_same_key(client: httpx.Client) -> None:
    first = client.post("/items", json={"name": "once"}, headers=keyed("abc"))
    again = client.post("/items", json={"name": "once"}, headers=keyed('"abc"'))

    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize("other", [{"name": "twice"}, {"name": "once", "price": 1.0}])
def test_same_key_other_body_is_422(client: httpx.Client, other: dict[str, Any]) -> None:
    client.post("/items", json={"name": "once"}, headers=keyed("k-2"))

    response = client.post("/items", json=other, headers=keyed("k-2"))

    assert_problem(response, 422)
    assert count_items(client) == 1


def test_keys_are_scoped_by_method_and_path(client: httpx.Client) -> None:
    one = create(client).headers["location"]
    two = create(client).headers["location"]

    responses = [
        client.post("/items", json={"price": 1.0, "name": "n"}, headers=keyed("shared")),
        client.patch(one, json={"price": 1.0}, headers=keyed("shared")),
        client.patch(two, json={"price": 1.0}, headers=keyed("shared")),
    ]

    assert [response.status_code for response in responses] == [201, 200, 200]
    assert all("idempotent-replayed" not in response.headers for response in responses)


def test_patch_replay_does_not_apply_again(client: httpx.Client) -> None:
    location = create(client, tags=["a"]).headers["location"]
    first = client.patch(location, json={"tags": ["b"]}, headers=keyed("p-1"))
    client.patch(location, json={"tags": ["c"]})

    again = client.patch(location, json={"tags": ["b"]}, headers=keyed("p-1"))

    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get(location).json()["tags"] == ["c"]


def test_failed_request_releases_its_key(client: httpx.Client) -> None:
    created = create(client)
    location, etag = created.headers["location"], created.headers["etag"]
    client.patch(location, json={"price": 1.0})

    stale = client.patch(location, json={"price": 2.0}, headers={**keyed("r"), "If-Match": etag})
    fresh_etag = client.get(location).headers["etag"]
    retried = client.patch(
        location, json={"price": 2.0}, headers={**keyed("r"), "If-Match": fresh_etag}
    )

    assert_problem(stale, 412)
    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["price"] == 2.0


def test_keys_expire(serve: Serve) -> None:
    with serve(idempotency_ttl=0.3) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        first = client.post("/items", json={"name": "x"}, headers=keyed("ttl"))
        time.sleep(0.4)
        again = client.post("/items", json={"name": "x"}, headers=keyed("ttl"))

        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["id"] != first.json()["id"]


@pytest.mark.parametrize(("age", "status"), [(0.0, 409), (3600.0, 201)])
def test_in_flight_key(serve: Serve, database_url: str, age: float, status: int) -> None:
    # A marker left by a request that is still running (age 0) blocks the key; one left by a
    # request that died long ago is taken over.
    with serve() as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(
                insert(idempotency_keys).values(
                    key="busy",
                    method="POST",
                    path="/items",
                    fingerprint=fingerprint("POST", "/items", {"name": "x"}),
                    owner="someone-else",
                    started_at=time.time() - age,
                    expires_at=time.time() + 3600,
                )
            )
        engine.dispose()

        response = client.post("/items", json={"name": "x"}, headers=keyed("busy"))

        assert response.status_code == status, response.text
        if status == 409:
            assert_problem(response, 409)
            assert response.headers["retry-after"] == "1"
            assert count_items(client) == 0
        else:
            replay = client.post("/items", json={"name": "x"}, headers=keyed("busy"))
            assert replay.headers["idempotent-replayed"] == "true"


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_concurrent_requests_with_one_key_write_once(base_url: str, method: str) -> None:
    writers = 24
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client:
        created = await client.post("/items", json={"name": "target", "tags": []})
        path = "/items" if method == "POST" else created.headers["location"]
        body = {"name": "concurrent"} if method == "POST" else {"tags": ["patched"]}
        responses: list[httpx.Response] = []

        async def send() -> None:
            response = await client.request(method, path, json=body, headers=keyed("race"))
            responses.append(response)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for _ in range(writers):
                    group.start_soon(send)

        listing = (await client.get("/items")).json()["items"]

    statuses = sorted(response.status_code for response in responses)
    success = 201 if method == "POST" else 200
    assert set(statuses) <= {success, 409}, statuses
    originals = [
        r for r in responses if r.status_code == success and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1
    for response in responses:
        if response.status_code == success:
            assert response.content == originals[0].content
        else:
            assert_problem(response, 409)
    assert len(listing) == (2 if method == "POST" else 1)
