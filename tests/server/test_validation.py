"""Bad requests get precise 4xx problem details, never a 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.server import SAMPLE_ITEM
from tests.server.conftest import Serve
from tests.server.helpers import TIMEOUT, assert_problem, create

JSON_TYPE = {"content-type": "application/json"}

MALFORMED = [
    b"",
    b"{",
    b'{"name": "x",}',
    b"{'name': 'x'}",
    b'{"name": NaN}',
    b'{"name": "x", "price": Infinity}',
    b'{"name": "x"} trailing',
    b"\xff\xfe",
    b'{"name": "\xe9"}',  # Latin-1, not UTF-8
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than the parser's recursion limit
    b'{"price": ' + b"9" * 5000 + b"}",  # an integer longer than Python will convert
]

INVALID: list[Any] = [
    [],
    [SAMPLE_ITEM],
    "name",
    42,
    None,
    {},
    {"description": "no name"},
    {"name": ""},
    {"name": "x" * 201},
    {"name": 5},
    {"name": None},
    {"name": "x", "price": -0.01},
    {"name": "x", "price": "12"},
    {"name": "x", "price": True},
    {"name": "x", "tags": "a,b"},
    {"name": "x", "tags": [1]},
    {"name": "x", "tags": [None]},
    {"name": "x", "description": ["a"]},
    {"name": "x", "color": "red"},
    {"name": "x", "id": 7},
    {"name": "nul\u0000byte"},
    {"name": "lone \ud800 surrogate"},
]
# As JSON text; ensure_ascii keeps the lone surrogate as a \ud800 escape, which is valid JSON.
INVALID_TEXTS = [json.dumps(body, ensure_ascii=True) for body in INVALID] + [
    '{"name": "x", "price": 1e400}',  # valid JSON, but not a finite number
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_malformed_json_is_400(client: httpx.Client, method: str, body: bytes) -> None:
    path = "/items" if method == "POST" else create(client).headers["location"]

    response = client.request(method, path, content=body, headers=JSON_TYPE)

    assert_problem(response, 400)


@pytest.mark.parametrize("content", INVALID_TEXTS, ids=range(len(INVALID_TEXTS)))
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_invalid_item_is_422_with_errors(client: httpx.Client, method: str, content: str) -> None:
    path = "/items" if method == "POST" else create(client).headers["location"]
    value = json.loads(content)
    if method == "PATCH" and isinstance(value, dict) and "name" not in value:
        # A merge patch keeps the stored name unless told otherwise.
        content = json.dumps({"name": None, **value}, ensure_ascii=True)

    response = client.request(method, path, content=content, headers=JSON_TYPE)

    errors = assert_problem(response, 422)["errors"]
    assert errors
    for error in errors:
        assert error["pointer"].startswith("#")
        assert error["detail"]


def test_validation_errors_point_at_each_field(client: httpx.Client) -> None:
    response = client.post("/items", json={"price": -1, "tags": [1], "extra": True})

    errors = assert_problem(response, 422)["errors"]
    assert sorted(error["pointer"] for error in errors) == [
        "#/extra",
        "#/name",
        "#/price",
        "#/tags/0",
    ]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_wrong_content_type_is_415(
    client: httpx.Client, method: str, content_type: str | None
) -> None:
    path = "/items" if method == "POST" else create(client).headers["location"]
    headers = {} if content_type is None else {"content-type": content_type}

    response = client.request(method, path, content=b'{"name": "x"}', headers=headers)

    assert_problem(response, 415)
    accepted = (
        "application/merge-patch+json, application/json"
        if method == "PATCH"
        else ("application/json")
    )
    assert response.headers["accept"] == accepted
    if method == "PATCH":
        assert response.headers["accept-patch"] == accepted


def test_merge_patch_type_is_only_for_patch(client: httpx.Client) -> None:
    response = client.post(
        "/items", content=b'{"name": "x"}', headers={"content-type": "application/merge-patch+json"}
    )

    assert_problem(response, 415)


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_the_limit_is_413(serve: Serve, chunked: bool) -> None:
    body = json.dumps({"name": "x", "description": "d" * 2048}).encode()
    content: Any = iter([body]) if chunked else body  # an iterator is sent chunked
    with serve(max_body_bytes=1024) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        assert_problem(client.post("/items", content=content, headers=JSON_TYPE), 413)
        # A body within the limit still works on the same server.
        assert client.post("/items", json={"name": "small"}).status_code == 201


# Cursors that decode to "not-a-cursor", "after:²" and an id beyond 64 bits.
BAD_CURSORS = [
    base64.urlsafe_b64encode(text.encode()).decode()
    for text in ["not-a-cursor", "after:²", f"after:{2**64}"]
]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-1", "limit=abc", "cursor=%%%", *(f"cursor={c}" for c in BAD_CURSORS)],
)
def test_bad_list_parameters_are_400(client: httpx.Client, query: str) -> None:
    assert_problem(client.get(f"/items?{query}"), 400)


@pytest.mark.parametrize("key", ["", '""', "k" * 256])
def test_bad_idempotency_key_is_400(client: httpx.Client, key: str) -> None:
    response = client.post("/items", json={"name": "x"}, headers={"Idempotency-Key": key})

    assert_problem(response, 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "description", "price", "tags", "id", "x"]) | st.text(),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=json_values, method=st.sampled_from(["POST", "PUT", "PATCH"]))
def test_no_json_body_causes_a_server_error(client: httpx.Client, body: Any, method: str) -> None:
    path = "/items" if method == "POST" else create(client).headers["location"]

    response = client.request(
        method, path, content=json.dumps(body, ensure_ascii=False), headers=JSON_TYPE
    )

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
