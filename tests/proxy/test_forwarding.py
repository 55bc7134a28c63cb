"""restwell as the cache of a reverse proxy: requests forwarded verbatim, responses returned
with their headers unchanged apart from ``Age`` (issue: the cache "usable as the cache of a
reverse proxy"). The origin is a real aiohttp.web server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

import restwell
from restwell import CachePolicy, MemoryCache

BODY = gzip.compress(b'{"hello": "world"}' * 20, mtime=0)
RESPONSE_HEADERS = [
    ("Content-Type", "application/json"),
    ("Content-Encoding", "gzip"),
    ("Cache-Control", "public, max-age=60"),
    ("ETag", '"v1"'),
    ("X-Multi", "one"),
    ("X-Multi", "two"),
    ("Link", '</items?page=2>; rel="next"'),
    ("Vary", "Accept"),
]


@dataclass
class Origin:
    url: str = ""
    seen: list[list[tuple[str, str]]] = field(default_factory=list)


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    state = Origin()

    async def handler(request: web.Request) -> web.StreamResponse:
        state.seen.append([(k.decode(), v.decode()) for k, v in request.raw_headers])
        response = web.Response(body=BODY)
        response.headers.popall("Content-Type", None)
        for name, value in RESPONSE_HEADERS:
            response.headers.add(name, value)
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)
    yield state
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _forwarding(kind: str, url: str) -> restwell.Client | restwell.AsyncClient:
    options = {
        "default_headers": False,
        "decode_content": False,
        "follow_redirects": False,
        "retry": None,
        "cache": MemoryCache(max_bytes=1 << 20),
        "cache_policy": CachePolicy(shared=True),
    }
    if kind == "sync":
        return restwell.Client(url, **options)  # type: ignore[arg-type]
    return restwell.AsyncClient(url, **options)  # type: ignore[arg-type]


def _fetch(kind: str, url: str, headers: dict[str, str]) -> list[restwell.Response]:
    async def twice_async() -> list[restwell.Response]:
        client = _forwarding("async", url)
        assert isinstance(client, restwell.AsyncClient)
        async with client:
            return [await client.get("/items", headers=headers) for _ in range(2)]

    if kind == "async":
        return asyncio.run(twice_async())
    client = _forwarding("sync", url)
    assert isinstance(client, restwell.Client)
    with client:
        return [client.get("/items", headers=headers) for _ in range(2)]


def _without_age(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in pairs if k.lower() != "age"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_forwarded_verbatim_and_served_unchanged_apart_from_age(origin: Origin, kind: str) -> None:
    origin.seen.clear()
    sent = {"Accept": "application/json", "X-Forwarded-For": "192.0.2.7"}
    miss, hit = _fetch(kind, origin.url, sent)

    # Exactly one request reached the origin, carrying only what was given (plus Host).
    assert len(origin.seen) == 1
    names = sorted(name.lower() for name, _ in origin.seen[0])
    assert names == ["accept", "host", "x-forwarded-for"]

    assert (miss.cache_status, hit.cache_status) == ("miss", "hit")
    # The body is passed on as received: still gzip, byte for byte.
    assert miss.content == BODY
    assert hit.content == BODY
    # The origin's fields, repeats and order included, apart from Age.
    origin_fields = _without_age(miss.headers.raw())
    assert _without_age(hit.headers.raw()) == origin_fields
    for name, value in RESPONSE_HEADERS:
        assert (name.lower(), value) in origin_fields
    assert hit.headers.get("age") is not None
