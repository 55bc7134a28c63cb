"""Fixtures for the reference server: a real uvicorn on 127.0.0.1 over SQLite and PostgreSQL.

PostgreSQL comes from ``DATABASE_URL_TEST_PG`` when set, or from a private cluster started in a
temporary directory with the local binaries (as RECIPES.md shows). Without either the PostgreSQL
tests are skipped, unless ``CI`` is set, where they fail instead.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from restwell.server import ServerSettings, serve_in_thread
from restwell.server._db import metadata
from tests.server.helpers import TIMEOUT

Serve = Callable[..., AbstractContextManager[str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(args: list[str]) -> None:
    # PostgreSQL refuses to run as root; the image's tests run as root.
    command = ["su", "postgres", "-c", shlex.join(args)] if os.geteuid() == 0 else args
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """A PostgreSQL server URL for the session (maintenance database ``postgres``)."""
    url = os.environ.get("DATABASE_URL_TEST_PG")
    if url:
        yield url
        return
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        message = "no PostgreSQL: set DATABASE_URL_TEST_PG or install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    bindir = Path(initdb[-1]).parent
    tmp = Path(tempfile.mkdtemp(prefix="restwell-pg-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")
        port = _free_port()
        data = tmp / "data"
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1"
        pg_ctl = str(bindir / "pg_ctl")
        _as_postgres(
            [pg_ctl, "-D", str(data), "-l", str(tmp / "log"), "-o", options, "-w", "start"]
        )
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            _as_postgres([pg_ctl, "-D", str(data), "stop", "-m", "fast"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _postgres_database(cluster_url: str) -> Iterator[str]:
    """A database of our own in the cluster, so a user-supplied server keeps its data."""
    name = f"restwell_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(cluster_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(cluster_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend; session-scoped so pytest runs each backend's tests together."""
    param: str = request.param
    return param


@pytest.fixture(scope="session")
def _shared_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared') / 'restwell.db'}"
    else:
        with _postgres_database(request.getfixturevalue("postgres_cluster")) as url:
            yield url


@pytest.fixture(scope="session")
def _fresh_postgres_database(postgres_cluster: str) -> Iterator[str]:
    with _postgres_database(postgres_cluster) as url:
        yield url


@pytest.fixture(scope="session")
def _shared_server(_shared_database: str) -> Iterator[tuple[str, Engine]]:
    # Starting a server per test would cost ~0.2 s each; tests that need their own settings
    # use `serve` instead.
    engine = create_engine(_shared_database)
    try:
        with serve_in_thread(ServerSettings(database_url=_shared_database)) as url:
            yield url, engine
    finally:
        engine.dispose()


@pytest.fixture
def base_url(_shared_server: tuple[str, Engine]) -> str:
    """A server with default settings, whose database is emptied for each test."""
    url, engine = _shared_server
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return url


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new, empty database for a server of the test's own (see `serve`)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'restwell.db'}"
    url: str = request.getfixturevalue("_fresh_postgres_database")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def serve(database_url: str) -> Serve:
    """Start a server on a fresh database: ``with serve(cache_max_age=5) as url: ...``."""

    def start(**settings: Any) -> AbstractContextManager[str]:
        return serve_in_thread(ServerSettings(database_url=database_url, **settings))

    return start


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """A client of the shared default server; every call is bounded by a timeout."""
    with httpx.Client(base_url=base_url, timeout=TIMEOUT) as http:
        yield http
