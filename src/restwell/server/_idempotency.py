"""``Idempotency-Key`` handling: claim a key, write and record the response atomically, replay.

The life of a key, scoped by (key, method, path):

1. *Claim*: a marker row (no response yet, a random owner token) is committed before the write,
   so concurrent requests with the same key see it and get 409 instead of writing twice.
2. *Complete*: the response is recorded in the same transaction as the write itself, guarded by
   the owner token; either both commit or neither does.
3. *Replay*: later requests with the key and the same fingerprint get the recorded response.

Only successful writes are recorded; a request that fails (404, 412, 422, a crash) releases its
marker so the client can retry with the same key. A marker whose request died without releasing
it (the process was killed) is taken over once it is older than the in-flight timeout. Rows
expire after the TTL and are purged whenever a key is claimed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from restwell.server._db import Database, idempotency_keys
from restwell.server._http import ProblemError

MAX_KEY_LENGTH = 255
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True)
class Outcome:
    """A response as recorded for replay."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self, *, replayed: bool = False) -> Response:
        """Render as a response; a replay is marked with ``Idempotent-Replayed: true``."""
        headers = dict(self.headers)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(self.body, self.status, headers=headers)


@dataclass(frozen=True)
class Claim:
    """The right, held by one request, to perform the write for a key."""

    key: str
    method: str
    path: str
    owner: str


def fingerprint(method: str, path: str, body: Any) -> str:
    """Identify a request's intent: the same key with another fingerprint is a client error.

    The body is the decoded JSON, so key order and whitespace do not matter.
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class IdempotencyStore:
    """Idempotency keys stored next to the items, in the same database."""

    def __init__(
        self,
        db: Database,
        *,
        ttl: float,
        in_flight_timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._in_flight_timeout = in_flight_timeout
        self._clock = clock

    def claim(self, key: str, method: str, path: str, digest: str) -> Claim | Outcome:
        """Claim ``key`` for a request, or find the response recorded for it.

        Args:
            key: The ``Idempotency-Key`` value.
            method: The request method.
            path: The request path.
            digest: The request's `fingerprint`.

        Returns:
            A `Claim` when this request must perform the write, or the recorded `Outcome` of
            the first request with this key.

        Raises:
            ProblemError: 422 when the key was used for a different request, 409 while the first
                request with the key is still in flight.
        """
        now = self._clock()
        pk = _row_of(key, method, path)
        for _ in range(_CLAIM_ATTEMPTS):
            owner = secrets.token_hex(16)
            try:
                with self._db.write() as conn:
                    conn.execute(
                        delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
                    )
                    conn.execute(
                        insert(idempotency_keys).values(
                            key=key,
                            method=method,
                            path=path,
                            fingerprint=digest,
                            owner=owner,
                            started_at=now,
                            expires_at=now + self._ttl,
                        )
                    )
                return Claim(key, method, path, owner)
            except IntegrityError:
                pass  # the key exists: look at it below
            with self._db.write() as conn:
                row = conn.execute(select(idempotency_keys).where(pk)).one_or_none()
                if row is None:
                    continue  # released or purged since: claim again
                if row.fingerprint != digest:
                    raise ProblemError(
                        422,
                        "this Idempotency-Key was already used for a different request "
                        "(method, path or body differ)",
                    )
                if row.status is not None:
                    return Outcome(row.status, row.body, row.headers)
                if now - row.started_at < self._in_flight_timeout:
                    raise ProblemError(
                        409,
                        "a request with this Idempotency-Key is still in progress",
                        headers={"Retry-After": "1"},
                    )
                # The first request died without releasing its marker: take the key over.
                taken = conn.execute(
                    update(idempotency_keys)
                    .where(pk & (idempotency_keys.c.owner == row.owner))
                    .values(owner=owner, started_at=now)
                )
                if taken.rowcount == 1:
                    return Claim(key, method, path, owner)
        raise ProblemError(
            409, "this Idempotency-Key is contended; retry", headers={"Retry-After": "1"}
        )

    def complete(self, conn: Connection, claim: Claim, outcome: Outcome) -> None:
        """Record ``outcome`` for ``claim`` inside the write's own transaction.

        Raises:
            ProblemError: 409 when the claim was taken over meanwhile; the caller's transaction
                must then roll back, so the write is not applied twice.
        """
        result = conn.execute(
            update(idempotency_keys)
            .where(_held_by(claim))
            .values(status=outcome.status, headers=dict(outcome.headers), body=outcome.body)
        )
        if result.rowcount != 1:
            raise ProblemError(
                409,
                "this request took too long and its Idempotency-Key was taken over by a retry",
                headers={"Retry-After": "1"},
            )

    def release(self, claim: Claim) -> None:
        """Give up an unfinished claim so the key can be used again."""
        with self._db.write() as conn:
            conn.execute(delete(idempotency_keys).where(_held_by(claim)))


def _row_of(key: str, method: str, path: str) -> ColumnElement[bool]:
    columns = idempotency_keys.c
    return (columns.key == key) & (columns.method == method) & (columns.path == path)


def _held_by(claim: Claim) -> ColumnElement[bool]:
    """The claim's row, while it is still in flight and owned by the claim."""
    columns = idempotency_keys.c
    return (
        _row_of(claim.key, claim.method, claim.path)
        & (columns.owner == claim.owner)
        & columns.status.is_(None)
    )
