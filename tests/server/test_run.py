"""Running the server in a thread: a free port, a clean stop, and a clear failure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from restwell.server import ServerSettings, serve_in_thread
from tests.server.helpers import TIMEOUT


def test_serve_in_thread_starts_and_stops_cleanly(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path / 'run.db'}")

    with serve_in_thread(settings) as url:
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            assert client.post("/items", json={"name": "x"}).status_code == 201
            assert client.get("/items").status_code == 200

    assert set(threading.enumerate()) <= threads_before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/items", timeout=TIMEOUT)


def test_two_servers_get_two_ports(tmp_path: Path) -> None:
    one = ServerSettings(database_url=f"sqlite:///{tmp_path / 'one.db'}")
    two = ServerSettings(database_url=f"sqlite:///{tmp_path / 'two.db'}")

    with serve_in_thread(one) as url_one, serve_in_thread(two) as url_two:
        assert url_one != url_two
        httpx.post(f"{url_one}/items", json={"name": "only in one"}, timeout=TIMEOUT)
        assert httpx.get(f"{url_two}/items", timeout=TIMEOUT).json()["items"] == []


def test_startup_failure_is_reported(tmp_path: Path) -> None:
    # The database cannot be created: the directory does not exist.
    settings = ServerSettings(database_url=f"sqlite:///{tmp_path / 'missing' / 'x.db'}")

    with pytest.raises(RuntimeError, match="did not start"), serve_in_thread(settings):
        pass


def test_run_reads_the_environment_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}",
        "RESTWELL_FAULT_FAIL_FIRST": "1",
    }
    code = f"from restwell.server import run; run(port={port})"
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    try:
        statuses: list[int] = []
        deadline = time.monotonic() + 15
        while len(statuses) < 2 and time.monotonic() < deadline:
            try:
                statuses.append(
                    httpx.get(f"http://127.0.0.1:{port}/items", timeout=TIMEOUT).status_code
                )
            except httpx.ConnectError:
                time.sleep(0.05)
        assert statuses == [503, 200]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status shows it.
    assert process.returncode in (0, -signal.SIGTERM), stderr.decode()
    assert "Application shutdown complete" in stderr.decode()
    assert (tmp_path / "env.db").exists()
