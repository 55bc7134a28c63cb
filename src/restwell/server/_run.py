"""Running the server: in the foreground, or in a background thread for tests and tools."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import uvicorn

from restwell.server._app import create_app
from restwell.server._settings import ServerSettings


def run(settings: ServerSettings | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API with uvicorn until interrupted (Ctrl-C or SIGTERM).

    Args:
        settings: The configuration; read from the environment when omitted.
        host: Address to listen on.
        port: Port to listen on.
    """
    uvicorn.run(create_app(settings), host=host, port=port)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: a free port), ready to hand to uvicorn.

    The explicit IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto
    says TCP, and without it every response with a body waits ~40 ms (Nagle + delayed ACK).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextmanager
def serve_app_in_thread(
    app: Any, *, name: str = "server", timeout: float = 10.0, **config: Any
) -> Iterator[str]:
    """Run any ASGI app with uvicorn on a free port of 127.0.0.1 in a background thread.

    Args:
        app: The ASGI application.
        name: For the thread's name and the error message.
        timeout: Seconds to wait for the server to start, and then to stop.
        **config: More ``uvicorn.Config`` options.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:54321``.

    Raises:
        RuntimeError: The server did not start (uvicorn logs why).
    """
    # Binding here, rather than letting uvicorn pick a port, tells us the port without a race.
    sock = bind()
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=math.ceil(timeout),
            **config,
        )
    )

    def serve() -> None:
        # uvicorn calls sys.exit() when the app fails to start, after logging why.
        with suppress(SystemExit):
            server.run(sockets=[sock])

    thread = threading.Thread(target=serve, name=f"restwell-{name}-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        # uvicorn sets `started` once the lifespan startup has finished.
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} on port {port} did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


@contextmanager
def serve_in_thread(
    settings: ServerSettings | None = None, *, timeout: float = 10.0
) -> Iterator[str]:
    """Run the API on a free port of 127.0.0.1 in a background thread.

    Example::

        with serve_in_thread(ServerSettings(database_url="sqlite:///t.db")) as url:
            httpx.get(f"{url}/items")

    Args:
        settings: The configuration; read from the environment when omitted.
        timeout: Seconds to wait for the server to start, and then to stop.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:54321``.

    Raises:
        RuntimeError: The server did not start (uvicorn logs why).
    """
    with serve_app_in_thread(create_app(settings), name="restwell server", timeout=timeout) as url:
        yield url
