"""A real HTTP/1.1 origin on 127.0.0.1 that misbehaves on request, for integration tests.

It is a small asyncio server (not a mock: real sockets, keep-alive, Content-Length framing)
running in a background thread. Behaviour is chosen by path; per-test state is keyed by a
path segment so tests never interfere:

- ``/ok``                         200 JSON
- ``/echo``                       200 JSON describing the request (method, path, headers, body)
- ``/flaky/{key}?fail=N&status=S`` S (default 503) for the first N requests, then 200 JSON
- ``/drop/{key}?times=N``         closes the connection without answering N times, then 200
- ``/slow?delay=S``               waits S seconds before answering
- ``/html500``                    500 with an HTML page
- ``/ratelimit/{key}?times=N&retry_after=V``  429 + ``Retry-After: V`` N times, then 200
- ``/quota/{key}?times=N&reset_in=S``  403 + ``X-RateLimit-Remaining: 0`` N times, then 200
- ``/status/{code}``              that status, small JSON body
- ``/text``                       200 text/plain (not JSON)
- ``/bytes?n=N``                  N bytes of octet-stream
- ``/redirect?to=URL&status=S``   a redirect to URL
- ``/create/{key}?fail=N&drop=M`` POST: records the request (and its Idempotency-Key); the
  first N get 503 after recording, the next M are recorded then dropped; then 201

``Origin.hits(key)`` and ``Origin.seen(key)`` expose what arrived.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlsplit

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _Drop(Exception):
    """Close the connection without answering."""


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Origin:
    """The server's state and request handling (called on its event loop thread)."""

    def __init__(self) -> None:
        self.url = ""
        self._hits: defaultdict[str, int] = defaultdict(int)
        self._seen: defaultdict[str, list[Seen]] = defaultdict(list)
        self._lock = threading.Lock()

    def hits(self, key: str) -> int:
        """Requests that arrived for ``key``."""
        with self._lock:
            return self._hits[key]

    def seen(self, key: str) -> list[Seen]:
        """The requests that arrived for ``key``."""
        with self._lock:
            return list(self._seen[key])

    def _count(self, key: str, seen: Seen) -> int:
        with self._lock:
            self._hits[key] += 1
            self._seen[key].append(seen)
            return self._hits[key]

    async def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        route = segments[0] if segments else ""
        key = segments[1] if len(segments) > 1 else ""
        seen = Seen(method, target, headers, body)
        if route == "ok":
            return _json(200, {"ok": True})
        if route == "echo":
            return _json(
                200,
                {
                    "method": method,
                    "path": target,
                    "headers": headers,
                    "body": body.decode("utf-8", "replace"),
                },
            )
        if route == "flaky":
            n = self._count(key, seen)
            if n <= int(query.get("fail", "1")):
                return _json(int(query.get("status", "503")), {"error": "try again"})
            return _json(200, {"attempts": n})
        if route == "drop":
            n = self._count(key, seen)
            if n <= int(query.get("times", "1")):
                raise _Drop
            return _json(200, {"attempts": n})
        if route == "slow":
            await asyncio.sleep(float(query.get("delay", "1")))
            return _json(200, {"slow": True})
        if route == "html500":
            page = b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
            page += b"<body><h1>Internal Server Error</h1><p>upstream exploded</p></body></html>"
            return Reply(500, page, {"Content-Type": "text/html; charset=utf-8"})
        if route == "ratelimit":
            n = self._count(key, seen)
            if n <= int(query.get("times", "1")):
                return _json(
                    429, {"error": "slow down"}, **{"Retry-After": query.get("retry_after", "1")}
                )
            return _json(200, {"attempts": n})
        if route == "quota":
            n = self._count(key, seen)
            if n <= int(query.get("times", "1")):
                import time

                reset = int(time.time()) + int(query.get("reset_in", "1"))
                return _json(
                    403,
                    {"message": "API rate limit exceeded"},
                    **{
                        "X-RateLimit-Limit": "60",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": str(reset),
                        "Date": formatdate(usegmt=True),
                    },
                )
            return _json(200, {"attempts": n})
        if route == "status":
            code = int(key or "200")
            return _json(code, {"status": code})
        if route == "text":
            return Reply(200, b"plain words, not JSON", {"Content-Type": "text/plain"})
        if route == "bytes":
            n = int(query.get("n", "1024"))
            return Reply(200, bytes(i % 251 for i in range(n)), {"Content-Type": "application/octet-stream"})
        if route == "redirect":
            return Reply(int(query.get("status", "302")), b"", {"Location": query["to"]})
        if route == "create":
            n = self._count(key, seen)
            fail = int(query.get("fail", "0"))
            drop = int(query.get("drop", "0"))
            if n <= fail:
                return _json(503, {"error": "recorded, then failed"})
            if n <= fail + drop:
                raise _Drop
            return _json(201, {"created": n}, Location=f"/items/{n}")
        return _json(404, {"error": "no such route"})


async def _serve_connection(
    origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            try:
                reply = await origin.handle(method, target, headers, body)
            except _Drop:
                writer.transport.abort()
                return
            out = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
            reply.headers.setdefault("Content-Length", str(len(reply.body)))
            out += [f"{k}: {v}" for k, v in reply.headers.items()]
            payload = "\r\n".join(out).encode("latin-1") + b"\r\n\r\n"
            writer.write(payload + (b"" if method == "HEAD" else reply.body))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextmanager
def running_origin() -> Iterator[Origin]:
    """Start the origin on a free port of 127.0.0.1 in a thread; stop it afterwards."""
    origin = Origin()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    origin.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        tasks: set[asyncio.Task[None]] = set()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = loop.create_task(_serve_connection(origin, reader, writer))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        server = await asyncio.start_server(connected, sock=sock)
        ready.set()
        async with server:
            await stop
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield origin
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(5)
        loop.close()
