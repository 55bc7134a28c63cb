"""Strong ETags, conditional reads (304) and writes (412), and Cache-Control."""

from __future__ import annotations

import httpx
import pytest

from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, assert_problem, create


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", "*", '"other", {etag}', '"other",{etag} , "more"', "W/{etag}"],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_matching_if_none_match_is_304(
    client: httpx.Client, method: str, if_none_match: str
) -> None:
    location = create(client).headers["location"]
    etag = client.get(location).headers["etag"]

    response = client.request(
        method, location, headers={"If-None-Match": if_none_match.format(etag=etag)}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "max-age=0, must-revalidate"


@pytest.mark.parametrize("if_none_match", ['"other"', '"a", "b"', "garbage", ""])
def test_other_if_none_match_is_200(client: httpx.Client, if_none_match: str) -> None:
    location = create(client).headers["location"]

    response = client.get(location, headers={"If-None-Match": if_none_match})

    assert response.status_code == 200
    assert response.json()["name"] == "item"


def test_etag_changes_with_the_representation(client: httpx.Client) -> None:
    created = create(client)
    location, etag = created.headers["location"], created.headers["etag"]

    patched = client.patch(location, json={"price": 3.0})

    assert patched.headers["etag"] != etag
    assert client.get(location, headers={"If-None-Match": etag}).status_code == 200
    assert (
        client.get(location, headers={"If-None-Match": patched.headers["etag"]}).status_code == 304
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_if_match_is_412_and_changes_nothing(client: httpx.Client, method: str) -> None:
    created = create(client)
    location, stale = created.headers["location"], created.headers["etag"]
    client.patch(location, json={"price": 1.0})
    current = client.get(location)

    response = client.request(method, location, json={"name": "lost"}, headers={"If-Match": stale})

    assert_problem(response, 412)
    assert client.get(location).json() == current.json()


@pytest.mark.parametrize("if_match", ["{etag}", "*", '"other", {etag}'])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_current_if_match_writes(client: httpx.Client, method: str, if_match: str) -> None:
    created = create(client)
    location, etag = created.headers["location"], created.headers["etag"]

    response = client.request(
        method, location, json={"name": "new"}, headers={"If-Match": if_match.format(etag=etag)}
    )

    assert response.status_code == (204 if method == "DELETE" else 200), response.text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_weak_etag_never_matches_if_match(client: httpx.Client, method: str) -> None:
    created = create(client)
    location, etag = created.headers["location"], created.headers["etag"]

    response = client.request(
        method, location, json={"name": "x"}, headers={"If-Match": f"W/{etag}"}
    )

    assert_problem(response, 412)


def test_if_match_on_a_missing_item_is_404(client: httpx.Client) -> None:
    response = client.put("/items/424242", json={"name": "x"}, headers={"If-Match": "*"})

    assert_problem(response, 404)


@pytest.mark.parametrize("if_none_match", ["*", "{etag}"])
def test_if_none_match_on_a_write_is_412(client: httpx.Client, if_none_match: str) -> None:
    created = create(client)
    location, etag = created.headers["location"], created.headers["etag"]

    response = client.put(
        location, json={"name": "x"}, headers={"If-None-Match": if_none_match.format(etag=etag)}
    )

    assert_problem(response, 412)
    assert client.get(location).json()["name"] == "item"


def test_list_pages_have_etags(client: httpx.Client) -> None:
    create(client)
    page = client.get("/items")
    etag = page.headers["etag"]

    assert client.get("/items", headers={"If-None-Match": etag}).status_code == 304
    create(client)
    changed = client.get("/items", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.headers["cache-control"] == "max-age=0, must-revalidate"


def test_cache_max_age_is_configurable(serve: Serve) -> None:
    with serve(cache_max_age=60) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        location = create(client).headers["location"]
        assert client.get(location).headers["cache-control"] == "max-age=60"
        assert client.get("/items").headers["cache-control"] == "max-age=60"
