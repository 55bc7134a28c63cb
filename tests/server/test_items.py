"""The resource lifecycle: create, read, replace, merge-patch, delete, and the methods around."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from restwell.server import SAMPLE_ITEM, ItemIn
from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, assert_problem, create

DEFAULTS: dict[str, Any] = {"description": None, "price": None, "tags": []}


def test_sample_item_is_valid() -> None:
    assert ItemIn.model_validate(SAMPLE_ITEM).model_dump() == SAMPLE_ITEM


def test_create_then_read(client: httpx.Client) -> None:
    created = client.post("/items", json=SAMPLE_ITEM)

    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    body = created.json()
    assert body == {"id": body["id"], **SAMPLE_ITEM}
    assert created.headers["location"] == f"{client.base_url}/items/{body['id']}"
    read = client.get(created.headers["location"])
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["etag"] == created.headers["etag"]
    assert read.headers["etag"].startswith('"')  # strong


def test_ids_are_distinct_and_not_reused(client: httpx.Client) -> None:
    first = create(client).json()["id"]
    second = create(client).json()["id"]
    client.delete(f"/items/{second}")

    third = create(client).json()["id"]

    assert len({first, second, third}) == 3


def test_put_replaces_whole_item(client: httpx.Client) -> None:
    location = create(client, **SAMPLE_ITEM).headers["location"]

    replaced = client.put(location, json={"name": "renamed"})

    assert replaced.status_code == 200
    assert replaced.json() == {"id": replaced.json()["id"], "name": "renamed", **DEFAULTS}
    assert client.get(location).json() == replaced.json()


def test_put_accepts_the_representation_it_read(client: httpx.Client) -> None:
    location = create(client, **SAMPLE_ITEM).headers["location"]
    read = client.get(location).json()

    replaced = client.put(location, json={**read, "price": 1.5})

    assert replaced.status_code == 200
    assert replaced.json() == {**read, "price": 1.5}


def test_put_cannot_change_the_id(client: httpx.Client) -> None:
    item = create(client).json()

    response = client.put(f"/items/{item['id']}", json={"id": item["id"] + 1, "name": "x"})

    errors = assert_problem(response, 422)["errors"]
    assert [error["pointer"] for error in errors] == ["#/id"]


def test_put_does_not_create(client: httpx.Client) -> None:
    assert_problem(client.put("/items/12345", json={"name": "new"}), 404)
    assert_problem(client.get("/items/12345"), 404)


@pytest.mark.parametrize(
    ("content_type", "patch", "expected"),
    [
        ("application/merge-patch+json", {"price": 2.5}, {**SAMPLE_ITEM, "price": 2.5}),
        ("application/json", {"tags": ["only"]}, {**SAMPLE_ITEM, "tags": ["only"]}),
        (
            "application/merge-patch+json; charset=utf-8",
            {"description": None, "price": None, "tags": None},
            {"name": SAMPLE_ITEM["name"], **DEFAULTS},
        ),
        ("application/merge-patch+json", {}, SAMPLE_ITEM),
    ],
)
def test_patch_merges(
    client: httpx.Client, content_type: str, patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    location = create(client, **SAMPLE_ITEM).headers["location"]

    patched = client.patch(
        location, content=json.dumps(patch), headers={"content-type": content_type}
    )

    assert patched.status_code == 200, patched.text
    assert patched.json() == {"id": patched.json()["id"], **expected}
    assert client.get(location).json() == patched.json()
    assert client.get(location).headers["etag"] == patched.headers["etag"]


def test_patch_validates_the_merged_item(client: httpx.Client) -> None:
    location = create(client, **SAMPLE_ITEM).headers["location"]

    response = client.patch(location, json={"name": None, "price": -1})

    errors = assert_problem(response, 422)["errors"]
    assert sorted(error["pointer"] for error in errors) == ["#/name", "#/price"]
    assert client.get(location).json()["price"] == SAMPLE_ITEM["price"]


def test_delete_then_everything_is_404(client: httpx.Client) -> None:
    location = create(client).headers["location"]

    deleted = client.delete(location)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_problem(client.get(location), 404)
    assert_problem(client.put(location, json={"name": "x"}), 404)
    assert_problem(client.patch(location, json={"name": "x"}), 404)
    assert_problem(client.delete(location), 404)
    assert client.head(location).status_code == 404


@pytest.mark.parametrize(
    "path", ["/items/0", "/items/abc", "/items/-1", f"/items/{2**70}", "/nope"]
)
def test_unknown_paths_are_404_problems(client: httpx.Client, path: str) -> None:
    assert_problem(client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/items/1", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
        ("TRACE", "/items/1", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
        ("PUT", "/items", "GET, HEAD, POST, OPTIONS"),
        ("PATCH", "/items", "GET, HEAD, POST, OPTIONS"),
        ("DELETE", "/items", "GET, HEAD, POST, OPTIONS"),
    ],
)
def test_unsupported_method_is_405_with_allow(
    client: httpx.Client, method: str, path: str, allow: str
) -> None:
    create(client)

    response = client.request(method, path, json={"name": "x"})

    assert_problem(response, 405)
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/items", "GET, HEAD, POST, OPTIONS"),
        ("/items/1", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
    ],
)
def test_options_lists_methods(client: httpx.Client, path: str, allow: str) -> None:
    response = client.options(path)

    assert response.status_code == 204
    assert response.headers["allow"] == allow
    if "PATCH" in allow:
        assert response.headers["accept-patch"] == (
            "application/merge-patch+json, application/json"
        )


@pytest.mark.parametrize("path", ["/items/{id}", "/items", "/items?limit=1"])
def test_head_is_get_without_body(client: httpx.Client, path: str) -> None:
    item_id = create(client, **SAMPLE_ITEM).json()["id"]
    url = path.format(id=item_id)

    get, head = client.get(url), client.head(url)

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    for name in ("etag", "content-length", "content-type", "cache-control", "link"):
        assert head.headers.get(name) == get.headers.get(name), name
    assert int(head.headers["content-length"]) == len(get.content)


def test_openapi_and_docs(client: httpx.Client) -> None:
    spec = client.get("/openapi.json")

    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert set(paths["/items"]) >= {"get", "post"}
    assert set(paths["/items/{item_id}"]) >= {"get", "put", "patch", "delete"}
    assert (
        "application/merge-patch+json"
        in paths["/items/{item_id}"]["patch"]["requestBody"]["content"]
    )
    assert client.get("/docs").status_code == 200


def test_data_survives_a_restart(serve: Serve) -> None:
    with serve() as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        created = create(client, **SAMPLE_ITEM)

    with serve() as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        read = client.get(f"/items/{created.json()['id']}")
        assert read.status_code == 200
        assert read.json() == created.json()
        assert read.headers["etag"] == created.headers["etag"]


def test_server_failure_is_a_500_problem(serve: Serve, database_url: str) -> None:
    with serve() as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE items"))
        engine.dispose()

        response = client.get("/items")

        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 500
