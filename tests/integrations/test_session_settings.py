"""A session the user already has keeps its settings under restwell.

Headers, cookies and credentials set on the session reach the server, on the first attempt
and on every retry, and restwell's own defaults (``Accept: application/json``, its
``User-Agent``) never replace the user's choices. TLS and proxy settings are left as they
were (checked on the session object: the origin speaks plain HTTP on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import httpx2
import pytest
import requests

import restwell
from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import RetryAdapter
from tests.integrations.support import THREE
from tests.origin import Origin, Seen

BASIC = "Basic " + base64.b64encode(b"ada:pw").decode()
PROXIES = {"https": "http://proxy.invalid:3128"}  # https only: these plain requests go direct
USER_HEADERS = {"User-Agent": "my-app/1.0", "Accept": "application/vnd.api+json", "X-Team": "core"}


def _assert_kept(seen: list[Seen], *, accept: str = "application/vnd.api+json") -> None:
    """Every attempt (a 503, then the retry) carried the session's own settings."""
    assert len(seen) == 2
    for attempt in seen:
        assert attempt.headers["user-agent"] == "my-app/1.0"
        assert attempt.headers["accept"] == accept
        assert attempt.headers["x-team"] == "core"
        assert attempt.headers["cookie"] == "sid=abc"
        assert attempt.headers["authorization"] == BASIC


# -- backends: restwell's API over the user's session ---------------------------------------


def test_requests_session_settings_are_kept(
    origin: Origin, key: str, no_sleep: list[float], tmp_path: Path
) -> None:
    cert = (str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    for path in cert:  # (requests checks that they exist, even for plain http)
        Path(path).write_text("unused")
    session = requests.Session()
    session.headers.update(USER_HEADERS)
    session.cookies.set("sid", "abc")
    session.auth = ("ada", "pw")
    session.verify = "/etc/ssl/certs/my-ca.pem"
    session.cert = cert
    session.proxies = dict(PROXIES)
    headers_before = dict(session.headers)

    with session, restwell.Client(origin.url, session=session, retry=THREE) as client:
        assert client.get(f"/flaky/{key}?fail=1").status_code == 200

    _assert_kept(origin.seen(key))
    assert dict(session.headers) == headers_before
    assert session.cookies.get("sid") == "abc"
    assert session.auth == ("ada", "pw")
    assert session.verify == "/etc/ssl/certs/my-ca.pem"
    assert session.cert == cert
    assert session.proxies == PROXIES


def test_requests_library_defaults_give_way_to_restwells_json_defaults(
    origin: Origin,
) -> None:
    # requests' own `Accept: */*` and `User-Agent: python-requests/...` are not the user's
    # choices: restwell's JSON defaults replace them (and the session is not changed).
    with requests.Session() as session, restwell.Client(origin.url, session=session) as client:
        echoed = client.get_json("/echo")["headers"]
    assert echoed["accept"] == "application/json"
    assert echoed["user-agent"].startswith("restwell/")
    assert session.headers["Accept"] == "*/*"


@pytest.mark.parametrize("module", [httpx2, httpx], ids=["httpx2", "httpx"])
def test_httpx_client_settings_are_kept(
    origin: Origin, key: str, no_sleep: list[float], module: Any
) -> None:
    proxied = module.HTTPTransport(proxy="http://proxy.invalid:3128")
    session = module.Client(
        headers=USER_HEADERS,
        cookies={"sid": "abc"},
        auth=("ada", "pw"),
        verify=False,
        mounts={"https://": proxied},
    )
    transport = session._transport
    headers_before = dict(session.headers)

    with session, restwell.Client(origin.url, session=session, retry=THREE) as client:
        assert client.get(f"/flaky/{key}?fail=1").status_code == 200

    _assert_kept(origin.seen(key))
    assert dict(session.headers) == headers_before
    assert session.cookies["sid"] == "abc"
    assert session._transport is transport
    assert transport._pool._ssl_context.verify_mode == ssl.CERT_NONE  # verify=False, kept
    assert list(session._mounts.values()) == [proxied]


def test_async_httpx_client_settings_are_kept(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> dict[str, str]:
        session = httpx2.AsyncClient(
            headers=USER_HEADERS, cookies={"sid": "abc"}, auth=("ada", "pw")
        )
        async with session, restwell.AsyncClient(origin.url, session=session, retry=THREE) as c:
            assert (await c.get(f"/flaky/{key}?fail=1")).status_code == 200
        return dict(session.headers)

    headers_after = asyncio.run(main())
    _assert_kept(origin.seen(key))
    assert headers_after["user-agent"] == "my-app/1.0"


def test_aiohttp_session_settings_are_kept(origin: Origin, key: str, no_sleep: list[float]) -> None:
    async def main() -> None:
        connector = aiohttp.TCPConnector(ssl=False, limit=7)
        headers = {**USER_HEADERS, "Authorization": BASIC}
        session = aiohttp.ClientSession(
            headers=headers, cookies={"sid": "abc"}, connector=connector
        )
        async with session, restwell.AsyncClient(origin.url, session=session, retry=THREE) as c:
            assert (await c.get(f"/flaky/{key}?fail=1")).status_code == 200
            assert session.connector is connector
            assert connector.limit == 7
            assert dict(session.headers) == headers

    asyncio.run(main())
    _assert_kept(origin.seen(key))


# -- integrations: the user's own session, restwell inside ----------------------------------


def test_requests_session_with_the_adapter_keeps_its_settings_on_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE))
        session.headers.update(USER_HEADERS)
        session.cookies.set("sid", "abc")
        session.auth = ("ada", "pw")
        response = session.get(f"{origin.url}/flaky/{key}?fail=1")
    assert response.restwell["attempts"] == 2  # type: ignore[attr-defined]
    _assert_kept(origin.seen(key))


def test_httpx_client_with_the_transport_keeps_its_settings_on_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with httpx2.Client(
        transport=RetryTransport(retry=THREE),
        headers=USER_HEADERS,
        cookies={"sid": "abc"},
        auth=("ada", "pw"),
    ) as session:
        response = session.get(f"{origin.url}/flaky/{key}?fail=1")
    assert response.extensions["restwell"]["attempts"] == 2
    _assert_kept(origin.seen(key))


def test_async_httpx_client_with_the_transport_keeps_its_settings_on_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> int:
        async with httpx2.AsyncClient(
            transport=AsyncRetryTransport(retry=THREE),
            headers=USER_HEADERS,
            cookies={"sid": "abc"},
            auth=("ada", "pw"),
        ) as session:
            response = await session.get(f"{origin.url}/flaky/{key}?fail=1")
        return int(response.extensions["restwell"]["attempts"])

    assert asyncio.run(main()) == 2
    _assert_kept(origin.seen(key))


def test_aiohttp_session_with_the_middleware_keeps_its_settings_on_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> int:
        async with (
            aiohttp.ClientSession(
                middlewares=(RetryMiddleware(retry=THREE),),
                headers={**USER_HEADERS, "Authorization": BASIC},
                cookies={"sid": "abc"},
            ) as session,
            session.get(f"{origin.url}/flaky/{key}?fail=1") as response,
        ):
            return int(response.restwell["attempts"])  # type: ignore[attr-defined]

    assert asyncio.run(main()) == 2
    _assert_kept(origin.seen(key))
