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

    session.mount("https://", RetryAdapter(cache=MemoryCache()))
    session.get(url).restwell_cache                         # "miss", then "hit", ...
    session.get(url, headers={"Restwell-Cache": "refresh"})      # or "skip"
    session.get(url, headers={"Restwell-Cache-Key": "mine"})     # a custom key

It replaces urllib3's ``Retry`` (the adapter's own retries are off): idempotency keys,
``Retry-After`` caps, the retry budget, the circuit breaker and deadlines apply. requests keeps
following redirects (each hop passes through here) and raising its own exceptions; the response
carries ``response.restwell`` with the attempts and retries made (and, with a cache,
``"cache"``: what the cache did, also as ``response.restwell_cache``). The ``Restwell-*``
request headers are removed before the request is sent or weighed by the cache.

With ``cache=``, bodies are stored as urllib3 receives them (content-coded, as the origin sent
them); a hit is a ``requests.Response`` over a urllib3 ``HTTPResponse`` of the stored bytes, so
requests decodes it, streams it (``stream=True``, ``iter_content``, ``raw``) and checks it as it
does any other. A hit sets no cookies: ``Set-Cookie`` is applied when the response is received.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.structures import CaseInsensitiveDict
    from urllib3 import HTTPHeaderDict, HTTPResponse
    from urllib3 import exceptions as u3
    from urllib3.util.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "restwell.integrations.requests needs requests: pip install 'restwell[requests]'"
    ) from exc

from restwell._flow import FlowAction, Send, run_sync
from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._requests import translate_requests
from restwell.backends._urllib3 import wrap_urllib3_headers
from restwell.integrations._common import (
    CACHE_KEY_HEADER,
    CACHE_MODE_HEADER,
    NATIVE_ERRORS,
    BodyBuffer,
    IntegrationBase,
    cache_mode,
    native_error,
    override_policy,
    report,
)

__all__ = ["CACHE_KEY_HEADER", "CACHE_MODE_HEADER", "OVERRIDE_HEADER", "RetryAdapter"]

OVERRIDE_HEADER = "Restwell-Retry"
"""Request header for a per-call override: ``off`` (or ``0``) for no retries, or a number of
attempts. It is removed before the request is sent."""

_CONTROL_HEADERS = (OVERRIDE_HEADER, CACHE_MODE_HEADER, CACHE_KEY_HEADER)

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
        control = {
            name: request.headers.pop(name) for name in _CONTROL_HEADERS if name in request.headers
        }
        raw_override = control.get(OVERRIDE_HEADER)
        policy = _override(_text(raw_override) if raw_override is not None else None)
        mode = cache_mode(
            _text(control[CACHE_MODE_HEADER]) if CACHE_MODE_HEADER in control else None
        )
        custom_key = control.get(CACHE_KEY_HEADER)
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
            return self.perform_other(action, perform)

        flow = self.flow(
            ours,
            _timeout(timeout),
            policy,
            mode,
            None if custom_key is None else _text(custom_key),
        )
        try:
            response = run_sync(flow, perform)
        except NATIVE_ERRORS as exc:
            raise native_error(exc) from None
        finally:
            # requests builds each redirect hop from this request: put the overrides back so
            # the next hop gets them too (and removes them again before sending).
            request.headers.update(control)
        native: requests.Response | None = response.native
        if native is None:
            native = self._answer(response, request)
        done = native.restwell = report(response)  # type: ignore[attr-defined]
        if "cache" in done:
            native.restwell_cache = done["cache"]  # type: ignore[attr-defined]
        return native

    def _answer(self, response: Response, request: requests.PreparedRequest) -> requests.Response:
        """A ``requests.Response`` for an answer of the cache (hit, revalidated or stale)."""
        status = response.status_code
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        raw = HTTPResponse(
            body=io.BytesIO(response.content),
            headers=HTTPHeaderDict(response.headers.raw()),
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
        )
        return self.build_response(request, raw)

    def _attempt(self, action: Send, options: dict[str, Any]) -> Response:
        request = action.request
        native_request: requests.PreparedRequest = request.extensions["native"]
        if not action.stream:
            # A background revalidation: its own request, so the caller's (already answered,
            # maybe being redirected) one is left alone; GET and HEAD carry no body.
            native_request = native_request.copy()
            native_request.headers = CaseInsensitiveDict(request.headers.to_dict())
        else:
            for name, value in self.validators(request):
                if value is None:
                    native_request.headers.pop(name, None)
                else:
                    native_request.headers[name] = value
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
            raw = native.raw
            headers = (
                wrap_urllib3_headers(raw.headers) if raw is not None else Headers(native.headers)
            )
            limit = None
            if self.cache is not None and raw is not None:
                limit = self.body_limit(request, action.stream, native.status_code, headers)
            body = None
            if limit is not None:
                body = _read_raw(native, limit)
            elif not request.extensions["stream"]:
                _ = native.content  # read now, so a body cut short is retried like any drop
        except (requests.RequestException, u3.HTTPError, OSError) as exc:
            raise translate_requests(exc, request) from exc
        response = Response(
            native.status_code,
            headers,
            request=request,
            content=body,
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


class _Rest(io.RawIOBase):
    """A response body over the cache's limit: what was read, then the rest, as a file."""

    def __init__(self, head: bytes, rest: Iterator[bytes], source: HTTPResponse) -> None:
        super().__init__()
        self._pending = head
        self._rest = rest
        self._source = source
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._rest, None)
            if chunk is None:
                self._done = True
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            if not self._done:
                self._source.close()  # unread data on the wire: the connection cannot be reused
            self._source.release_conn()
        super().close()


def _read_raw(native: requests.Response, limit: int) -> bytes | None:
    """Read the body as received (content-coded) up to ``limit`` bytes (-1: all).

    ``native.raw`` becomes a urllib3 response over those bytes (and, when the body is longer
    than ``limit``, the rest still on the wire, returned as ``None``), so requests decodes,
    streams and checks it as usual and takes its cookies from the original.
    """
    source: HTTPResponse = native.raw
    chunks = source.stream(65536, decode_content=False)
    buffer = BodyBuffer(limit)
    body: Any = None
    for chunk in chunks:
        if buffer.add(chunk):
            body = io.BufferedReader(_Rest(buffer.value(), chunks, source))
            break
    else:
        source.release_conn()
    content = buffer.value() if body is None else None
    native.raw = HTTPResponse(
        body=io.BytesIO(content) if content is not None else body,
        headers=source.headers,
        status=source.status,
        version=source.version,
        reason=source.reason,
        preload_content=False,
        decode_content=source.decode_content,
        original_response=source._original_response,
        request_method=native.request.method if native.request is not None else None,
        request_url=source.url,
    )
    return content
