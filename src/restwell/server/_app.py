"""The FastAPI application: routes for ``/items`` and the HTTP semantics around them."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match, Route

from restwell.server import _db
from restwell.server._faults import FaultInjectionMiddleware
from restwell.server._http import (
    JSON,
    MERGE_PATCH_JSON,
    PROBLEM_JSON,
    ProblemError,
    dump_json,
    if_match_passes,
    if_none_match_matches,
    problem_response,
    strong_etag,
)
from restwell.server._idempotency import MAX_KEY_LENGTH, IdempotencyStore, Outcome, fingerprint
from restwell.server._model import InvalidItem, Item, ItemIn, ItemPage, merge_patch, parse_item
from restwell.server._settings import ServerSettings

_P = ParamSpec("_P")
_R = TypeVar("_R")

# Threads for blocking database work, and so database connections (AnyIO's default too).
_WORKERS = 40

_ITEMS = "/items"
_ITEM = "/items/{item_id:int}"
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PATCH_TYPES = (MERGE_PATCH_JSON, JSON)

# OpenAPI fragments. Request bodies are read by hand (to answer 400/413/415/422 precisely), so
# their schemas are declared here rather than inferred from the signatures.
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "Client error (RFC 9457 problem details)",
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}},
    },
}
_ITEM_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": ItemIn.model_json_schema()}},
    }
}
_PATCH_REQUEST = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "description": "RFC 7396 JSON merge patch of an item: members replace "
                    "fields, null resets a field to its default",
                }
            }
            for media in _PATCH_TYPES
        },
    }
}


def _header_docs(*names: str) -> dict[str, Any]:
    """OpenAPI ``parameters`` for request headers the endpoints read by hand."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": _HEADER_DESCRIPTIONS[name],
            }
            for name in names
        ]
    }


_HEADER_DESCRIPTIONS = {
    "Idempotency-Key": "Makes a retry safe: a repeat with the same key and body replays the "
    f"first response (1 to {MAX_KEY_LENGTH} characters).",
    "If-Match": "Apply only if the item's current ETag is listed (or *), else 412.",
    "If-None-Match": "304 (reads) or 412 (writes) if the current ETag is listed (or *).",
}


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the reference API.

    The database tables are created when the app starts (ASGI lifespan), and the connection
    pool is closed when it stops.

    Args:
        settings: The configuration; `ServerSettings.from_env` when omitted, which makes
            ``uvicorn --factory restwell.server:create_app`` work.

    Returns:
        The FastAPI application, behind fault injection when any fault is configured.

    Raises:
        ValueError: The database URL names an in-memory SQLite database.
    """
    settings = ServerSettings.from_env() if settings is None else settings
    db = _db.Database(_db.create_db_engine(settings.database_url, connections=_WORKERS))

    items = _Items(settings, db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _db.metadata.create_all(db.engine)
        try:
            yield
        finally:
            items.close()
            db.engine.dispose()

    app = FastAPI(
        title="restwell reference API",
        summary="A small REST API that gets HTTP right: ETags, idempotency keys, problems.",
        version="1",
        lifespan=lifespan,
    )
    items.register(app)
    for exc_class in (ProblemError, InvalidItem, HTTPException, RequestValidationError):
        app.add_exception_handler(exc_class, _client_error)
    app.add_exception_handler(Exception, _server_error)
    if settings.faults.enabled:
        app.add_middleware(FaultInjectionMiddleware, faults=settings.faults)
    return app


class _Items:
    """The ``/items`` endpoints and the state they share."""

    def __init__(self, settings: ServerSettings, db: _db.Database) -> None:
        self._settings = settings
        self._db = db
        self._keys = IdempotencyStore(db, ttl=settings.idempotency_ttl)
        # Database work blocks, so it runs on threads; owning them (rather than borrowing
        # AnyIO's shared pool) lets `close` wait for every one of them when the app stops.
        self._executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="restwell-server")
        if settings.cache_max_age:
            self._cache_control = f"max-age={settings.cache_max_age}"
        else:
            self._cache_control = "max-age=0, must-revalidate"

    def close(self) -> None:
        """Wait for running work to finish and stop the worker threads."""
        self._executor.shutdown(wait=True)

    async def _blocking(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """Run ``fn`` on a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def register(self, app: FastAPI) -> None:
        """Add the routes to ``app``."""
        add = app.add_api_route
        item = {200: {"model": Item, "description": "The item"}, **_PROBLEMS}
        page = {200: {"model": ItemPage, "description": "A page of items; see Link"}, **_PROBLEMS}
        reads = _header_docs("If-None-Match")
        writes = _header_docs("If-Match", "If-None-Match")
        create = {**_ITEM_REQUEST, **_header_docs("Idempotency-Key")}
        patch = {**_PATCH_REQUEST, **_header_docs("If-Match", "If-None-Match", "Idempotency-Key")}

        add(_ITEMS, self.list_items, methods=["GET"], responses=page, openapi_extra=reads)
        add(
            _ITEMS,
            self.list_items,
            methods=["HEAD"],
            name="head_items",
            responses=_PROBLEMS,
            openapi_extra=reads,
        )
        add(
            _ITEMS,
            self.create_item,
            methods=["POST"],
            status_code=201,
            openapi_extra=create,
            responses={201: {"model": Item, "description": "Created"}, **_PROBLEMS},
        )
        add(_ITEMS, self.options, methods=["OPTIONS"], status_code=204, name="options_items")

        add(_ITEM, self.read_item, methods=["GET"], responses=item, openapi_extra=reads)
        add(
            _ITEM,
            self.read_item,
            methods=["HEAD"],
            name="head_item",
            responses=_PROBLEMS,
            openapi_extra=reads,
        )
        add(
            _ITEM,
            self.replace_item,
            methods=["PUT"],
            responses=item,
            openapi_extra={**_ITEM_REQUEST, **writes},
        )
        add(_ITEM, self.patch_item, methods=["PATCH"], responses=item, openapi_extra=patch)
        add(
            _ITEM,
            self.remove_item,
            methods=["DELETE"],
            status_code=204,
            responses=_PROBLEMS,
            openapi_extra=writes,
        )
        add(_ITEM, self.options, methods=["OPTIONS"], status_code=204, name="options_item")

    # --- endpoints -------------------------------------------------------------------------

    async def list_items(
        self,
        request: Request,
        limit: Annotated[
            int | None, Query(ge=1, description="Page size (clamped to the server's maximum)")
        ] = None,
        cursor: Annotated[
            str | None, Query(description="Opaque position, taken from a rel=next link")
        ] = None,
    ) -> Response:
        """List items in creation order, a page at a time; follow ``Link: rel="next"``."""
        return await self._blocking(self._list, request, limit, cursor)

    async def create_item(self, request: Request) -> Response:
        """Create an item; answers 201 with ``Location``. Honours ``Idempotency-Key``."""
        body = await _read_json(request, (JSON,), self._settings.max_body_bytes)
        return await self._blocking(self._create, request, body)

    async def read_item(self, request: Request, item_id: int) -> Response:
        """Read an item; ``If-None-Match`` gives 304 when the client's copy is current."""
        return await self._blocking(self._read, request, item_id)

    async def replace_item(self, request: Request, item_id: int) -> Response:
        """Replace an item (omitted optional fields reset); ``If-Match`` guards the write."""
        body = await _read_json(request, (JSON,), self._settings.max_body_bytes)
        return await self._blocking(self._replace, request, item_id, body)

    async def patch_item(self, request: Request, item_id: int) -> Response:
        """Apply an RFC 7396 merge patch; honours ``If-Match`` and ``Idempotency-Key``."""
        body = await _read_json(request, _PATCH_TYPES, self._settings.max_body_bytes)
        return await self._blocking(self._patch, request, item_id, body)

    async def remove_item(self, request: Request, item_id: int) -> Response:
        """Delete an item; ``If-Match`` guards the delete."""
        return await self._blocking(self._delete, request, item_id)

    async def options(self, request: Request) -> Response:
        """Describe the methods (and for items, the patch formats) the resource accepts."""
        headers = {"Allow": _allow(request)}
        if "PATCH" in headers["Allow"]:
            headers["Accept-Patch"] = ", ".join(_PATCH_TYPES)
        return Response(status_code=204, headers=headers)

    # --- the work, on a worker thread ------------------------------------------------------

    def _list(self, request: Request, limit: int | None, cursor: str | None) -> Response:
        size = min(limit or self._settings.page_size_default, self._settings.page_size_max)
        after = 0 if cursor is None else _decode_cursor(cursor)
        with self._db.read() as conn:
            rows = _db.list_items(conn, after=after, limit=size + 1)
        next_cursor = _encode_cursor(rows[size - 1].id) if len(rows) > size else None
        body = dump_json(
            {"items": [row.representation() for row in rows[:size]], "next_cursor": next_cursor}
        )
        first = request.url.remove_query_params("cursor").include_query_params(limit=size)
        links = [f'<{first}>; rel="first"']
        if next_cursor is not None:
            links.append(f'<{first.include_query_params(cursor=next_cursor)}>; rel="next"')
        return self._read_response(request, body, {"Link": ", ".join(links)})

    def _read(self, request: Request, item_id: int) -> Response:
        with self._db.read() as conn:
            row = _find(conn, item_id)
        return self._read_response(request, dump_json(row.representation()), {})

    def _delete(self, request: Request, item_id: int) -> Response:
        def delete(conn: Connection) -> Outcome:
            current = _current(conn, request, item_id)
            if not _db.delete_item(conn, current):
                raise _changed_concurrently()
            return Outcome(204, b"")

        return self._write(delete)

    def _create(self, request: Request, body: Any) -> Response:
        item = parse_item(body)

        def create(conn: Connection) -> Outcome:
            row = _db.insert_item(conn, item)
            location = str(request.url_for("read_item", item_id=row.id))
            return _item_outcome(row, 201, {"Location": location})

        return self._keyed_write(request, body, create)

    def _replace(self, request: Request, item_id: int, body: Any) -> Response:
        item = parse_item(body, item_id=item_id)

        def replace(conn: Connection) -> Outcome:
            current = _current(conn, request, item_id)
            written = _db.update_item(conn, current, item)
            if written is None:
                raise _changed_concurrently()
            return _item_outcome(written, 200)

        return self._write(replace)

    def _patch(self, request: Request, item_id: int, patch: Any) -> Response:
        def apply(conn: Connection) -> Outcome:
            current = _current(conn, request, item_id)
            item = parse_item(merge_patch(current.item.model_dump(), patch), item_id=item_id)
            written = _db.update_item(conn, current, item)
            if written is None:
                raise _changed_concurrently()
            return _item_outcome(written, 200)

        return self._keyed_write(request, patch, apply)

    def _write(self, action: Callable[[Connection], Outcome]) -> Response:
        """Run ``action`` in a write transaction."""
        with self._db.write() as conn:
            return action(conn).response()

    def _keyed_write(
        self, request: Request, body: Any, action: Callable[[Connection], Outcome]
    ) -> Response:
        """Run ``action`` like `_write`, at most once per ``Idempotency-Key`` (POST, PATCH)."""
        header = request.headers.get("idempotency-key")
        if header is None:
            return self._write(action)
        key, method, path = _parse_key(header), request.method, request.url.path
        claim = self._keys.claim(key, method, path, fingerprint(method, path, body))
        if isinstance(claim, Outcome):
            return claim.response(replayed=True)
        try:
            with self._db.write() as conn:
                outcome = action(conn)
                self._keys.complete(conn, claim, outcome)
        except BaseException:
            self._keys.release(claim)
            raise
        return outcome.response()

    def _read_response(self, request: Request, body: bytes, headers: dict[str, str]) -> Response:
        """A 200 with validators and caching headers, or 304 when ``If-None-Match`` matches."""
        etag = strong_etag(body)
        headers = {**headers, "ETag": etag, "Cache-Control": self._cache_control}
        if_none_match = request.headers.get("if-none-match")
        # RFC 9110 §13.1.2: GET/HEAD whose If-None-Match matches get 304 with the validators.
        if if_none_match is not None and if_none_match_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        return Response(body, 200, headers=headers, media_type=JSON)


def _find(conn: Connection, item_id: int, *, for_update: bool = False) -> _db.ItemRow:
    row = _db.get_item(conn, item_id, for_update=for_update) if item_id <= _db.MAX_ID else None
    if row is None:
        raise ProblemError(404, f"there is no item {item_id}")
    return row


def _current(conn: Connection, request: Request, item_id: int) -> _db.ItemRow:
    """The item a write targets, locked, once the request's preconditions hold for it.

    A missing item is a 404 whatever the preconditions say (RFC 9110 §13.2.1: they are
    evaluated only when the request would otherwise succeed).
    """
    row = _find(conn, item_id, for_update=True)
    etag = strong_etag(dump_json(row.representation()))
    # RFC 9110 §13.2.2: If-Match first, then If-None-Match.
    if_match = request.headers.get("if-match")
    if if_match is not None and not if_match_passes(if_match, etag):
        raise ProblemError(412, "If-Match does not match the item's current ETag; re-read it")
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and if_none_match_matches(if_none_match, etag):
        raise ProblemError(412, "If-None-Match matches the item's current ETag")
    return row


def _changed_concurrently() -> ProblemError:
    # The row is locked while it is checked and written, so the version guard should always
    # pass; if the database's isolation ever lets a writer slip in, fail safe instead of
    # losing its update.
    return ProblemError(412, "the item changed while this request was being applied; re-read it")


def _item_outcome(row: _db.ItemRow, status: int, headers: dict[str, str] | None = None) -> Outcome:
    body = dump_json(row.representation())
    return Outcome(
        status, body, {"Content-Type": JSON, "ETag": strong_etag(body), **(headers or {})}
    )


async def _read_json(request: Request, accepted: tuple[str, ...], limit: int) -> Any:
    """Read and decode a JSON request body: 415, 413 and 400 problems for the wrong ones."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type not in accepted:
        # RFC 9110 §15.5.16 and RFC 5789 §2.2: say which media types would have worked.
        headers = {"Accept": ", ".join(accepted)}
        if request.method == "PATCH":
            headers["Accept-Patch"] = ", ".join(accepted)
        got = f"not {content_type!r}" if content_type else "and say so in Content-Type"
        raise ProblemError(415, f"send the body as {' or '.join(accepted)}, {got}", headers=headers)
    declared = request.headers.get("content-length", "")
    if _is_decimal(declared) and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():  # also bounds chunked bodies, which declare no length
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise ProblemError(400, f"the body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    # Python's json module accepts NaN and Infinity, which are not JSON (RFC 8259 §6).
    raise ValueError(f"{name} is not a JSON value")


def _too_large(limit: int) -> ProblemError:
    return ProblemError(413, f"the body is larger than {limit} bytes")


def _parse_key(value: str) -> str:
    """The ``Idempotency-Key``: a structured-field string (quoted) by the IETF draft, or bare."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ProblemError(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return key


# Cursors are opaque to clients; inside, the id after which the next page starts.
_CURSOR_PREFIX = "after:"


def _encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{after}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:  # bad base64 (binascii.Error) or bad UTF-8
        text = ""
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not _is_decimal(number) or int(number) > _db.MAX_ID:
        raise ProblemError(400, "invalid cursor; use the Link header's URLs as they are")
    return int(number)


def _is_decimal(text: str) -> bool:
    # str.isdigit() alone also accepts digits such as "²" that int() rejects.
    return text.isascii() and text.isdigit()


def _allow(request: Request) -> str:
    """The methods of every route on the request's path, for ``Allow`` (RFC 9110 §10.2.1)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match is not Match.NONE:
                methods |= route.methods
    return ", ".join(method for method in _METHOD_ORDER if method in methods)


def _client_error(request: Request, exc: Exception) -> Response:
    """Answer every client error, FastAPI's and Starlette's included, as problem details."""
    path = request.url.path
    if isinstance(exc, ProblemError):
        return problem_response(
            exc.status, exc.detail, path, headers=exc.headers, errors=exc.errors
        )
    if isinstance(exc, InvalidItem):
        return problem_response(422, "the body is not a valid item", path, errors=exc.errors)
    if isinstance(exc, RequestValidationError):
        errors = [
            {"parameter": str(err["loc"][-1]), "detail": err["msg"], "type": err["type"]}
            for err in exc.errors()
        ]
        return problem_response(400, "invalid query parameters", path, errors=errors)
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette lists only the first matching route's methods; list them all.
        headers["Allow"] = _allow(request)
        detail = f"{request.method} is not supported here; see the Allow header"
    elif exc.status_code == 404:
        detail = f"there is no resource at {path}"
    else:
        detail = str(exc.detail)
    return problem_response(exc.status_code, detail, path, headers=headers)


def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette re-raises the exception after this, so the server still logs the traceback.
    return problem_response(500, "internal server error", request.url.path)
