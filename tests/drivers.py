"""One synchronous face over every way restwell sends requests, so one test suite covers all.

Two families of drivers:

- **restwell clients**: ``restwell.Client`` / ``restwell.AsyncClient`` on each backend, the
  default ones (urllib3, aiohttp) and those over a session the user already has
  (``requests.Session``, ``httpx2.Client``, ``httpx.Client``, ``httpx2.AsyncClient``,
  ``aiohttp.ClientSession``). Async ones run on a private event loop.
- **integrations**: the user's own library with restwell inside (``RetryTransport`` /
  ``AsyncRetryTransport`` in ``httpx2``, ``RetryAdapter`` mounted on a ``requests.Session``,
  ``RetryMiddleware`` in an ``aiohttp.ClientSession``). These drivers are test glue: they turn
  the suite's calls into the library's native calls (base URL, query, body, headers, timeout,
  per-call ``retry=`` in the integration's native override style, ``idempotency_key=`` as a
  header) and turn the answer back into a :class:`restwell.Response` (attempts and retries
  from the integration's report) or into restwell's error types, using the backends'
  ``translate_*`` functions on the native exception.

Each kind has a capability set (:data:`CAPABILITIES`). A test that needs something only some
drivers have says so with ``@pytest.mark.needs("capability", ...)``; the driver fixtures skip
it, with the reason from :data:`REASONS`, for the kinds without it. An integration driver
given a client option it has no equivalent for raises ``TypeError`` (never ignores it), so a
missing mark fails loudly instead of passing silently.
"""

from __future__ import annotations

import asyncio
import json as _json
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Mapping
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlencode

import aiohttp
import httpx
import httpx2
import requests
from urllib3 import exceptions as u3

import restwell
from restwell import Headers, Request, Response, RetryPolicy, Timeout
from restwell.backends._aiohttp import translate_aiohttp
from restwell.backends._httpx import translate_httpx
from restwell.backends._requests import translate_requests
from restwell.errors import TransportError
from restwell.integrations.aiohttp import RetryMiddleware
from restwell.integrations.httpx import EXTENSION, AsyncRetryTransport, RetryTransport
from restwell.integrations.requests import OVERRIDE_HEADER, RetryAdapter
from restwell.policy import new_idempotency_key

T = TypeVar("T")

# -- kinds and what each can do --------------------------------------------------------------

SYNC_CLIENT_KINDS = ["urllib3", "requests", "httpx2", "httpx"]
"""``restwell.Client`` on its default backend, then over a user's sync session."""
ASYNC_CLIENT_KINDS = ["aiohttp", "httpx2-async", "aiohttp-session"]
"""``restwell.AsyncClient`` on its default backend, then over a user's async session."""
SYNC_INTEGRATION_KINDS = ["requests-adapter", "httpx2-transport"]
"""The user's sync library with restwell's integration inside."""
ASYNC_INTEGRATION_KINDS = ["httpx2-async-transport", "aiohttp-middleware"]
"""The user's async library with restwell's integration inside."""

SYNC_KINDS = SYNC_CLIENT_KINDS + SYNC_INTEGRATION_KINDS
ASYNC_KINDS = ASYNC_CLIENT_KINDS + ASYNC_INTEGRATION_KINDS
KINDS = SYNC_KINDS + ASYNC_KINDS

REASONS: dict[str, str] = {
    "client": "needs the restwell client object itself (its headers, timeout, build_request, "
    "repr, base_url check, refusal once closed); an integration has only the library's",
    "credentials": "needs restwell's token=/auth= options and JSON default headers; an "
    "integration adds no credentials or defaults (the library's own settings apply)",
    "stream": "needs restwell's stream() API (StreamNotRead, pool release on exit)",
    "max_body_size": "needs restwell's max_body_size; the integrations have no response-size limit",
    "restwell_redirects": "needs redirects followed by restwell's flow (RFC 9110 header rules, "
    "TooManyRedirects with its response, errors naming the hop); with an integration the "
    "library follows redirects by its own rules and raises its own error",
    "deadline_timeout": "needs a policy deadline to shrink each attempt's read timeout; "
    "RetryMiddleware cannot change aiohttp's per-request ClientTimeout (the deadline only "
    "bounds the waits between attempts)",
    "gather": "needs restwell.AsyncClient.gather/get_many (bounded fan-out)",
    "blocking_guard": "needs restwell.Client's BlockingCallError / allow_in_event_loop guard",
}
"""Why a test is skipped for a driver without the capability."""

_CLIENT = frozenset(
    {"client", "credentials", "stream", "max_body_size", "restwell_redirects", "deadline_timeout"}
)
CAPABILITIES: dict[str, frozenset[str]] = {
    **{kind: _CLIENT | {"blocking_guard"} for kind in SYNC_CLIENT_KINDS},
    **{kind: _CLIENT | {"gather"} for kind in ASYNC_CLIENT_KINDS},
    "requests-adapter": frozenset({"deadline_timeout"}),
    "httpx2-transport": frozenset({"deadline_timeout"}),
    "httpx2-async-transport": frozenset({"deadline_timeout"}),
    "aiohttp-middleware": frozenset(),
}
assert set(CAPABILITIES) == set(KINDS)
assert all(caps <= set(REASONS) for caps in CAPABILITIES.values())

REAL_WAIT_KINDS = [
    "urllib3",
    "aiohttp",
    "requests",
    "httpx2-async",
    "requests-adapter",
    "httpx2-async-transport",
]
"""Tests marked ``real_wait`` (seconds of real sleeping each) run for these drivers only: the
two default clients, a sync and an async backend over a user's session, and a sync and an
async integration. Waits come from the one shared flow, so the others add time, not
coverage; ``aiohttp-middleware`` is left out because it lacks ``deadline_timeout``."""


def missing_capabilities(kind: str, needed: set[str]) -> list[str]:
    """The capabilities in ``needed`` that drivers of ``kind`` lack."""
    return sorted(needed - CAPABILITIES[kind])


# -- the driver face -------------------------------------------------------------------------


class Driver(Protocol):
    name: str
    is_async: bool
    capabilities: frozenset[str]

    @property
    def client(self) -> restwell.Client | restwell.AsyncClient: ...

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response: ...

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any: ...

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        """Stream a request: its response and the chunks read (at most ``max_chunks``)."""
        ...

    def exit(self) -> None:
        """Leave the client's ``with`` / ``async with`` block (closes it)."""
        ...

    def close(self) -> None: ...


def _close_session(session: Any) -> None:
    if session is not None:
        session.close()


async def _aclose_session(session: Any) -> None:
    if isinstance(session, aiohttp.ClientSession):
        await session.close()
    elif session is not None:
        await session.aclose()


class SyncDriver:
    """``restwell.Client``, on its own backend or over a user's ``session``."""

    is_async = False

    def __init__(self, name: str, client: restwell.Client, session: Any = None) -> None:
        self.name = name
        self.capabilities = CAPABILITIES.get(name, _CLIENT | {"blocking_guard"})
        self._session = session
        # Used as a context manager, as applications do; `exit()` leaves the block.
        self._client = client.__enter__()

    @property
    def client(self) -> restwell.Client:
        return self._client

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self._client.request(method, url, **kwargs)

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._client.request_json(method, url, **kwargs)

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        out: list[bytes] = []
        with self._client.stream(method, url, **kwargs) as response:
            chunks = cast(Generator[bytes, None, None], response.iter_bytes(chunk_size))
            try:
                if max_chunks != 0:
                    for chunk in chunks:
                        out.append(chunk)
                        if max_chunks is not None and len(out) >= max_chunks:
                            break
            finally:
                chunks.close()
        return response, out

    def exit(self) -> None:
        # As `with requests.Session() as s, restwell.Client(session=s) as c:` unwinds: the
        # client's block, then the session's (restwell never closes a session it was given).
        self._client.__exit__(None, None, None)
        _close_session(self._session)

    def close(self) -> None:
        self._client.close()
        _close_session(self._session)


class AsyncDriver:
    """``restwell.AsyncClient``, on its own backend or over a user's session.

    ``factory(session)`` makes the client; ``session_factory`` (if any) makes the session,
    both inside the driver's event loop.
    """

    is_async = True

    def __init__(
        self,
        name: str,
        factory: Callable[[Any], restwell.AsyncClient],
        session_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.name = name
        self.capabilities = CAPABILITIES.get(name, _CLIENT | {"gather"})
        self.loop = asyncio.new_event_loop()
        self._session: Any = None

        async def make() -> restwell.AsyncClient:
            if session_factory is not None:
                self._session = session_factory()
            try:
                return await factory(self._session).__aenter__()
            except BaseException:
                await _aclose_session(self._session)  # e.g. the client refused its options
                raise

        try:
            self._client = self.loop.run_until_complete(make())
        except BaseException:
            self.loop.close()
            raise

    @property
    def client(self) -> restwell.AsyncClient:
        return self._client

    def run(self, fn: Callable[[restwell.AsyncClient], Coroutine[Any, Any, T]]) -> T:
        """Run ``fn(client)`` on the driver's event loop and return its result."""
        return self.loop.run_until_complete(fn(self._client))

    def request(self, method: str, url: str, **kwargs: Any) -> restwell.Response:
        return self.loop.run_until_complete(self._client.request(method, url, **kwargs))

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.loop.run_until_complete(self._client.request_json(method, url, **kwargs))

    def stream_bytes(
        self,
        method: str,
        url: str,
        *,
        chunk_size: int = 65536,
        max_chunks: int | None = None,
        **kwargs: Any,
    ) -> tuple[restwell.Response, list[bytes]]:
        async def read() -> tuple[restwell.Response, list[bytes]]:
            out: list[bytes] = []
            async with self._client.stream(method, url, **kwargs) as response:
                chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes(chunk_size))
                try:
                    if max_chunks != 0:
                        async for chunk in chunks:
                            out.append(chunk)
                            if max_chunks is not None and len(out) >= max_chunks:
                                break
                finally:
                    await chunks.aclose()
            return response, out

        return self.loop.run_until_complete(read())

    def exit(self) -> None:
        async def leave() -> None:
            await self._client.__aexit__(None, None, None)
            await _aclose_session(self._session)

        self.loop.run_until_complete(leave())

    def close(self) -> None:
        if not self.loop.is_closed():

            async def shut() -> None:
                await self._client.aclose()
                await _aclose_session(self._session)

            self.loop.run_until_complete(shut())
            self.loop.close()


# -- integration drivers: the user's library, restwell inside --------------------------------

_UNSET: Any = object()

FLOW_OPTIONS = frozenset(
    {
        "retry",
        "budget",
        "breaker",
        "rate_limit",
        "idempotency_keys",
        "on_retry",
        "clock",
        "random",
        "max_replay_bytes",
    }
)
"""Client options an integration takes as they are (``IntegrationBase``)."""


class Call:
    """One suite call turned into what a library sends natively."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: Timeout,
        retry: Any,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.retry = retry
        # What restwell's errors describe (method and URL) when translated from native ones.
        self.request = Request(method, url, Headers(headers), body)


def _report(native: object, into: Response | TransportError) -> None:
    """Copy an integration's report (``response.restwell`` / ``exc.restwell``) onto ours."""
    report = getattr(native, "restwell", None)
    if report is None and isinstance(native, httpx2.Response | httpx.Response):
        report = native.extensions.get("restwell")
    if report is None:
        return
    into.attempts = report["attempts"]
    into.retries = list(report["retries"])
    into.stop_reason = report.get("stop_reason")


def _translated(exc: Exception, translated: Exception) -> Exception:
    """Restwell's error for a native one, with the integration's report when it made one."""
    if isinstance(translated, TransportError):
        _report(exc, translated)
    return translated


class IntegrationDriver:
    """What every integration driver shares: options, and turning calls into native ones."""

    is_async = False

    def __init__(self, name: str, base_url: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.capabilities = CAPABILITIES[name]
        self.base_url = base_url.rstrip("/")
        rest = dict(options)
        self.timeout = Timeout.of(rest.pop("timeout")) if "timeout" in rest else Timeout()
        self.headers: dict[str, str] = dict(rest.pop("headers", None) or {})
        self.params: dict[str, Any] = dict(rest.pop("params", None) or {})
        self.follow_redirects: bool = rest.pop("follow_redirects", True)
        self.max_redirects: int = rest.pop("max_redirects", 20)
        self.flow_options = {option: rest.pop(option) for option in FLOW_OPTIONS & set(rest)}
        if rest:
            raise TypeError(
                f"the {name} driver has no native equivalent for {sorted(rest)}: mark the test "
                "with @pytest.mark.needs(...) so it is skipped for integrations"
            )
        retry = self.flow_options.get("retry")
        self.key_header = (
            retry.idempotency_header if isinstance(retry, RetryPolicy) else "Idempotency-Key"
        )

    @property
    def client(self) -> restwell.Client:
        raise RuntimeError(f"the {self.name} driver has no restwell client: needs('client')")

    def stream_bytes(
        self, method: str, url: str, **kwargs: Any
    ) -> tuple[restwell.Response, list[bytes]]:
        raise RuntimeError(f"the {self.name} driver has no restwell stream(): needs('stream')")

    def prepare(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | bool | None = None,
        timeout: Any = _UNSET,
        retry: Any = _UNSET,
    ) -> Call:
        """The suite's call (restwell's keywords) as the pieces a native call takes."""
        method = method.upper()
        if "://" not in url:
            url = f"{self.base_url}/{url.lstrip('/')}" if url else self.base_url
        merged = {**self.params, **(params or {})}
        query = urlencode({k: v for k, v in merged.items() if v is not None}, doseq=True)
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        sent = dict(headers or {})
        if any(value is None for value in sent.values()):
            raise TypeError("removing a session header per call has no native equivalent")
        lowered = {name.lower() for name in sent}
        body: bytes | None = None
        if json is not None:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            if "content-type" not in lowered:
                sent["Content-Type"] = "application/json"
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            if "content-type" not in lowered:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if isinstance(idempotency_key, str):
            sent[self.key_header] = idempotency_key
        elif idempotency_key is True:
            sent[self.key_header] = new_idempotency_key()
        per_call = self.timeout if timeout is _UNSET else Timeout.of(timeout)
        return Call(method, url, sent, body, per_call, retry)

    def _response(
        self,
        status: int,
        headers: Headers,
        body: bytes,
        url: str,
        request: Request,
        native: object,
    ) -> Response:
        response = Response(status, headers, request=request, content=body, url=url)
        response.native = native
        _report(native, response)
        return response


def _json_of(response: Response) -> Any:
    """As ``restwell.Client.request_json``: the status first, then the JSON (None if empty)."""
    response.raise_for_status()
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


class SyncIntegrationDriver(IntegrationDriver):
    def send(self, call: Call) -> Response:
        raise NotImplementedError

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        return self.send(self.prepare(method, url, **kwargs))

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return _json_of(self.request(method, url, **kwargs))


class AsyncIntegrationDriver(IntegrationDriver):
    is_async = True

    def __init__(self, name: str, base_url: str, options: Mapping[str, Any]) -> None:
        super().__init__(name, base_url, options)
        self.loop = asyncio.new_event_loop()

    async def send(self, call: Call) -> Response:
        raise NotImplementedError

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        return self.loop.run_until_complete(self.send(self.prepare(method, url, **kwargs)))

    def request_json(self, method: str, url: str, **kwargs: Any) -> Any:
        return _json_of(self.request(method, url, **kwargs))


# requests + RetryAdapter ---------------------------------------------------------------------


def _requests_response(native: requests.Response, body: bytes) -> tuple[Headers, Request]:
    raw = native.raw.headers if native.raw is not None else None
    headers = Headers(raw.items() if raw is not None else native.headers.items())
    prepared = native.request
    request = Request(
        (prepared.method or "GET").upper(),
        prepared.url or str(native.url),
        Headers((k, v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()),
    )
    return headers, request


class RequestsAdapterDriver(SyncIntegrationDriver):
    """``requests.Session`` with ``RetryAdapter(**options)`` mounted for http and https."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__("requests-adapter", base_url, options)
        self.adapter = RetryAdapter(**self.flow_options)
        self.session = requests.Session()
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)
        self.session.headers.update(self.headers)
        self.session.max_redirects = self.max_redirects

    def _override(self, call: Call) -> dict[str, str]:
        if call.retry is _UNSET:
            return {}
        if call.retry is None:
            return {OVERRIDE_HEADER: "off"}
        if isinstance(call.retry, int):
            return {OVERRIDE_HEADER: str(call.retry)}
        raise TypeError("the Restwell-Retry header carries 'off' or an attempt count only")

    def send(self, call: Call) -> Response:
        try:
            native = self.session.request(
                call.method,
                call.url,
                data=call.body,
                headers={**call.headers, **self._override(call)},
                timeout=(call.timeout.connect, call.timeout.read),
                allow_redirects=self.follow_redirects,
            )
        except restwell.RestwellError:
            raise
        except (requests.RequestException, u3.HTTPError, OSError) as exc:
            raise _translated(exc, translate_requests(exc, call.request)) from exc
        headers, request = _requests_response(native, native.content)
        response = self._response(
            native.status_code, headers, native.content, native.url, request, native
        )
        response.history = [
            Response(h.status_code, _requests_response(h, b"")[0], request=request, url=h.url)
            for h in native.history
        ]
        return response

    def exit(self) -> None:
        self.session.close()

    def close(self) -> None:
        self.session.close()


# httpx2 + RetryTransport / AsyncRetryTransport ----------------------------------------------


def _httpx_timeout(timeout: Timeout) -> httpx2.Timeout:
    return httpx2.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.read, pool=timeout.pool
    )


def _httpx_extensions(call: Call) -> dict[str, Any]:
    return {} if call.retry is _UNSET else {EXTENSION: call.retry}


def _httpx_parts(native: httpx2.Response) -> tuple[Headers, Request]:
    sent = native.request
    request = Request(sent.method, str(sent.url), Headers(sent.headers.multi_items()))
    return Headers(native.headers.multi_items()), request


class _HttpxDriverBase:
    name: str

    def _convert(self, driver: IntegrationDriver, native: httpx2.Response) -> Response:
        headers, request = _httpx_parts(native)
        response = driver._response(
            native.status_code, headers, native.content, str(native.url), request, native
        )
        response.history = [
            Response(h.status_code, _httpx_parts(h)[0], request=request, url=str(h.url))
            for h in native.history
        ]
        return response


class HttpxTransportDriver(SyncIntegrationDriver, _HttpxDriverBase):
    """``httpx2.Client(transport=RetryTransport(**options))``."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__("httpx2-transport", base_url, options)
        self.transport = RetryTransport(**self.flow_options)
        self.session = httpx2.Client(
            transport=self.transport,
            headers=self.headers,
            timeout=_httpx_timeout(self.timeout),
            follow_redirects=self.follow_redirects,
            max_redirects=self.max_redirects,
        )

    def send(self, call: Call) -> Response:
        try:
            native = self.session.request(
                call.method,
                call.url,
                content=call.body,
                headers=call.headers,
                timeout=_httpx_timeout(call.timeout),
                extensions=_httpx_extensions(call),
            )
        except restwell.RestwellError:
            raise
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise _translated(exc, translate_httpx(httpx2, exc, call.request)) from exc
        return self._convert(self, native)

    def exit(self) -> None:
        self.session.__exit__(None, None, None)

    def close(self) -> None:
        self.session.close()


class HttpxAsyncTransportDriver(AsyncIntegrationDriver, _HttpxDriverBase):
    """``httpx2.AsyncClient(transport=AsyncRetryTransport(**options))``."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__("httpx2-async-transport", base_url, options)
        self.transport = AsyncRetryTransport(**self.flow_options)

        async def make() -> httpx2.AsyncClient:
            return httpx2.AsyncClient(
                transport=self.transport,
                headers=self.headers,
                timeout=_httpx_timeout(self.timeout),
                follow_redirects=self.follow_redirects,
                max_redirects=self.max_redirects,
            )

        self.session = self.loop.run_until_complete(make())

    async def send(self, call: Call) -> Response:
        try:
            native = await self.session.request(
                call.method,
                call.url,
                content=call.body,
                headers=call.headers,
                timeout=_httpx_timeout(call.timeout),
                extensions=_httpx_extensions(call),
            )
        except restwell.RestwellError:
            raise
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise _translated(exc, translate_httpx(httpx2, exc, call.request)) from exc
        return self._convert(self, native)

    def exit(self) -> None:
        self.loop.run_until_complete(self.session.aclose())

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.session.aclose())
            self.loop.close()


# aiohttp + RetryMiddleware -------------------------------------------------------------------


def _aiohttp_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=timeout.connect, sock_read=timeout.read)


def _aiohttp_parts(native: aiohttp.ClientResponse) -> tuple[Headers, Request]:
    info = native.request_info
    request = Request(info.method, str(info.url), Headers(list(info.headers.items())))
    return Headers(list(native.headers.items())), request


class AiohttpMiddlewareDriver(AsyncIntegrationDriver):
    """``aiohttp.ClientSession(middlewares=(RetryMiddleware(**options),))``."""

    def __init__(self, base_url: str, **options: Any) -> None:
        super().__init__("aiohttp-middleware", base_url, options)
        self.middleware = RetryMiddleware(**self.flow_options)

        async def make() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(
                middlewares=(self.middleware,),
                headers=self.headers,
                timeout=_aiohttp_timeout(self.timeout),
            )

        self.session = self.loop.run_until_complete(make())

    def _middlewares(self, call: Call) -> dict[str, Any]:
        """aiohttp's per-request override: no middleware, or another RetryMiddleware."""
        if call.retry is _UNSET:
            return {}
        if call.retry is None:
            return {"middlewares": ()}
        shared = self.middleware.flow_config
        other = RetryMiddleware(
            retry=call.retry,
            # The same budget, breaker and gate, so the override changes only the policy.
            budget=shared.budget or False,
            breaker=shared.breaker or False,
            rate_limit=shared.gate or False,
            idempotency_keys=self.middleware.idempotency_keys,
            max_replay_bytes=self.middleware.max_replay_bytes,
            on_retry=shared.on_retry,
            clock=shared.clock,
            random=shared.random,
        )
        return {"middlewares": (other,)}

    async def send(self, call: Call) -> Response:
        try:
            async with self.session.request(
                call.method,
                call.url,
                data=call.body,
                headers=call.headers,
                timeout=_aiohttp_timeout(call.timeout),
                allow_redirects=self.follow_redirects,
                max_redirects=self.max_redirects,
                **self._middlewares(call),
            ) as native:
                body = await native.read()
        except restwell.RestwellError:
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _translated(exc, translate_aiohttp(exc, call.request)) from exc
        headers, request = _aiohttp_parts(native)
        response = self._response(native.status, headers, body, str(native.url), request, native)
        response.history = [
            Response(h.status, _aiohttp_parts(h)[0], request=request, url=str(h.url))
            for h in native.history
        ]
        return response

    def exit(self) -> None:
        self.loop.run_until_complete(self.session.close())

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.session.close())
            self.loop.close()


# -- factories -------------------------------------------------------------------------------

DriverFactory = Callable[..., Driver]
SyncDriverFactory = Callable[..., Driver]
AsyncDriverFactory = Callable[..., AsyncDriver]


def make_driver(kind: str, base_url: str, **options: Any) -> Driver:
    """A driver of ``kind`` with restwell client ``options``."""
    if kind in SYNC_KINDS:
        return make_sync_driver(kind, base_url, **options)
    if kind in ASYNC_INTEGRATION_KINDS:
        return make_async_integration_driver(kind, base_url, **options)
    return make_async_driver(kind, base_url, **options)


def make_sync_driver(kind: str, base_url: str, **options: Any) -> Driver:
    """A sync driver: ``restwell.Client`` on backend ``kind``, or a sync integration."""
    if kind == "urllib3":
        return SyncDriver(kind, restwell.Client(base_url, **options))
    if kind == "requests":
        session: Any = requests.Session()
    elif kind == "httpx2":
        session = httpx2.Client()
    elif kind == "httpx":
        session = httpx.Client()
    elif kind == "requests-adapter":
        return RequestsAdapterDriver(base_url, **options)
    elif kind == "httpx2-transport":
        return HttpxTransportDriver(base_url, **options)
    else:
        raise ValueError(kind)
    try:
        return SyncDriver(kind, restwell.Client(base_url, session=session, **options), session)
    except BaseException:
        session.close()
        raise


def make_async_driver(kind: str, base_url: str, **options: Any) -> AsyncDriver:
    """A driver over :class:`restwell.AsyncClient` on backend ``kind``."""
    if kind == "aiohttp":
        return AsyncDriver(kind, lambda _: restwell.AsyncClient(base_url, **options))
    sessions: dict[str, Callable[[], Any]] = {
        "httpx2-async": httpx2.AsyncClient,
        "aiohttp-session": aiohttp.ClientSession,
    }
    if kind not in sessions:
        raise ValueError(kind)
    return AsyncDriver(
        kind,
        lambda session: restwell.AsyncClient(base_url, session=session, **options),
        sessions[kind],
    )


def make_async_integration_driver(kind: str, base_url: str, **options: Any) -> Driver:
    """An async integration driver."""
    if kind == "httpx2-async-transport":
        return HttpxAsyncTransportDriver(base_url, **options)
    if kind == "aiohttp-middleware":
        return AiohttpMiddlewareDriver(base_url, **options)
    raise ValueError(kind)
