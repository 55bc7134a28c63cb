"""Listing with cursors: walk the collection by following Link headers only."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, create


def links(response: httpx.Response) -> dict[str, str]:
    return {str(link["rel"]): str(link["url"]) for link in response.links.values()}


@pytest.mark.parametrize("limit", [1, 3, 7, 20])
def test_walk_follows_next_links_to_the_end(client: httpx.Client, limit: int) -> None:
    ids = [create(client, name=f"item {n}").json()["id"] for n in range(7)]

    seen: list[int] = []
    pages = 0
    url: str | None = f"/items?limit={limit}"
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200
        pages += 1
        assert pages <= len(ids) + 1, "the walk does not end"
        seen += [item["id"] for item in page.json()["items"]]
        assert len(page.json()["items"]) <= limit
        url = links(page).get("next")
        assert (url is None) == (page.json()["next_cursor"] is None)
        assert links(page)["first"] == f"{client.base_url}/items?limit={limit}"

    assert seen == ids
    assert pages == -(-len(ids) // limit)  # no empty last page: the server looks ahead


def test_links_are_absolute(client: httpx.Client) -> None:
    for _ in range(3):
        create(client)

    page = client.get("/items?limit=2")

    assert links(page)["next"].startswith(f"{client.base_url}/items?")
    assert "cursor=" in links(page)["next"]


def test_empty_collection(client: httpx.Client) -> None:
    page = client.get("/items")

    assert page.json() == {"items": [], "next_cursor": None}
    assert set(links(page)) == {"first"}


def test_items_created_during_a_walk_are_not_skipped(client: httpx.Client) -> None:
    ids = [create(client).json()["id"] for _ in range(3)]
    page = client.get("/items?limit=2")
    ids.append(create(client).json()["id"])

    rest = client.get(links(page)["next"])

    assert [item["id"] for item in page.json()["items"]] == ids[:2]
    assert [item["id"] for item in rest.json()["items"]] == ids[2:]


def test_limit_defaults_and_is_clamped(serve: Serve) -> None:
    settings = {"page_size_default": 2, "page_size_max": 3}
    with serve(**settings) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for _ in range(5):
            create(client)
        assert len(client.get("/items").json()["items"]) == 2
        clamped = client.get("/items?limit=1000")
        assert len(clamped.json()["items"]) == 3
        assert "limit=3" in links(clamped)["next"]
