"""The integrations keep their library's own behaviour: the library follows redirects (each
hop passing through restwell's policy) and raises its own exceptions once retries are
exhausted, with restwell's report attached as ``.restwell``."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx2
import pytest
import requests

from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import RetryAdapter
from tests.client.support import fast
from tests.integrations.support import THREE
from tests.origin import Origin

# -- redirects: followed by the library, every hop under the policy --------------------------


def test_requests_follows_redirects_and_retries_each_hop(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE))
        response = session.get(
            f"{origin.url}/redirect", params={"to": f"/flaky/{key}?fail=2", "status": "307"}
        )
    assert (response.status_code, response.json()) == (200, {"attempts": 3})
    assert [hop.status_code for hop in response.history] == [307]
    # Each hop has its own report: the last one was retried twice.
    assert response.restwell["attempts"] == 3  # type: ignore[attr-defined]
    assert response.history[0].restwell["attempts"] == 1  # type: ignore[attr-defined]
    assert origin.hits(key) == 3


def test_httpx_follows_redirects_and_retries_each_hop(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    transport = RetryTransport(retry=THREE)
    with httpx2.Client(transport=transport, follow_redirects=True) as client:
        response = client.get(
            f"{origin.url}/redirect", params={"to": f"/flaky/{key}?fail=2", "status": 302}
        )
        chain = client.get(f"{origin.url}/hops/3")
    assert (response.status_code, response.json()) == (200, {"attempts": 3})
    assert response.extensions["restwell"]["attempts"] == 3
    assert [hop.status_code for hop in chain.history] == [302, 302, 302]
    assert [hop.extensions["restwell"]["attempts"] for hop in chain.history] == [1, 1, 1]


def test_httpx_left_to_not_follow_gets_the_redirect_itself(origin: Origin) -> None:
    # The transport never follows a redirect on its own: httpx's setting decides.
    with httpx2.Client(transport=RetryTransport()) as client:
        response = client.get(f"{origin.url}/hops/1")
    assert (response.status_code, response.headers["location"]) == (302, "/hops/0")


def test_async_httpx_follows_redirects_and_retries_each_hop(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> tuple[int, int, list[int]]:
        transport = AsyncRetryTransport(retry=THREE)
        async with httpx2.AsyncClient(transport=transport, follow_redirects=True) as client:
            response = await client.get(
                f"{origin.url}/redirect", params={"to": f"/flaky/{key}?fail=1"}
            )
        attempts = response.extensions["restwell"]["attempts"]
        return response.status_code, attempts, [h.status_code for h in response.history]

    assert asyncio.run(main()) == (200, 2, [302])
    assert origin.hits(key) == 2


def test_aiohttp_follows_redirects_and_retries_each_hop(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> tuple[int, int, list[int]]:
        async with (
            aiohttp.ClientSession(middlewares=(RetryMiddleware(retry=THREE),)) as s,
            s.post(
                f"{origin.url}/redirect",
                params={"to": f"/flaky/{key}?fail=2", "status": "303"},
                json={"ignored": True},
            ) as response,
        ):
            report = response.restwell  # type: ignore[attr-defined]
            return response.status, report["attempts"], [h.status for h in response.history]

    assert asyncio.run(main()) == (200, 3, [303])
    assert [seen.method for seen in origin.seen(key)] == ["GET"] * 3  # 303: a GET, retried


# -- the library's own exceptions after retries are exhausted --------------------------------


def _report(exc: BaseException) -> dict[str, Any]:
    report: dict[str, Any] = exc.restwell  # type: ignore[attr-defined]
    return report


def test_httpx_raises_its_own_read_timeout_after_the_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    transport = RetryTransport(retry=fast(2))
    with (
        httpx2.Client(transport=transport, timeout=httpx2.Timeout(2, read=0.1)) as client,
        pytest.raises(httpx2.ReadTimeout) as info,
    ):
        client.get(f"{origin.url}/slow/{key}?delay=1")
    report = _report(info.value)
    assert report["attempts"] == 2
    assert [r.outcome for r in report["retries"]] == ["read_timeout"]
    assert report["stop_reason"] == "read_timeout error; attempts exhausted (2 of 2)"
    assert origin.hits(key) == 2


def test_async_httpx_raises_its_own_error_for_a_dropped_connection(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> BaseException:
        async with httpx2.AsyncClient(transport=AsyncRetryTransport(retry=THREE)) as client:
            with pytest.raises(httpx2.TransportError) as info:
                await client.get(f"{origin.url}/drop/{key}?times=99")
        return info.value

    error = asyncio.run(main())
    assert isinstance(error, httpx2.ReadError | httpx2.RemoteProtocolError)
    assert _report(error)["attempts"] == 3
    assert origin.hits(key) == 3


def test_requests_raises_its_own_errors_after_the_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=THREE, breaker=False))
        with pytest.raises(requests.exceptions.ConnectionError) as dropped:
            session.get(f"{origin.url}/drop/{key}?times=99")
        with pytest.raises(requests.exceptions.ReadTimeout) as slow:
            session.get(f"{origin.url}/slow/{key}-slow?delay=1", timeout=(2, 0.1))
    assert _report(dropped.value)["attempts"] == 3
    assert _report(dropped.value)["stop_reason"] == "reset error; attempts exhausted (3 of 3)"
    assert _report(slow.value)["attempts"] == 3
    assert (origin.hits(key), origin.hits(f"{key}-slow")) == (3, 3)


def test_aiohttp_raises_its_own_errors_after_the_retries(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> tuple[BaseException, BaseException]:
        middleware = RetryMiddleware(retry=THREE, breaker=False)
        timeout = aiohttp.ClientTimeout(sock_read=0.1)
        async with aiohttp.ClientSession(middlewares=(middleware,), timeout=timeout) as s:
            with pytest.raises(aiohttp.ServerDisconnectedError) as dropped:
                await s.get(f"{origin.url}/drop/{key}?times=99")
            with pytest.raises(aiohttp.ServerTimeoutError) as slow:
                await s.get(f"{origin.url}/slow/{key}-slow?delay=1")
        return dropped.value, slow.value

    dropped, slow = asyncio.run(main())
    assert _report(dropped)["attempts"] == _report(slow)["attempts"] == 3
    assert (origin.hits(key), origin.hits(f"{key}-slow")) == (3, 3)


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://:80/x", httpx2.UnsupportedProtocol),
        ("ftp://example.com/x", httpx2.UnsupportedProtocol),
    ],
)
def test_an_unusable_url_raises_httpxs_own_error(url: str, error: type[Exception]) -> None:
    # Not restwell's InvalidURL: an httpx user catches what httpx raises.
    with httpx2.Client(transport=RetryTransport()) as client, pytest.raises(error):
        client.get(url)
