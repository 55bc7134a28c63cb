"""Concurrent writers: If-Match makes read-modify-write safe, and nothing is lost."""

from __future__ import annotations

import random

import anyio
import httpx
import pytest

from tests.server.helpers import TIMEOUT

UPDATERS = 100


@pytest.mark.anyio
async def test_if_match_updaters_lose_nothing(base_url: str) -> None:
    limits = httpx.Limits(max_connections=UPDATERS)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits) as client:
        created = await client.post("/items", json={"name": "counter", "price": 0})
        location = created.headers["location"]
        conflicts = 0

        async def increment(use_put: bool) -> None:
            nonlocal conflicts
            for attempt in range(200):
                read = await client.get(location)
                item = read.json()
                item["price"] += 1
                headers = {"If-Match": read.headers["etag"]}
                if use_put:
                    response = await client.put(location, json=item, headers=headers)
                else:
                    response = await client.patch(
                        location, json={"price": item["price"]}, headers=headers
                    )
                if response.status_code == 200:
                    return
                assert response.status_code == 412, response.text
                conflicts += 1
                # Back off with full jitter, so 100 writers on one row converge quickly.
                await anyio.sleep(random.uniform(0, 0.2 * 2 ** min(attempt, 2)))
            pytest.fail("an updater never got its write in")

        with anyio.fail_after(90):
            async with anyio.create_task_group() as group:
                for n in range(UPDATERS):
                    group.start_soon(increment, n % 2 == 0)

        final = (await client.get(location)).json()

    assert final["price"] == UPDATERS
    assert conflicts > 0  # the test did exercise contention


@pytest.mark.anyio
async def test_concurrent_merge_patches_keep_each_others_fields(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as client:
        location = (await client.post("/items", json={"name": "shared"})).headers["location"]

        async def patch(n: int) -> None:
            field = {"description": f"d{n}"} if n % 2 else {"price": float(n)}
            response = await client.patch(location, json=field)
            assert response.status_code == 200, response.text

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                for n in range(40):
                    group.start_soon(patch, n)

        final = (await client.get(location)).json()

    # Each patch merges into the latest state; a merge on a stale read would have written a
    # field back to null.
    assert final["description"] is not None
    assert final["price"] is not None
