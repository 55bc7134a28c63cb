"""A real HTTP/1.1 test origin that sends whatever caching headers a test asks for.

An asyncio server on a free port of 127.0.0.1, run in a background thread (real sockets,
keep-alive, ``Content-Length`` framing). Everything under ``/r/{key}`` is one resource per
``key``; a test configures it in-process with :meth:`CacheOrigin.set` (so its headers can
change between two requests, as a 304 must show) or per request with query parameters (so a
table of directives needs no setup):

- ``cc``            ``Cache-Control``
- ``vary``          ``Vary``
- ``etag``          ``ETag`` (sent as given, e.g. ``"v1"`` or ``W/"v1"``)
- ``lm``            ``Last-Modified``, that many seconds from now (negative: in the past)
- ``expires``       ``Expires``, seconds from now, or a raw value when not a number
- ``age``           ``Age``
- ``date``          ``Date`` that many seconds from now; ``none`` sends no ``Date``
- ``size``          a body of that many bytes instead of the JSON description
- ``status``        the status of the answer
- ``gzip``          send the body gzip-coded (``Content-Encoding: gzip``)
- ``location`` / ``content_location``  those fields (on any method)

"Now" is the origin's :attr:`CacheOrigin.clock`, which tests point at their fake clock, so the
``Date`` the origin sends agrees with the time the client's cache sees.

Each answer's default body is JSON naming the resource, its version, the hit number and the
request fields a cache must key on (``authorization``, ``cookie``, ``accept-language``), so a
test can tell which request produced a response it was served.

Conditional GET/HEAD: ``If-None-Match`` (weak comparison, RFC 9110 §13.1.2) or, without it,
``If-Modified-Since`` against ``Last-Modified`` gives a 304 carrying the resource's current
caching headers (or :attr:`Resource.headers_304` when set).

Failures (:meth:`CacheOrigin.fail`): ``"503"``/``"500"``/``"502"``/``"504"`` answer that status,
``"drop"`` closes the connection without answering; for the next ``times`` requests or until
:meth:`CacheOrigin.heal`. A failed request still counts as a hit, and fails only after the
resource's delay (:meth:`CacheOrigin.slow`).

Unsafe methods (POST, PUT, PATCH, DELETE) answer 201 / 200 / 200 / 204 (``status`` overrides)
with the ``location`` / ``content_location`` query values as fields, or what
:meth:`CacheOrigin.on_write` set for the key.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from tests.origin import read_request_head, serving

__all__ = ["CacheOrigin", "Resource", "Seen", "http_date", "running_cache_origin"]

_REASONS = {
    200: "OK",
    201: "Created",
    203: "Non-Authoritative Information",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    410: "Gone",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_UNSAFE_STATUS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}
_ECHOED = ("authorization", "cookie", "accept-language")


def http_date(epoch: float) -> str:
    """An IMF-fixdate for ``epoch`` seconds."""
    return formatdate(epoch, usegmt=True)


def _parse_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


@dataclass
class Resource:
    """What ``/r/{key}`` answers to safe methods.

    Attributes:
        headers: Fields of a 200 (``Cache-Control``, ``ETag``, ``Last-Modified``, ``Vary``...).
        headers_304: Fields of a 304 instead of ``headers`` (``None``: ``headers``).
        status: Status of a full answer.
        body: Content of a full answer (``None``: the JSON description).
        version: Part of the JSON description; :meth:`CacheOrigin.update` bumps it.
        date: Send a ``Date`` (from the origin's clock) unless ``headers`` has one.
        delay: Real seconds to wait before answering (to show who waits for the origin).
    """

    headers: dict[str, str] = field(default_factory=dict)
    headers_304: dict[str, str] | None = None
    status: int = 200
    body: bytes | None = None
    version: int = 1
    date: bool = True
    delay: float = 0.0


@dataclass
class Seen:
    """One request that arrived."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class _Failure:
    mode: str
    times: int | None


class _Drop(Exception):
    """Close the connection without answering (after the resource's delay)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.delay = delay


@dataclass
class _Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    delay: float = 0.0


class CacheOrigin:
    """The origin's state; requests are handled on its event loop thread."""

    def __init__(self) -> None:
        self.url = ""
        self.port = 0
        self.clock: Callable[[], float] = time.time
        self._resources: dict[str, Resource] = {}
        self._failures: dict[str, _Failure] = {}
        self._seen: defaultdict[str, list[Seen]] = defaultdict(list)
        self._writes: dict[str, tuple[int, dict[str, str]]] = {}
        self._lock = threading.Lock()

    # -- what tests call ---------------------------------------------------------------------

    def set(
        self,
        key: str,
        headers: dict[str, str] | None = None,
        *,
        headers_304: dict[str, str] | None = None,
        status: int = 200,
        body: bytes | None = None,
        date: bool = True,
        delay: float = 0.0,
    ) -> None:
        """Configure ``/r/{key}`` (replacing any earlier configuration)."""
        resource = Resource(dict(headers or {}), headers_304, status, body, 1, date, delay)
        with self._lock:
            self._resources[key] = resource

    def update(self, key: str, **headers: str) -> None:
        """A new version of ``/r/{key}``: bump its version and replace the given fields.

        Keyword names are field names with ``_`` for ``-`` (``Cache_Control="max-age=5"``).
        """
        with self._lock:
            resource = self._resources.setdefault(key, Resource())
            resource.version += 1
            for name, value in headers.items():
                resource.headers[name.replace("_", "-")] = value

    def on_write(self, key: str, status: int, headers: dict[str, str]) -> None:
        """Answer unsafe methods on ``/r/{key}`` with ``status`` and ``headers``."""
        with self._lock:
            self._writes[key] = (status, dict(headers))

    def slow(self, key: str, seconds: float) -> None:
        """Make ``/r/{key}`` wait ``seconds`` (real time) before each answer."""
        with self._lock:
            self._resources.setdefault(key, Resource()).delay = seconds

    def fail(self, key: str, mode: str, times: int | None = None) -> None:
        """Make ``/r/{key}`` fail (``"503"``, ``"500"``, ``"drop"``...) ``times`` times or on."""
        with self._lock:
            self._failures[key] = _Failure(mode, times)

    def heal(self, key: str) -> None:
        """Stop failing ``/r/{key}``."""
        with self._lock:
            self._failures.pop(key, None)

    def hits(self, key: str) -> int:
        """Requests that arrived for ``key`` (failed ones included)."""
        with self._lock:
            return len(self._seen[key])

    def seen(self, key: str) -> list[Seen]:
        """The requests that arrived for ``key``."""
        with self._lock:
            return list(self._seen[key])

    def wait_hits(self, key: str, count: int, timeout: float = 5.0) -> bool:
        """Wait (bounded) until ``key`` has had at least ``count`` requests."""
        end = time.monotonic() + timeout
        while self.hits(key) < count:
            if time.monotonic() > end:
                return False
            time.sleep(0.005)
        return True

    # -- handling ----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str]) -> _Reply:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 2 or segments[0] != "r":
            return _Reply(404, [("Content-Type", "text/plain")], b"no such route")
        key = segments[1]
        now = self.clock()
        with self._lock:
            self._seen[key].append(Seen(method, target, dict(headers)))
            hit = len(self._seen[key])
            failure = self._failures.get(key)
            write = self._writes.get(key)
            if failure is not None and failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self._failures[key]
            resource = self._resources.get(key) or Resource()
            resource = Resource(
                dict(resource.headers),
                None if resource.headers_304 is None else dict(resource.headers_304),
                resource.status,
                resource.body,
                resource.version,
                resource.date,
                resource.delay,
            )
        if failure is not None:
            if failure.mode == "drop":
                raise _Drop(resource.delay)
            status = int(failure.mode)
            return _Reply(
                status, [("Content-Type", "text/plain")], b"origin failing", resource.delay
            )
        fields = self._fields(resource, query, now)
        if method in _UNSAFE_STATUS:
            status = int(query.get("status", _UNSAFE_STATUS[method]))
            if write is not None:
                status = write[0]
                fields += list(write[1].items())
            return _Reply(status, fields, b"" if status == 204 else b"done")
        if method in ("GET", "HEAD") and self._not_modified(fields, headers):
            answer = fields
            if resource.headers_304 is not None:
                answer = [(n, v) for n, v in fields if n.lower() == "date"]
                answer += list(resource.headers_304.items())
            return _Reply(304, answer, b"", resource.delay)
        status = int(query.get("status", resource.status))
        if "size" in query:
            body = bytes(i % 251 for i in range(int(query["size"])))
            fields.append(("Content-Type", "application/octet-stream"))
        elif resource.body is not None:
            body = resource.body
        else:
            described = {
                "key": key,
                "version": resource.version,
                "hit": hit,
                **{name: headers.get(name) for name in _ECHOED},
            }
            body = json.dumps(described).encode()
            fields.append(("Content-Type", "application/json"))
        if "gzip" in query:
            body = gzip.compress(body, mtime=0)
            fields.append(("Content-Encoding", "gzip"))
        return _Reply(status, fields, body, resource.delay)

    @staticmethod
    def _fields(resource: Resource, query: dict[str, str], now: float) -> list[tuple[str, str]]:
        fields = dict(resource.headers)
        simple = {
            "cc": "Cache-Control",
            "vary": "Vary",
            "etag": "ETag",
            "age": "Age",
            "location": "Location",
            "content_location": "Content-Location",
        }
        for param, name in simple.items():
            if param in query:
                fields[name] = query[param]
        if "lm" in query:
            fields["Last-Modified"] = http_date(now + float(query["lm"]))
        if "expires" in query:
            raw = query["expires"]
            try:
                fields["Expires"] = http_date(now + float(raw))
            except ValueError:
                fields["Expires"] = raw
        has_date = any(name.lower() == "date" for name in fields)
        if "date" in query:
            if query["date"] != "none":
                fields["Date"] = http_date(now + float(query["date"]))
        elif resource.date and not has_date:
            fields["Date"] = http_date(now)
        return list(fields.items())

    @staticmethod
    def _not_modified(fields: list[tuple[str, str]], request: dict[str, str]) -> bool:
        own = {name.lower(): value for name, value in fields}
        inm = request.get("if-none-match")
        if inm is not None:
            etag = own.get("etag")
            if etag is None:
                return False
            tags = [t for t in inm.split(",") if t.strip()]
            return any(t.strip() == "*" or _opaque(t) == _opaque(etag) for t in tags)
        since = _parse_date(request.get("if-modified-since"))
        modified = _parse_date(own.get("last-modified"))
        return since is not None and modified is not None and modified <= since


async def _serve(
    origin: CacheOrigin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            request = await read_request_head(reader)
            if request is None:
                return
            method, target, headers = request
            await reader.readexactly(int(headers.get("content-length", "0")))
            try:
                reply = origin.handle(method, target, headers)
            except _Drop as drop:
                if drop.delay:
                    await asyncio.sleep(drop.delay)
                writer.transport.abort()
                return
            if reply.delay:
                await asyncio.sleep(reply.delay)
            body = b"" if reply.status in (204, 304) else reply.body
            out = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
            out += [f"{name}: {value}" for name, value in reply.headers]
            if reply.status not in (204, 304):
                out.append(f"Content-Length: {len(body)}")
            payload = "\r\n".join(out).encode("latin-1") + b"\r\n\r\n"
            writer.write(payload + (b"" if method == "HEAD" else body))
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextmanager
def running_cache_origin() -> Iterator[CacheOrigin]:
    """Start the origin on a free port of 127.0.0.1 in a thread; stop it afterwards."""
    origin = CacheOrigin()
    with serving(lambda r, w: _serve(origin, r, w), "cache test origin") as port:
        origin.port = port
        origin.url = f"http://127.0.0.1:{port}"
        yield origin
