"""No retry is ever multiplied: each library's own retries are off under restwell.

Every test first shows the library alone retrying (the control: more hits than requests), then
counts exactly the policy's attempts under restwell. Server hits are counted by the origin; a
refused connect reaches no server, so httpx's connect retries are counted at its network
backend.
"""

from __future__ import annotations

import asyncio
import warnings

import aiohttp
import httpx2
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

import restwell
from restwell.errors import ConnectError, ConnectionDropped
from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import RetryAdapter
from tests.integrations.support import THREE, acount_connects, count_connects
from tests.origin import Origin

# -- requests: urllib3's Retry in the session's adapters ------------------------------------


@pytest.mark.parametrize("failing", ["flaky/{key}?fail=99", "drop/{key}?times=99"])
def test_urllib3_retry_of_a_wrapped_session_is_turned_off_with_a_warning(
    origin: Origin, key: str, no_sleep: list[float], failing: str
) -> None:
    path = failing.format(key=key)

    # Control: the session alone retries 503s and dropped GETs itself: 1 + 3 hits.
    alone = requests.Session()
    alone.mount("http://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503])))
    with alone, pytest.raises(requests.RequestException):
        alone.get(f"{origin.url}/{failing.format(key=key + '-alone')}").raise_for_status()
    assert origin.hits(f"{key}-alone") == 4

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503]))
    session.mount("http://", adapter)
    with pytest.warns(RuntimeWarning, match=r"turned off the urllib3 retries .* http://"):
        client = restwell.Client(origin.url, session=session, retry=THREE)
    with session, client:
        try:
            attempts = client.get(f"/{path}").attempts
        except ConnectionDropped as exc:
            attempts = exc.attempts

    assert attempts == 3
    assert origin.hits(key) == 3  # not 3 x 4
    assert adapter.max_retries.total == 0
    assert not adapter.max_retries.read
    assert not adapter.max_retries.redirect


def test_a_session_without_retries_is_wrapped_without_a_warning(origin: Origin) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with requests.Session() as session, restwell.Client(origin.url, session=session) as c:
            assert c.get("/ok").status_code == 200


def test_retry_adapter_never_lets_urllib3_retry(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    adapter = RetryAdapter(retry=THREE, breaker=False)
    assert (adapter.max_retries.total, adapter.max_retries.read) == (0, False)
    with requests.Session() as session:
        session.mount("http://", adapter)

        flaky = session.get(f"{origin.url}/flaky/{key}-503?fail=99")
        assert (flaky.status_code, flaky.restwell["attempts"]) == (503, 3)  # type: ignore[attr-defined]
        assert origin.hits(f"{key}-503") == 3

        with pytest.raises(requests.ConnectionError) as info:
            session.get(f"{origin.url}/drop/{key}-drop?times=99")
        assert info.value.restwell["attempts"] == 3  # type: ignore[attr-defined]
        assert origin.hits(f"{key}-drop") == 3

        # With restwell's retries off for the call, urllib3 adds none either.
        off = {"Restwell-Retry": "off"}
        assert session.get(f"{origin.url}/flaky/{key}-off?fail=99", headers=off).status_code == 503
        with pytest.raises(requests.ConnectionError):
            session.get(f"{origin.url}/drop/{key}-off-drop?times=99", headers=off)
        assert (origin.hits(f"{key}-off"), origin.hits(f"{key}-off-drop")) == (1, 1)


# -- httpx: a transport made with retries=N ----------------------------------------------------


def test_httpx_connect_retries_of_a_wrapped_client_are_turned_off_with_a_warning(
    dead_url: str, no_sleep: list[float]
) -> None:
    # Control: the transport alone makes 1 + 3 connect attempts.
    alone = httpx2.HTTPTransport(retries=3)
    counted = count_connects(alone)
    with httpx2.Client(transport=alone) as plain, pytest.raises(httpx2.ConnectError):
        plain.get(f"{dead_url}/ok")
    assert counted.connects == 4

    transport = httpx2.HTTPTransport(retries=3)
    counted = count_connects(transport)
    session = httpx2.Client(transport=transport)
    with pytest.warns(RuntimeWarning, match=r"turned off the connect retries .*retries=3"):
        client = restwell.Client(dead_url, session=session, retry=THREE)
    with session, client, pytest.raises(ConnectError) as info:
        client.get("/ok")
    assert info.value.attempts == 3
    assert counted.connects == 3  # not 3 x 4


def test_httpx_connect_retries_of_an_async_wrapped_client_are_turned_off(
    dead_url: str, no_sleep: list[float]
) -> None:
    async def main() -> tuple[int, int]:
        transport = httpx2.AsyncHTTPTransport(retries=3)
        counted = acount_connects(transport)
        session = httpx2.AsyncClient(transport=transport)
        with pytest.warns(RuntimeWarning, match="turned off the connect retries"):
            client = restwell.AsyncClient(dead_url, session=session, retry=THREE)
        async with session, client:
            with pytest.raises(ConnectError) as info:
                await client.get("/ok")
        return info.value.attempts, counted.connects

    assert asyncio.run(main()) == (3, 3)


def test_retry_transport_turns_off_its_inner_transports_retries(
    dead_url: str, no_sleep: list[float]
) -> None:
    inner = httpx2.HTTPTransport(retries=3)
    counted = count_connects(inner)
    with pytest.warns(RuntimeWarning, match=r"inner httpx transport \(retries=3\)"):
        transport = RetryTransport(transport=inner, retry=THREE)
    with httpx2.Client(transport=transport) as client, pytest.raises(httpx2.ConnectError) as info:
        client.get(f"{dead_url}/ok")
    assert info.value.restwell["attempts"] == 3  # type: ignore[attr-defined]
    assert counted.connects == 3


def test_async_retry_transport_turns_off_its_inner_transports_retries(
    dead_url: str, no_sleep: list[float]
) -> None:
    async def main() -> tuple[int, int]:
        inner = httpx2.AsyncHTTPTransport(retries=3)
        counted = acount_connects(inner)
        with pytest.warns(RuntimeWarning, match="inner httpx transport"):
            transport = AsyncRetryTransport(transport=inner, retry=THREE)
        async with httpx2.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx2.ConnectError) as info:
                await client.get(f"{dead_url}/ok")
        return info.value.restwell["attempts"], counted.connects  # type: ignore[attr-defined]

    assert asyncio.run(main()) == (3, 3)


def test_retry_transports_default_inner_transport_does_not_retry(
    dead_url: str, no_sleep: list[float]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transport = RetryTransport(retry=THREE)
    with httpx2.Client(transport=transport) as client, pytest.raises(httpx2.ConnectError):
        client.get(f"{dead_url}/ok")
    inner = transport._inner
    assert isinstance(inner, httpx2.HTTPTransport)
    assert inner._pool._retries == 0


# -- aiohttp: the hidden resend of an idempotent request on a dropped connection --------------


def test_aiohttp_resends_a_dropped_get_once_by_itself(origin: Origin, key: str) -> None:
    # The control for the two tests below: aiohttp alone sends this GET twice.
    async def main() -> None:
        async with aiohttp.ClientSession() as alone:
            async with alone.get(f"{origin.url}/ok") as pooled:
                await pooled.read()  # leaves a pooled connection
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await alone.get(f"{origin.url}/drop/{key}?times=99")

    asyncio.run(main())
    assert origin.hits(key) == 2


def test_aiohttp_hidden_resend_is_off_under_a_wrapping_async_client(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> int:
        async with (
            aiohttp.ClientSession() as session,
            restwell.AsyncClient(origin.url, session=session, retry=THREE) as client,
        ):
            await client.get("/ok")  # a pooled connection, dropped next
            with pytest.raises(ConnectionDropped) as info:
                await client.get(f"/drop/{key}?times=99")
        return info.value.attempts

    assert asyncio.run(main()) == 3
    assert origin.hits(key) == 3  # not 3 x 2


def test_aiohttp_hidden_resend_is_off_under_the_middleware(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> list[int]:
        attempts: list[int] = []
        middleware = RetryMiddleware(retry=THREE, breaker=False)
        async with aiohttp.ClientSession(middlewares=(middleware,)) as session:
            # The session's very first request: aiohttp chose to resend it before the
            # middleware ran; its resend is refused.
            with pytest.raises(aiohttp.ServerDisconnectedError) as first:
                await session.get(f"{origin.url}/drop/{key}-first?times=99")
            attempts.append(first.value.restwell["attempts"])  # type: ignore[attr-defined]
            # A later one, on a pooled connection.
            async with session.get(f"{origin.url}/ok") as pooled:
                await pooled.read()
            with pytest.raises(aiohttp.ServerDisconnectedError) as later:
                await session.get(f"{origin.url}/drop/{key}-later?times=99")
            attempts.append(later.value.restwell["attempts"])  # type: ignore[attr-defined]
        return attempts

    assert asyncio.run(main()) == [3, 3]
    assert origin.hits(f"{key}-first") == 3  # not 3 x 2
    assert origin.hits(f"{key}-later") == 3


def test_refusing_aiohttps_resend_does_not_refuse_the_next_same_request(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    # The first call gives up after 3 drops (and aiohttp's resend is refused); the same call
    # made again right away is a new request: sent, and answered (the 4th hit succeeds).
    async def main() -> int:
        url = f"{origin.url}/drop/{key}?times=3"
        async with aiohttp.ClientSession(middlewares=(RetryMiddleware(retry=THREE),)) as s:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await s.get(url)
            async with s.get(url) as again:
                return again.status

    assert asyncio.run(main()) == 200
    assert origin.hits(key) == 4
