"""A private redis-server for tests: a free 127.0.0.1 port, a temporary directory, stopped by PID.

Without the binary the caller's test is skipped, unless ``CI`` is set, where it fails instead
(CI installs redis-server).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a redis-server; yield its ``redis://`` URL and process; stop it afterwards."""
    exe = shutil.which("redis-server")
    if exe is None:
        message = "redis-server is not installed (apt-get install -y redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    tmp = Path(tempfile.mkdtemp(prefix="restwell-redis-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = _free_port()
            with (tmp / "log").open("wb") as log:
                proc = subprocess.Popen(
                    [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(tmp)],
                    stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            probe = redis.Redis(port=port, socket_connect_timeout=1)
            deadline = time.monotonic() + 15
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    if probe.ping():
                        break
                except redis.ConnectionError:
                    time.sleep(0.05)
            probe.close()
            if proc.poll() is None:
                break
        else:
            pytest.fail(f"redis-server did not start: {(tmp / 'log').read_text()}")
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
