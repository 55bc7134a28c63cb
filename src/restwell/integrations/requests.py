"""restwell's retry policy as a ``requests`` transport adapter.

::

    import requests
    from restwell.integrations.requests import RetryAdapter

    session = requests.Session()
    adapter = RetryAdapter(pool_maxsize=20)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.get(url, timeout=(5, 30))                       # retried by restwell's policy
    session.get(url, headers={"Restwell-Retry": "off"})     # this call: no retries

It replaces urllib3's ``Retry`` (the adapter's own retries are off): idempotency keys,
``Retry-After`` caps, the retry budget, the circuit breaker and deadlines apply. requests keeps
following redirects (each hop passes through here) and raising its own exceptions; the response
carries ``response.restwell`` with the attempts and retries made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3 import exceptions as u3
    from urllib3.util.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "restwell.integrations.requests needs requests: pip install 'restwell[requests]'"
    ) from exc

from restwell._flow import Close, FlowAction, Send, Sleep, request_flow, run_sync, sleep
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._requests import translate_requests
from restwell.backends._urllib3 import wrap_urllib3_headers
from restwell.integrations._common import (
    NATIVE_ERRORS,
    IntegrationBase,
    native_error,
    override_policy,
    report,
)

__all__ = ["OVERRIDE_HEADER", "RetryAdapter"]

OVERRIDE_HEADER = "Restwell-Retry"
"""Request header for a per-call override: ``off`` (or ``0``) for no retries, or a number of
attempts. It is removed before the request is sent."""

_NO_RETRIES = Retry(0, read=False, redirect=False)


def _override(value: str | None) -> Any:
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("off", "no", "none", "false", "0"):
        return override_policy(None)
    if text.isdigit():
        return override_policy(int(text))
    raise ValueError(f"{OVERRIDE_HEADER} must be 'off' or a number of attempts, not {value!r}")


def _timeout(value: Any) -> Timeout:
    if isinstance(value, tuple):
        return Timeout(value[0], value[1])
    if value is None or isinstance(value, int | float):
        return Timeout(value, value)
    # A urllib3 Timeout object.
    return Timeout(getattr(value, "connect_timeout", None), getattr(value, "read_timeout", None))


class _Closer:
    __slots__ = ("native",)

    def __init__(self, native: requests.Response) -> None:
        self.native = native

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        return self.native.iter_content(chunk_size)

    def close(self) -> None:
        with contextlib.suppress(requests.RequestException):
            _ = self.native.content  # small error bodies: read so the connection is reused
        self.native.close()


class RetryAdapter(IntegrationBase, HTTPAdapter):
    """An ``HTTPAdapter`` whose retries are restwell's.

    Args:
        pool_connections: Hosts whose pools are kept (as ``HTTPAdapter``).
        pool_maxsize: Connections kept per host (as ``HTTPAdapter``).
        pool_block: Wait for a free connection instead of opening more (as ``HTTPAdapter``).
        **options: As :class:`restwell.integrations._common.IntegrationBase`.
    """

    def __init__(
        self,
        pool_connections: int = 10,
        pool_maxsize: int = 10,
        pool_block: bool = False,
        **options: Any,
    ) -> None:
        IntegrationBase.__init__(self, **options)
        HTTPAdapter.__init__(
            self, pool_connections, pool_maxsize, max_retries=_NO_RETRIES, pool_block=pool_block
        )

    def _replayable(self, request: requests.PreparedRequest) -> tuple[bool, int | None]:
        """Make the body resendable if it is not; returns (replayable, file position)."""
        body: Any = request.body
        if body is None or isinstance(body, bytes | str):
            return True, None
        if hasattr(body, "seek") and hasattr(body, "tell"):
            try:
                return True, int(body.tell())
            except (OSError, ValueError):
                return False, None
        # A generator or other one-shot iterable: buffer it if it is small enough.
        rest = iter(body)
        head = bytearray()
        for chunk in rest:
            head += chunk.encode() if isinstance(chunk, str) else chunk
            if len(head) > self.max_replay_bytes:
                request.body = _chain(bytes(head), rest)
                return False, None
        request.body = bytes(head)
        request.headers.pop("Transfer-Encoding", None)
        request.headers["Content-Length"] = str(len(head))
        return True, None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send ``request`` under the retry policy (called by ``requests.Session``)."""
        raw_override = request.headers.pop(OVERRIDE_HEADER, None)
        policy = _override(_text(raw_override) if raw_override is not None else None)
        method = request.method or "GET"
        key = self.key_to_add(method, self.key_header in request.headers)
        if key is not None:
            request.headers[self.key_header] = key
        replayable, position = self._replayable(request)
        url = request.url or ""
        ours = Request(
            method.upper(),
            url,
            Headers((name, _text(value)) for name, value in request.headers.items()),
            None,
            {"native": request, "position": position, "stream": stream},
            origin=self.origins(url) if url else None,
            replayable=replayable,
        )
        options = {"verify": verify, "cert": cert, "proxies": proxies}

        def perform(action: FlowAction) -> Any:
            if type(action) is Send:
                assert isinstance(action, Send)
                return self._attempt(action, options)
            if type(action) is Sleep:
                assert isinstance(action, Sleep)
                return sleep(action.seconds)
            assert isinstance(action, Close)
            return action.response.close()

        flow = request_flow(ours, _timeout(timeout), self.flow_config, stream=True, policy=policy)
        try:
            response = run_sync(flow, perform)
        except NATIVE_ERRORS as exc:
            raise native_error(exc) from None
        finally:
            if raw_override is not None:
                # requests builds each redirect hop from this request: put the override back
                # so the next hop gets it too (and removes it again before sending).
                request.headers[OVERRIDE_HEADER] = raw_override
        native: requests.Response = response.native
        native.restwell = report(response)  # type: ignore[attr-defined]
        return native

    def _attempt(self, action: Send, options: dict[str, Any]) -> Response:
        request = action.request
        native_request: requests.PreparedRequest = request.extensions["native"]
        position = request.extensions["position"]
        if position is not None:
            native_request.body.seek(position)  # type: ignore[union-attr]
        timeout = action.timeout
        try:
            native = HTTPAdapter.send(
                self,
                native_request,
                stream=True,
                timeout=(timeout.connect, timeout.read),
                **options,
            )
            if not request.extensions["stream"]:
                _ = native.content  # read now, so a body cut short is retried like any drop
        except (requests.RequestException, u3.HTTPError, OSError) as exc:
            raise translate_requests(exc, request) from exc
        headers = native.raw.headers if native.raw is not None else None
        response = Response(
            native.status_code,
            wrap_urllib3_headers(headers) if headers is not None else Headers(native.headers),
            request=request,
            stream=_Closer(native),
        )
        response.native = native
        return response


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("latin-1")


def _chain(head: bytes, rest: Iterator[Any]) -> Iterator[bytes]:
    yield head
    for chunk in rest:
        yield chunk.encode() if isinstance(chunk, str) else chunk
