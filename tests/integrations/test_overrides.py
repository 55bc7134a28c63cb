"""Per-request overrides, each in its library's native style: no retries, or another policy,
for one call, while the session's other calls keep the integration's policy."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx2
import pytest
import requests

from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import EXTENSION, AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import OVERRIDE_HEADER, RetryAdapter
from tests.client.support import fast
from tests.origin import Origin

FOUR = fast(4)


# -- httpx: the `restwell_retry` request extension -------------------------------------------


@pytest.mark.parametrize(
    ("override", "attempts"),
    [(None, 1), (False, 1), (2, 2), (fast(3), 3)],
    ids=["None", "False", "count", "policy"],
)
def test_httpx_extension_overrides_the_policy_for_one_call(
    origin: Origin, key: str, no_sleep: list[float], override: Any, attempts: int
) -> None:
    with httpx2.Client(transport=RetryTransport(retry=FOUR, breaker=False)) as client:
        once = client.get(f"{origin.url}/flaky/{key}?fail=99", extensions={EXTENSION: override})
        default = client.get(f"{origin.url}/flaky/{key}-default?fail=99")

    assert (once.status_code, once.extensions["restwell"]["attempts"]) == (503, attempts)
    assert origin.hits(key) == attempts
    assert default.extensions["restwell"]["attempts"] == 4  # the others keep the policy
    assert origin.hits(f"{key}-default") == 4


def test_async_httpx_extension_overrides_the_policy_for_one_call(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> list[int]:
        transport = AsyncRetryTransport(retry=FOUR, breaker=False)
        async with httpx2.AsyncClient(transport=transport) as client:
            url = f"{origin.url}/flaky/{key}"
            off = await client.get(f"{url}-off?fail=99", extensions={EXTENSION: None})
            two = await client.get(f"{url}-two?fail=99", extensions={EXTENSION: fast(2)})
            default = await client.get(f"{url}-default?fail=99")
        return [r.extensions["restwell"]["attempts"] for r in (off, two, default)]

    assert asyncio.run(main()) == [1, 2, 4]
    assert [origin.hits(f"{key}-{n}") for n in ("off", "two", "default")] == [1, 2, 4]


# -- requests: the `Restwell-Retry` header, removed before sending ---------------------------


@pytest.mark.parametrize(
    ("value", "attempts"), [("off", 1), ("0", 1), ("none", 1), ("2", 2), ("3", 3)]
)
def test_requests_header_overrides_the_policy_and_is_not_sent(
    origin: Origin, key: str, no_sleep: list[float], value: str, attempts: int
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=FOUR, breaker=False))
        once = session.get(f"{origin.url}/flaky/{key}?fail=99", headers={OVERRIDE_HEADER: value})
        default = session.get(f"{origin.url}/flaky/{key}-default?fail=99")

    assert (once.status_code, once.restwell["attempts"]) == (503, attempts)  # type: ignore[attr-defined]
    seen = origin.seen(key)
    assert len(seen) == attempts
    assert all("restwell-retry" not in s.headers for s in seen)  # removed before sending
    assert default.restwell["attempts"] == 4  # type: ignore[attr-defined]


def test_requests_header_with_a_bad_value_is_refused_unsent(origin: Origin, key: str) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter())
        with pytest.raises(ValueError, match="must be 'off' or a number of attempts"):
            session.get(f"{origin.url}/echo/{key}", headers={OVERRIDE_HEADER: "maybe"})
    assert origin.hits(key) == 0


# -- aiohttp: per-request `middlewares=` -----------------------------------------------------


def test_aiohttp_middlewares_override_the_policy_for_one_call(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> list[Any]:
        url = f"{origin.url}/flaky/{key}"
        async with aiohttp.ClientSession(
            middlewares=(RetryMiddleware(retry=FOUR, breaker=False),)
        ) as session:
            async with session.get(f"{url}-off?fail=99", middlewares=()) as off:
                plain = getattr(off, "restwell", None)  # no middleware ran: no report
            other = (RetryMiddleware(retry=fast(2), breaker=False),)
            async with session.get(f"{url}-two?fail=99", middlewares=other) as two:
                two_report = two.restwell  # type: ignore[attr-defined]
            async with session.get(f"{url}-default?fail=99") as default:
                default_report = default.restwell  # type: ignore[attr-defined]
        return [plain, two_report["attempts"], default_report["attempts"]]

    assert asyncio.run(main()) == [None, 2, 4]
    assert [origin.hits(f"{key}-{n}") for n in ("off", "two", "default")] == [1, 2, 4]


# -- an override holds for every redirect hop of its call ------------------------------------


def test_requests_header_override_holds_after_a_redirect(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    with requests.Session() as session:
        session.mount("http://", RetryAdapter(retry=FOUR, breaker=False))
        response = session.get(
            f"{origin.url}/redirect",
            params={"to": f"/flaky/{key}?fail=99"},
            headers={OVERRIDE_HEADER: "off"},
        )
    assert (response.status_code, response.restwell["attempts"]) == (503, 1)  # type: ignore[attr-defined]
    assert [s.headers.get("restwell-retry") for s in origin.seen(key)] == [None]


def test_httpx_extension_override_holds_after_a_redirect(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    transport = RetryTransport(retry=FOUR, breaker=False)
    with httpx2.Client(transport=transport, follow_redirects=True) as client:
        response = client.get(
            f"{origin.url}/redirect",
            params={"to": f"/flaky/{key}?fail=99"},
            extensions={EXTENSION: None},
        )
    assert (response.status_code, response.extensions["restwell"]["attempts"]) == (503, 1)
    assert origin.hits(key) == 1


def test_aiohttp_middlewares_override_holds_after_a_redirect(
    origin: Origin, key: str, no_sleep: list[float]
) -> None:
    async def main() -> int:
        middleware = RetryMiddleware(retry=FOUR, breaker=False)
        async with (
            aiohttp.ClientSession(middlewares=(middleware,)) as session,
            session.get(
                f"{origin.url}/redirect", params={"to": f"/flaky/{key}?fail=99"}, middlewares=()
            ) as response,
        ):
            return response.status

    assert asyncio.run(main()) == 503
    assert origin.hits(key) == 1
