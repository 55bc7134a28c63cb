"""restwell's reference REST API: ``/items`` with the whole HTTP contract, and fault injection.

Run it with `run` (foreground) or `serve_in_thread` (tests, tools), or mount `create_app` in any
ASGI server. SQLite by default, PostgreSQL (or any SQLAlchemy database) by ``DATABASE_URL``.

The contract:

- ``POST /items`` creates (201, ``Location``, ``ETag``); ``GET``/``HEAD /items/{id}`` reads;
  ``PUT`` replaces (no create by PUT); ``PATCH`` applies an RFC 7396 merge patch
  (``application/merge-patch+json`` or ``application/json``); ``DELETE`` gives 204, then 404.
- ``GET /items?limit=N`` lists in creation order; follow ``Link: <...>; rel="next"`` (also in
  the body as ``next_cursor``) until it is absent.
- Strong ``ETag`` on every representation: ``If-None-Match`` gives 304 on reads, ``If-Match``
  gives 412 on stale writes; the check and the write are one database transaction.
- ``Idempotency-Key`` on POST and PATCH: a repeat replays the first response (with
  ``Idempotent-Replayed: true``), the key with another body is 422, a concurrent repeat 409.
- Every error is ``application/problem+json`` (RFC 9457); bad input is never a 5xx.
"""

from restwell.server._app import create_app
from restwell.server._model import SAMPLE_ITEM, Item, ItemIn, ItemPage
from restwell.server._run import run, serve_in_thread
from restwell.server._settings import FaultSettings, ServerSettings

__all__ = [
    "SAMPLE_ITEM",
    "FaultSettings",
    "Item",
    "ItemIn",
    "ItemPage",
    "ServerSettings",
    "create_app",
    "run",
    "serve_in_thread",
]
