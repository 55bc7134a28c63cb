"""Request bodies that cannot simply be sent again are never retried empty.

A small one-shot body (a generator) is buffered, so a retry sends it in full again; one over
``max_replay_bytes`` is sent once, in full, and not retried, and the response or the
exception says why; a file object is rewound between attempts. The origin records every
body it received (chunked ones decoded).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
import requests

from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import RetryAdapter
from tests.integrations.support import BODY, THREE, achunks, chunks
from tests.origin import Origin

Report = dict[str, Any]
Sender = Callable[..., tuple[int, Report]]


def _requests(url: str, data: bytes, **options: Any) -> tuple[int, Report]:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE, **options))
        response = session.put(url, data=chunks(data))
        return response.status_code, response.restwell  # type: ignore[attr-defined]


def _httpx(url: str, data: bytes, **options: Any) -> tuple[int, Report]:
    with httpx2.Client(transport=RetryTransport(retry=THREE, **options)) as client:
        response = client.put(url, content=chunks(data))
        return response.status_code, response.extensions["restwell"]


def _httpx_async(url: str, data: bytes, **options: Any) -> tuple[int, Report]:
    async def main() -> tuple[int, Report]:
        transport = AsyncRetryTransport(retry=THREE, **options)
        async with httpx2.AsyncClient(transport=transport) as client:
            response = await client.put(url, content=achunks(data))
            return response.status_code, response.extensions["restwell"]

    return asyncio.run(main())


def _aiohttp(url: str, data: bytes, **options: Any) -> tuple[int, Report]:
    async def main() -> tuple[int, Report]:
        middleware = RetryMiddleware(retry=THREE, **options)
        async with (
            aiohttp.ClientSession(middlewares=(middleware,)) as session,
            session.put(url, data=achunks(data)) as response,
        ):
            return response.status, response.restwell  # type: ignore[attr-defined]

    return asyncio.run(main())


SENDERS: dict[str, Sender] = {
    "requests-adapter": _requests,
    "httpx2-transport": _httpx,
    "httpx2-async-transport": _httpx_async,
    "aiohttp-middleware": _aiohttp,
}
DROPPED: dict[str, type[BaseException] | tuple[type[BaseException], ...]] = {
    "requests-adapter": requests.ConnectionError,
    "httpx2-transport": (httpx2.ReadError, httpx2.RemoteProtocolError),
    "httpx2-async-transport": (httpx2.ReadError, httpx2.RemoteProtocolError),
    "aiohttp-middleware": (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError),
}
"""The library's own exception for a connection dropped before the answer."""


@pytest.fixture(params=list(SENDERS))
def kind(request: pytest.FixtureRequest) -> str:
    """The integration under test."""
    return str(request.param)


@pytest.fixture
def send(kind: str) -> Sender:
    """PUT a generator body through the integration: (status, restwell report)."""
    return SENDERS[kind]


@pytest.fixture
def dropped(kind: str) -> Any:
    """The integration's library's exception for a dropped connection."""
    return DROPPED[kind]


def test_a_small_generator_body_is_buffered_and_resent_in_full(
    send: Sender, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    status, report = send(f"{origin.url}/create/{key}?fail=2", BODY)

    assert (status, report["attempts"]) == (201, 3)
    assert [seen.body for seen in origin.seen(key)] == [BODY, BODY, BODY]


def test_a_generator_body_over_max_replay_bytes_is_sent_once_and_not_retried(
    send: Sender, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    status, report = send(f"{origin.url}/create/{key}?fail=2", BODY, max_replay_bytes=40)

    assert (status, report["attempts"], report["retries"]) == (503, 1, [])
    assert report["stop_reason"] == "503 Service Unavailable; the request body cannot be sent again"
    assert [seen.body for seen in origin.seen(key)] == [BODY]  # in full, once, never empty


def test_a_dropped_body_over_max_replay_bytes_raises_saying_why(
    send: Sender, dropped: Any, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with pytest.raises(dropped) as info:
        send(f"{origin.url}/create/{key}?drop=1", BODY, max_replay_bytes=40)

    report = info.value.restwell
    assert (report["attempts"], report["retries"]) == (1, [])
    assert report["stop_reason"] == "reset error; the request body cannot be sent again"
    assert [seen.body for seen in origin.seen(key)] == [BODY]


def test_a_body_exactly_at_max_replay_bytes_is_still_buffered(
    send: Sender, origin: Origin, key: str, no_sleep: list[float]
) -> None:
    status, report = send(f"{origin.url}/create/{key}?fail=1", BODY, max_replay_bytes=len(BODY))
    assert (status, report["attempts"]) == (201, 2)
    assert [seen.body for seen in origin.seen(key)] == [BODY, BODY]


def test_legacy_httpx_client_buffers_a_generator_body_too(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    # The same transport class serves the legacy module (its bases are both modules').
    transport: Any = RetryTransport(retry=THREE)  # (typed against httpx2's bases)
    with httpx.Client(transport=transport) as client:
        response = client.put(f"{origin.url}/create/{key}?fail=1", content=chunks())
    assert (response.status_code, response.extensions["restwell"]["attempts"]) == (201, 2)
    assert [seen.body for seen in origin.seen(key)] == [BODY, BODY]


# -- file objects ----------------------------------------------------------------------------


def test_requests_file_body_is_rewound_between_attempts(
    origin: Origin, key: str, no_sleep: list[float], tmp_path: Path
) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"HEAD" + BODY)
    with path.open("rb") as upload, requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE))
        upload.read(4)  # already partly read: what is left is the body, on every attempt
        response = session.put(f"{origin.url}/create/{key}?fail=2", data=upload)

    assert (response.status_code, response.restwell["attempts"]) == (201, 3)  # type: ignore[attr-defined]
    assert [seen.body for seen in origin.seen(key)] == [BODY, BODY, BODY]


def test_requests_in_memory_file_body_is_rewound_on_a_dropped_connection(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE))
        response = session.put(f"{origin.url}/create/{key}?drop=2", data=io.BytesIO(BODY))
    assert (response.status_code, response.restwell["attempts"]) == (201, 3)  # type: ignore[attr-defined]
    assert [seen.body for seen in origin.seen(key)] == [BODY, BODY, BODY]


def test_aiohttp_file_body_is_sent_once_in_full_and_not_retried(
    origin: Origin, key: str, no_sleep: list[float], tmp_path: Path
) -> None:
    # RetryMiddleware replays only bytes-backed payloads and buffered async iterables.
    path = tmp_path / "upload.bin"
    path.write_bytes(BODY)

    async def main() -> tuple[int, Report]:
        async with aiohttp.ClientSession(middlewares=(RetryMiddleware(retry=THREE),)) as s:
            with path.open("rb") as upload:
                async with s.put(f"{origin.url}/create/{key}?fail=1", data=upload) as response:
                    return response.status, response.restwell  # type: ignore[attr-defined]

    status, report = asyncio.run(main())
    assert (status, report["attempts"]) == (503, 1)
    assert report["stop_reason"] == "503 Service Unavailable; the request body cannot be sent again"
    assert [seen.body for seen in origin.seen(key)] == [BODY]
