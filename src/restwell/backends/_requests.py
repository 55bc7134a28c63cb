"""A sync backend over a ``requests.Session`` the user already has (extra ``requests``).

The session keeps its own settings (adapters, proxies, certificates, cookies, headers, auth);
restwell sends through it with redirects off, and turns off urllib3 retries mounted in its
adapters, so retries are never multiplied.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3 import HTTPHeaderDict
    from urllib3 import exceptions as u3
    from urllib3.util.retry import Retry
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "restwell's requests backend needs the 'requests' extra: pip install 'restwell[requests]'"
    ) from exc

from restwell._models import Headers, Request, Response, Timeout
from restwell.backends._base import read_limited
from restwell.backends._urllib3 import translate_urllib3, wrap_urllib3_headers
from restwell.errors import (
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    InvalidURL,
    ProtocolError,
    ReadTimeout,
    TransportError,
)

__all__ = ["RequestsBackend", "disable_adapter_retries"]

_NO_RETRIES = Retry(0, read=False, redirect=False)


def disable_adapter_retries(session: requests.Session, *, warn: bool = True) -> list[str]:
    """Turn off the urllib3 retries of every ``HTTPAdapter`` mounted on ``session``.

    Returns:
        The prefixes whose adapters had retries configured (and now have none).
    """
    changed: list[str] = []
    for prefix, adapter in session.adapters.items():
        if not isinstance(adapter, HTTPAdapter):
            continue
        retries = adapter.max_retries
        if retries.total or retries.connect or retries.read or retries.status:
            changed.append(prefix)
        adapter.max_retries = _NO_RETRIES
    if changed and warn:
        warnings.warn(
            f"restwell turned off the urllib3 retries of the session's adapters for "
            f"{', '.join(changed)}: restwell's policy retries instead, so attempts are not "
            "multiplied",
            RuntimeWarning,
            stacklevel=3,
        )
    return changed


def translate_requests(exc: Exception, request: Request) -> Exception:
    """Translate a requests exception into restwell's (the caller chains the original)."""
    # requests wraps urllib3's exception (MaxRetryError.reason, or the raw one): use it.
    inner: Any = exc.args[0] if exc.args else None
    inner = getattr(inner, "reason", inner)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectTimeout("connect timed out", request=request)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ReadTimeout("read timed out", request=request)
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        # Not `exc`: requests' message repeats the URL ("Max retries exceeded with url: ...").
        return ConnectError(f"cannot connect: {inner or type(exc).__name__}", request=request)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return InvalidURL.for_request(request, exc)
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return InvalidURL.for_request(request, exc)
    if isinstance(inner, u3.HTTPError | OSError):
        return translate_urllib3(inner, request)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.ConnectionError):
        return ConnectionDropped(f"connection dropped: {exc}", request=request)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return ProtocolError(f"invalid response: {exc}", request=request)
    return TransportError(f"{type(exc).__name__}: {exc}", request=request)


def _cause(exc: BaseException) -> BaseException:
    """The exception to chain to restwell's: urllib3's own, not the wrapping ``MaxRetryError``.

    ``MaxRetryError``'s message shows the URL with its query, secrets included.
    """
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, u3.MaxRetryError) and isinstance(inner.reason, BaseException):
        return inner.reason
    return exc


class _Stream:
    __slots__ = ("_raw", "_request")

    def __init__(self, raw: requests.Response, request: Request) -> None:
        self._raw = raw
        self._request = request

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from self._raw.iter_content(chunk_size)
        except (requests.RequestException, u3.HTTPError, OSError) as exc:
            raise translate_requests(exc, self._request) from _cause(exc)

    def close(self) -> None:
        self._raw.close()


class RequestsBackend:
    """Sends requests through a ``requests.Session``.

    Args:
        session: The session (not closed by restwell unless ``owned``).
        max_body_size: Largest response body read, in bytes (``None``: no limit).
        owned: Close the session when the client closes.
        warn: Warn when the session's own retries had to be turned off.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        max_body_size: int | None = None,
        owned: bool = False,
        warn: bool = True,
    ) -> None:
        self.session = session
        self._max_body = max_body_size
        self._owned = owned
        disable_adapter_retries(session, warn=warn)

    @property
    def session_headers(self) -> Headers:
        """Headers the session sends itself (they win over restwell's defaults)."""
        return Headers(self.session.headers)

    def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once (no retries, no redirects)."""
        started = time.perf_counter()
        try:
            raw = self.session.request(
                request.method,
                request.url,
                data=request.content,
                headers=request.headers.to_dict(),
                timeout=(timeout.connect, timeout.read),
                allow_redirects=False,
                stream=True,
            )
            content = None if stream else self._read(raw, request)
        except (requests.RequestException, u3.HTTPError, OSError) as exc:
            raise translate_requests(exc, request) from _cause(exc)
        native = raw.raw.headers if isinstance(raw.raw.headers, HTTPHeaderDict) else None
        headers = wrap_urllib3_headers(native) if native is not None else Headers(raw.headers)
        return Response(
            raw.status_code,
            headers,
            request=request,
            content=content,
            stream=_Stream(raw, request) if stream else None,
            elapsed=time.perf_counter() - started,
        )

    def _read(self, raw: requests.Response, request: Request) -> bytes:
        try:
            return read_limited(raw.iter_content(65536), self._max_body, request)
        finally:
            # Also when the body is too large or cut short: a connection left mid-body is
            # closed here, not leaked until garbage collection.
            raw.close()

    def close(self) -> None:
        """Close the session if restwell created it."""
        if self._owned:
            self.session.close()
