"""The benchmark origin: a private nginx on a free 127.0.0.1 port, stopped by its PID.

nginx runs in the foreground (``daemon off``) with its own prefix and config in a temporary
directory and one worker process, so the Python client keeps the other core of a 2-core
machine. It serves one ~200-byte JSON document with ``Cache-Control: max-age=60`` and an ETag
(nginx's own, from size and mtime), keeps connections open practically forever, and exposes
``stub_status`` so the runner can check that every timed request really reached the origin.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["BODY", "Nginx", "OriginError", "ensure_nginx"]

HOST = "127.0.0.1"
ITEM_PATH = "/item.json"
STATUS_PATH = "/nginx_status"


def _body() -> bytes:
    item = {
        "id": 4711,
        "name": "restwell benchmark item",
        "owner": {"login": "octo", "id": 17},
        "tags": ["bench", "json", "rest"],
        "price": 19.95,
        "in_stock": True,
        "updated_at": "2025-01-01T00:00:00Z",
        "url": "http://127.0.0.1/items/4711",
    }
    return json.dumps(item, separators=(",", ":")).encode() + b"\n"


BODY: bytes = _body()

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 3600s;
    tcp_nodelay on;
    etag on;
    server_tokens off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{ }}
    default_type application/json;

    server {{
        listen {host}:{port};
        root {prefix}/www;
        location = {item} {{
            add_header Cache-Control "max-age=60";
        }}
        location = {status} {{
            stub_status;
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


class OriginError(RuntimeError):
    """The origin could not be installed, started or checked."""


def _find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_nginx() -> str:
    """The path of the nginx binary; installed from Debian's packages when missing and root."""
    found = _find_nginx()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise OriginError(
            "nginx is not installed and this is not a root Debian shell that could install it: "
            "run `apt-get install -y nginx` (as root) and try again"
        )
    print("nginx not found: running `apt-get install -y nginx` ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "nginx"]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=False)
        done = subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise OriginError("`apt-get install -y nginx` failed (see its output above)")
    found = _find_nginx()
    if not found:
        raise OriginError("`apt-get install -y nginx` succeeded but no nginx binary was found")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Nginx:
    """A private nginx process; use as a context manager (stopped even on error or Ctrl-C)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self.version = ""
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL of the JSON document."""
        return f"http://{HOST}:{self.port}{ITEM_PATH}"

    @property
    def pid(self) -> int | None:
        """The PID of the nginx master process, while it runs."""
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> Nginx:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the prefix and config, start nginx on a free port and wait until it serves."""
        probe = subprocess.run([self.binary, "-v"], capture_output=True, text=True, check=False)
        match = re.search(r"nginx/(\S+)", probe.stderr + probe.stdout)
        self.version = match.group(1) if match else "?"
        prefix = Path(tempfile.mkdtemp(prefix="restwell-bench-nginx-"))
        self._dir = prefix
        # nginx workers drop root for the package's unprivileged user: let it read the files.
        prefix.chmod(0o755)
        (prefix / "tmp").mkdir(mode=0o755)
        (prefix / "www").mkdir(mode=0o755)
        item = prefix / "www" / ITEM_PATH.lstrip("/")
        item.write_bytes(BODY)
        item.chmod(0o644)
        last_error = ""
        for _ in range(5):  # a free port can be taken between probing and binding: retry
            self.port = _free_port()
            conf = prefix / "nginx.conf"
            conf.write_text(
                CONFIG.format(
                    prefix=prefix, host=HOST, port=self.port, item=ITEM_PATH, status=STATUS_PATH
                )
            )
            log = (prefix / "stderr.log").open("wb")
            with log:
                self._proc = subprocess.Popen(
                    [
                        self.binary,
                        "-p",
                        str(prefix),
                        "-c",
                        str(conf),
                        "-e",
                        str(prefix / "error.log"),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches the runner, which stops nginx
                )
            if self._wait_ready():
                return
            last_error = self._read_logs()
            self.stop(keep_dir=True)
            if "Address already in use" not in last_error:
                break
        self.stop()
        raise OriginError(f"nginx did not start:\n{last_error.strip()}")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, body, headers = self._get(ITEM_PATH)
                if status == 200 and body == BODY:
                    if "etag" not in headers or headers.get("cache-control") != "max-age=60":
                        raise OriginError(f"origin headers are not as configured: {headers}")
                    return True
            time.sleep(0.05)
        return False

    def _get(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            return response.status, body, headers
        finally:
            conn.close()

    def headers(self) -> dict[str, str]:
        """The response headers of the JSON document."""
        return self._get(ITEM_PATH)[2]

    def requests_served(self) -> int:
        """nginx's total request counter (``stub_status``), this query included."""
        status, body, _ = self._get(STATUS_PATH)
        match = re.search(rb"\n\s*\d+\s+\d+\s+(\d+)\s*\n", body)
        if status != 200 or match is None:
            raise OriginError(f"unexpected stub_status answer: {status} {body[:200]!r}")
        return int(match.group(1))

    def _read_logs(self) -> str:
        if self._dir is None:
            return ""
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self._dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def stop(self, *, keep_dir: bool = False) -> None:
        """Stop nginx by its PID (its worker goes with it) and remove the prefix."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # fast shutdown: master stops its worker
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # The master leads its own process group (start_new_session), holding only
                # the processes started here: kill the group so no worker is orphaned.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if not keep_dir and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def reexec_in_repo_venv() -> None:
    """Re-run the invoked benchmark script under the repository's virtualenv if restwell is
    not importable here (each script calls this before importing anything of restwell's)."""
    import importlib.util

    if importlib.util.find_spec("restwell") is None:
        venv_python = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.executable) != venv_python:
            print(f"(restwell is not importable here: re-running with {venv_python})", flush=True)
            script = str(Path(sys.argv[0]).resolve())
            os.execv(venv_python, [str(venv_python), script, *sys.argv[1:]])
        sys.exit("restwell is not importable: install it (pip install -e '.[dev]') first")


def versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Python's version and each package's installed version (or "missing")."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "missing"
    return out
