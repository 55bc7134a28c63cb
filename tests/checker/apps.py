"""Small REST apps for judging the checker: one plain conforming API and its faulty variants.

``items_app()`` is a minimal in-memory ``/items`` API that keeps the contract the checker
judges, without the optional extras (no ETags, no Idempotency-Key, no listing). Each flag
breaks it in one deliberate way. ``html_app`` and ``slow_app`` answer garbage, or too late.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.responses import HTMLResponse, JSONResponse, Response


def items_app(
    *,
    create_status: int = 201,
    with_patch: bool = True,
    crash_on_bad_json: bool = False,
    accept_arrays: bool = False,
    garbled_reads: bool = False,
    location_origin: str = "",
) -> FastAPI:
    """A minimal ``/items`` API; the keyword arguments make it non-conforming."""
    app = FastAPI()
    items: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def read_body(request: Request) -> Any:
        raw = await request.body()
        if crash_on_bad_json:
            return json.loads(raw)  # a JSONDecodeError escapes: 500
        try:
            return json.loads(raw)
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None

    def fields(data: Any) -> dict[str, Any]:
        if accept_arrays and isinstance(data, list):
            return {"name": "from an array", "values": data}
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise HTTPException(422, "an item needs a name")
        return {k: v for k, v in data.items() if k != "id"}

    def find(item_id: int) -> dict[str, Any]:
        if item_id not in items:
            raise HTTPException(404, "no such item")
        return items[item_id]

    @app.post("/items")
    async def create(request: Request) -> Response:
        data = fields(await read_body(request))
        item_id = next(ids)
        items[item_id] = {"id": item_id, **data}
        location = f"{location_origin}/items/{item_id}"
        headers = {"Location": location} if create_status == 201 else {}
        return JSONResponse(items[item_id], status_code=create_status, headers=headers)

    methods = ["GET", "HEAD", "PUT", "DELETE"] + (["PATCH"] if with_patch else [])

    # One route for every method of an item, so Starlette's 405 lists them all in Allow.
    @app.api_route("/items/{item_id}", methods=methods)
    async def item(item_id: int, request: Request) -> Response:
        current = find(item_id)
        if request.method in ("GET", "HEAD"):
            if garbled_reads:  # says JSON, is not
                return Response(b'{"id": 1, "name": ', media_type="application/json")
            return JSONResponse(current)
        if request.method == "DELETE":
            del items[item_id]
            return Response(status_code=204)
        data = await read_body(request)
        if request.method == "PUT":
            items[item_id] = {"id": item_id, **fields(data)}
        else:
            if not isinstance(data, dict):
                raise HTTPException(422, "a merge patch is an object")
            merged = {k: v for k, v in current.items() if k not in data}
            merged.update({k: v for k, v in data.items() if v is not None and k != "id"})
            items[item_id] = merged
        return JSONResponse(items[item_id])

    return app


def html_app() -> FastAPI:
    """Answers every request with a 200 HTML page."""
    app = FastAPI()
    page = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>"

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def anything(path: str) -> Response:
        return HTMLResponse(page)

    return app


def slow_app(delay: float) -> FastAPI:
    """Answers every request correctly-looking, but only after ``delay`` seconds."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
    async def anything(path: str) -> Response:
        await asyncio.sleep(delay)
        return JSONResponse({"id": 1, "name": "late"}, status_code=201)

    return app
