"""Assertions and small steps shared by the server tests."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT = httpx.Timeout(10.0)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check ``response`` is an RFC 9457 problem with ``status``; return the document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["type"] == "about:blank"
    assert document["title"]
    assert document["detail"]
    assert document["instance"] == response.request.url.path
    return document


def create(client: httpx.Client, **fields: Any) -> httpx.Response:
    """POST an item (a valid one unless ``fields`` say otherwise) and check it was created."""
    response = client.post("/items", json={"name": "item", **fields})
    assert response.status_code == 201, response.text
    return response
