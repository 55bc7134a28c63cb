"""Persistence: tables, engine setup for SQLite and PostgreSQL, and the item queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    make_url,
    select,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from restwell.server._model import ItemIn

# Ids travel in URLs as decimal integers; anything larger cannot be a stored id (both databases
# use signed 64-bit keys), and passing it to the driver would overflow.
MAX_ID = 2**63 - 1

metadata = MetaData()

items = Table(
    "items",
    metadata,
    # SQLite only auto-assigns ids to an INTEGER PRIMARY KEY; PostgreSQL gets a BIGSERIAL.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text),
    Column("price", Float),
    Column("tags", JSON, nullable=False),
    # Bumped by every write: the compare-and-write guard behind If-Match.
    Column("version", Integer, nullable=False),
    # Never reuse the id of a deleted item: a stale URL must stay a 404.
    sqlite_autoincrement=True,
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("method", String(16), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    # Random token of the request that holds the key while it is in flight.
    Column("owner", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    # NULL while the first request is in flight; then the response to replay.
    Column("status", Integer),
    Column("headers", JSON),
    Column("body", LargeBinary),
)

_WRITE = "restwell_write"
_SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_db_engine(url: str, *, connections: int) -> Engine:
    """Create the engine for ``url``; connections open lazily, tables come from `metadata`.

    Args:
        url: A SQLAlchemy database URL.
        connections: Most connections open at once: one per thread that uses the engine.

    Raises:
        ValueError: ``url`` names an in-memory SQLite database.
    """
    pool = {"pool_size": min(10, connections), "max_overflow": max(0, connections - 10)}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise ValueError("in-memory SQLite is not supported; use a file, e.g. sqlite:///x.db")
        engine = create_engine(parsed, **pool)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # Pre-ping replaces connections that a database restart has closed.
        engine = create_engine(parsed, **pool, pool_pre_ping=True)
    return engine


def _sqlite_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from the sqlite3 module (its legacy mode starts transactions late, on the
    # first write) so _sqlite_begin decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run alongside the single writer; NORMAL sync is durable across process
    # crashes in WAL mode; the busy timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A write transaction that starts as a reader cannot upgrade once another writer has
    # committed (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not retry), so writers take
    # the write lock up front and wait their turn.
    write = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Transactions over the engine: many concurrent readers, serialized compare-and-writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits normally."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn


@dataclass(frozen=True)
class ItemRow:
    """A stored item and its version."""

    id: int
    version: int
    item: ItemIn

    def representation(self) -> dict[str, Any]:
        """The JSON representation: ``id`` followed by the item's fields."""
        return {"id": self.id, **self.item.model_dump()}


def _row(row: Any) -> ItemRow:
    return ItemRow(
        id=row.id,
        version=row.version,
        item=ItemIn.model_construct(
            name=row.name, description=row.description, price=row.price, tags=row.tags
        ),
    )


def get_item(conn: Connection, item_id: int, *, for_update: bool = False) -> ItemRow | None:
    """Read one item; ``for_update`` locks the row until the transaction ends (PostgreSQL)."""
    query = select(items).where(items.c.id == item_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    return None if row is None else _row(row)


def list_items(conn: Connection, *, after: int, limit: int) -> list[ItemRow]:
    """Items with ``id > after`` in id order, at most ``limit`` of them (keyset pagination)."""
    query = select(items).where(items.c.id > after).order_by(items.c.id).limit(limit)
    return [_row(row) for row in conn.execute(query)]


def insert_item(conn: Connection, item: ItemIn) -> ItemRow:
    """Store a new item and return it with its assigned id."""
    query = items.insert().values(**item.model_dump(), version=1).returning(items.c.id)
    item_id: int = conn.execute(query).scalar_one()
    return ItemRow(id=item_id, version=1, item=item)


def update_item(conn: Connection, current: ItemRow, item: ItemIn) -> ItemRow | None:
    """Replace ``current`` with ``item`` if it is still at the version that was read.

    Returns:
        The new row, or ``None`` when another writer got there first.
    """
    result = conn.execute(
        items.update()
        .where(items.c.id == current.id, items.c.version == current.version)
        .values(**item.model_dump(), version=current.version + 1)
    )
    if result.rowcount != 1:
        return None
    return ItemRow(id=current.id, version=current.version + 1, item=item)


def delete_item(conn: Connection, current: ItemRow) -> bool:
    """Delete ``current`` if it is still at the version that was read."""
    result = conn.execute(
        items.delete().where(items.c.id == current.id, items.c.version == current.version)
    )
    return result.rowcount == 1
