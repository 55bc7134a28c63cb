"""A real HTTP/1.1 origin on 127.0.0.1 that misbehaves on request, for integration tests.

It is a small asyncio server (not a mock: real sockets, keep-alive, Content-Length framing)
running in a background thread. Behaviour is chosen by path; per-test state is keyed by a
path segment so tests never interfere:

- ``/ok``                         200 JSON
- ``/echo[/{key}]``               200 JSON describing the request (method, path, headers, body);
  with a key the request is also recorded
- ``/flaky/{key}?fail=N&status=S`` S (default 503) for the first N requests, then 200 JSON
- ``/drop/{key}?times=N``         closes the connection without answering N times, then 200
- ``/slow[/{key}]?delay=S``       waits S seconds before answering (recorded with a key);
  ``delays=S1,S2,...`` waits S1 on the first hit of the key, S2 on the second, ...
- ``/html500``                    500 with an HTML page
- ``/ratelimit/{key}?times=N&retry_after=V``  429 + ``Retry-After: V`` N times, then 200;
  ``retry_after_date=S`` sends an HTTP-date S seconds ahead (with a matching ``Date``) instead
- ``/quota/{key}?times=N&reset_in=S``  403 + ``X-RateLimit-Remaining: 0`` N times, then 200
- ``/spent/{key}?reset_in=S``     200 announcing an exhausted quota that resets in S seconds
- ``/status/{code}``              that status, small JSON body
- ``/text``                       200 text/plain (not JSON)
- ``/bytes?n=N``                  N bytes of octet-stream (byte ``i`` is ``i % 251``)
- ``/trickle?n=N&first=F&pause=S``  N bytes: F of them, a pause of S seconds, then the rest
- ``/redirect?to=URL&status=S``   a redirect to URL
- ``/hops/{n}``                   302 to ``/hops/{n-1}`` ... ``/hops/0`` answers 200 JSON
- ``/inflight/{key}?delay=S``     waits S seconds; the most requests of ``key`` in flight at
  once is kept (``Origin.max_in_flight``)
- ``/conn/{key}``                 200 JSON with the id of the connection it came on
- ``/create/{key}?fail=N&drop=M`` POST: records the request (and its Idempotency-Key); the
  first N get 503 after recording, the next M are recorded then dropped; then 201

``Origin.hits(key)`` and ``Origin.seen(key)`` expose what arrived; ``Origin.is_open(cid)``
whether a connection is still open.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from itertools import count
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
    pause_after: int | None = None
    """Send this many body bytes, wait ``pause`` seconds, then send the rest."""
    pause: float = 0.0


def _json(status: int, payload: Any, **headers: str) -> Reply:
    body = json.dumps(payload).encode()
    return Reply(status, body, {"Content-Type": "application/json", **headers})


def body_bytes(n: int) -> bytes:
    """The body ``/bytes?n=N`` and ``/trickle?n=N`` send."""
    return bytes(i % 251 for i in range(n))


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int = 0


class Origin:
    """The server's state and request handling (called on its event loop thread)."""

    def __init__(self) -> None:
        self.url = ""
        self.port = 0
        self._hits: defaultdict[str, int] = defaultdict(int)
        self._seen: defaultdict[str, list[Seen]] = defaultdict(list)
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._max_in_flight: defaultdict[str, int] = defaultdict(int)
        self._open: set[int] = set()
        self._ids = count(1)
        self._lock = threading.Lock()

    def url_via(self, host: str) -> str:
        """The origin's URL spelled with another host name (e.g. ``localhost``)."""
        return f"http://{host}:{self.port}"

    def hits(self, key: str) -> int:
        """Requests that arrived for ``key``."""
        with self._lock:
            return self._hits[key]

    def seen(self, key: str) -> list[Seen]:
        """The requests that arrived for ``key``."""
        with self._lock:
            return list(self._seen[key])

    def max_in_flight(self, key: str) -> int:
        """The most ``/inflight/{key}`` requests that were being handled at the same time."""
        with self._lock:
            return self._max_in_flight[key]

    def is_open(self, connection: int) -> bool:
        """Whether the client has not closed connection ``connection`` yet."""
        with self._lock:
            return connection in self._open

    def wait_closed(self, connection: int, timeout: float = 5.0) -> bool:
        """Wait until ``connection`` is closed by the client; False if it stays open."""
        end = time.monotonic() + timeout
        while self.is_open(connection):
            if time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    def _count(self, key: str, seen: Seen) -> int:
        with self._lock:
            self._hits[key] += 1
            self._seen[key].append(seen)
            return self._hits[key]

    def _connected(self) -> int:
        with self._lock:
            cid = next(self._ids)
            self._open.add(cid)
            return cid

    def _disconnected(self, cid: int) -> None:
        with self._lock:
            self._open.discard(cid)

    async def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes, connection: int = 0
    ) -> Reply:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        route = segments[0] if segments else ""
        key = segments[1] if len(segments) > 1 else ""
        seen = Seen(method, target, headers, body, connection)
        if route == "ok":
            return _json(200, {"ok": True})
        if route == "echo":
            if key:
                self._count(key, seen)
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
            n = self._count(key, seen) if key else 1
            delay = query.get("delay", "1")
            if "delays" in query:  # one per hit; the last one repeats
                delays = query["delays"].split(",")
                delay = delays[min(n, len(delays)) - 1]
            await asyncio.sleep(float(delay))
            return _json(200, {"slow": True})
        if route == "html500":
            page = b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
            page += b"<body><h1>Internal Server Error</h1><p>upstream exploded</p></body></html>"
            return Reply(500, page, {"Content-Type": "text/html; charset=utf-8"})
        if route == "ratelimit":
            n = self._count(key, seen)
            if n <= int(query.get("times", "1")):
                if "retry_after_date" in query:
                    now = int(time.time())
                    after = formatdate(now + int(query["retry_after_date"]), usegmt=True)
                    extra = {"Retry-After": after, "Date": formatdate(now, usegmt=True)}
                else:
                    extra = {"Retry-After": query.get("retry_after", "1")}
                return _json(429, {"error": "slow down"}, **extra)
            return _json(200, {"attempts": n})
        if route == "quota":
            n = self._count(key, seen)
            if n <= int(query.get("times", "1")):
                return _json(
                    403,
                    {"message": "API rate limit exceeded"},
                    **_spent_quota(int(query.get("reset_in", "1"))),
                )
            return _json(200, {"attempts": n})
        if route == "spent":
            n = self._count(key, seen)
            return _json(200, {"attempts": n}, **_spent_quota(int(query.get("reset_in", "1"))))
        if route == "status":
            code = int(key or "200")
            return _json(code, {"status": code})
        if route == "text":
            return Reply(200, b"plain words, not JSON", {"Content-Type": "text/plain"})
        if route == "bytes":
            data = body_bytes(int(query.get("n", "1024")))
            return Reply(200, data, {"Content-Type": "application/octet-stream"})
        if route == "trickle":
            data = body_bytes(int(query.get("n", "1024")))
            return Reply(
                200,
                data,
                {"Content-Type": "application/octet-stream"},
                pause_after=int(query.get("first", "16")),
                pause=float(query.get("pause", "0.3")),
            )
        if route == "redirect":
            return Reply(int(query.get("status", "302")), b"", {"Location": query["to"]})
        if route == "hops":
            left = int(key or "0")
            if left <= 0:
                return _json(200, {"arrived": True})
            return Reply(302, b"", {"Location": f"/hops/{left - 1}"})
        if route == "inflight":
            with self._lock:
                self._hits[key] += 1
                self._in_flight[key] += 1
                self._max_in_flight[key] = max(self._max_in_flight[key], self._in_flight[key])
            try:
                await asyncio.sleep(float(query.get("delay", "0.05")))
            finally:
                with self._lock:
                    self._in_flight[key] -= 1
            return _json(200, {"path": target})
        if route == "conn":
            self._count(key, seen)
            return _json(200, {"connection": connection})
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


def _spent_quota(reset_in: int) -> dict[str, str]:
    # One clock reading for both, so the reset is exactly `reset_in` after the `Date`.
    now = int(time.time())
    return {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(now + reset_in),
        "Date": formatdate(now, usegmt=True),
    }


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """A ``Transfer-Encoding: chunked`` request body, decoded (trailers are skipped)."""
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)  # the CRLF closing the chunk


async def read_request_head(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str]] | None:
    """The method, target and fields (lower-case names; repeated lines joined with ", ") of
    the next request on a connection, or ``None`` when the client has gone."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return method, target, headers


async def _serve_connection(
    origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    cid = origin._connected()
    try:
        while True:
            request = await read_request_head(reader)
            if request is None:
                return
            method, target, headers = request
            if "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            else:
                body = await reader.readexactly(int(headers.get("content-length", "0")))
            try:
                reply = await origin.handle(method, target, headers, body, cid)
            except _Drop:
                writer.transport.abort()
                return
            out = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
            if reply.status in (204, 304):
                reply.body = b""  # RFC 9110 §6.4.1: these responses have no content
            else:
                reply.headers.setdefault("Content-Length", str(len(reply.body)))
            out += [f"{k}: {v}" for k, v in reply.headers.items()]
            payload = "\r\n".join(out).encode("latin-1") + b"\r\n\r\n"
            content = b"" if method == "HEAD" else reply.body
            if reply.pause_after is not None:
                writer.write(payload + content[: reply.pause_after])
                await writer.drain()
                await asyncio.sleep(reply.pause)
                content = content[reply.pause_after :]
                payload = b""
            writer.write(payload + content)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        origin._disconnected(cid)
        writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


@contextmanager
def serving(handler: Handler, name: str = "test origin") -> Iterator[int]:
    """Serve connections with ``handler`` on a free port of 127.0.0.1 in a thread.

    Yields the port; on exit, open connections are cancelled and the loop is stopped.
    """
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # so replies are not held back by Nagle's algorithm waiting for the client's ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal stop
        stop = loop.create_future()
        tasks: set[asyncio.Task[None]] = set()

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = loop.create_task(handler(reader, writer))
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
    if not ready.wait(10):
        raise RuntimeError(f"the {name} did not start")
    try:
        yield int(sock.getsockname()[1])
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()


@contextmanager
def running_origin() -> Iterator[Origin]:
    """Start the origin on a free port of 127.0.0.1 in a thread; stop it afterwards."""
    origin = Origin()
    with serving(lambda r, w: _serve_connection(origin, r, w)) as port:
        origin.port = port
        origin.url = f"http://127.0.0.1:{port}"
        yield origin


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
