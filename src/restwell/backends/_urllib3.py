"""The default sync backend: a urllib3 ``PoolManager``."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Iterator
from typing import Any

import urllib3
from urllib3 import exceptions as u3
from urllib3.util import SKIP_HEADER

from restwell._models import Headers, Request, Response, Timeout
from restwell.errors import (
    BodyTooLarge,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    InvalidURL,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    TransportError,
)

__all__ = ["Urllib3Backend", "translate_urllib3", "wrap_urllib3_headers"]


def translate_urllib3(exc: Exception, request: Request) -> Exception:
    """Translate a urllib3 exception into restwell's (the caller chains the original)."""
    # Order matters: NewConnectionError subclasses ConnectTimeoutError in urllib3.
    if isinstance(exc, u3.NewConnectionError | u3.SSLError | u3.ProxyError):
        return ConnectError(f"cannot connect: {exc}", request=request)
    if isinstance(exc, u3.ConnectTimeoutError):
        return ConnectTimeout("connect timed out", request=request)
    if isinstance(exc, u3.EmptyPoolError):
        return PoolTimeout("no free pooled connection", request=request)
    if isinstance(exc, u3.ReadTimeoutError):
        return ReadTimeout("read timed out", request=request)
    if isinstance(exc, u3.LocationValueError | u3.URLSchemeUnknown):
        return InvalidURL.for_request(request, exc)
    if isinstance(exc, u3.ProtocolError | ConnectionError):
        return ConnectionDropped(f"connection dropped: {exc}", request=request)
    if isinstance(exc, u3.DecodeError | u3.HTTPError):
        return ProtocolError(f"invalid response: {exc}", request=request)
    return TransportError(f"{type(exc).__name__}: {exc}", request=request)


class _Fields:
    """urllib3 2.x fields as ``Headers.wrap`` reads them, straight from its container.

    urllib3 keeps ``{lower name: [name, value, ...]}``: one dict lookup per name asked, and
    the pairs in urllib3's own order (grouped by name) without its item view's generator.
    """

    __slots__ = ("_container",)

    def __init__(self, container: dict[str, list[str]]) -> None:
        self._container = container

    def __call__(self, name: str) -> list[str]:
        entry = self._container.get(name.lower())
        return entry[1:] if entry else []

    def items(self) -> list[tuple[str, str]]:
        container = self._container
        entries = container.values()
        if sum(map(len, entries)) == 2 * len(container):  # no repeats: [name, value] each
            return list(map(tuple, entries))  # type: ignore[arg-type]
        return [(entry[0], value) for entry in entries for value in entry[1:]]


def wrap_urllib3_headers(native: urllib3.HTTPHeaderDict) -> Headers:
    """Wrap urllib3's headers without copying them."""
    container = getattr(native, "_container", None)
    if isinstance(container, dict):
        fields = _Fields(container)
        return Headers.wrap(fields, fields.items, container.__contains__)
    return Headers.wrap(native.getlist, native.items)


# http(s) URLs with no userinfo, no fragment and only characters that need no encoding.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9.\-\[\]:]+(?:[/?][A-Za-z0-9\-._~:/?\[\]!$&'()*+,;=%]*)?\Z"
)


class _Stream:
    """A urllib3 response body still on the wire."""

    __slots__ = ("_decode", "_raw", "_request")

    def __init__(self, raw: urllib3.BaseHTTPResponse, request: Request, decode: bool) -> None:
        self._raw = raw
        self._request = request
        self._decode = decode

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from self._raw.stream(chunk_size, decode_content=self._decode)
        except (u3.HTTPError, OSError) as exc:
            raise translate_urllib3(exc, self._request) from exc

    def close(self) -> None:
        raw = self._raw
        if not raw.closed:
            # Body left unread: the connection still carries its rest, so it must not be
            # reused (the next request would read the old body as its response). Close it;
            # release_conn() then returns the (closed) slot to the pool.
            raw.close()
        raw.release_conn()


class Urllib3Backend:
    """Sends requests through one pooled :class:`urllib3.PoolManager`.

    Args:
        max_hosts: Hosts whose pools are kept (urllib3 ``num_pools``).
        max_connections_per_host: Connections kept per host (urllib3 ``maxsize``).
        verify: ``True`` (system CAs), ``False`` (no verification: unsafe), or a CA bundle path.
        cert: Client certificate file (PEM, key included) or ``(cert, key)`` paths.
        max_body_size: Largest response body read, in bytes (``None``: no limit).
        pool: A ready ``PoolManager`` to use instead (its own settings are kept).
        decode_content: Undo ``Content-Encoding`` (gzip, deflate, ...); ``False`` hands the
            body over as received, as a forwarding proxy must.
        bare: Add no header of urllib3's own (its default ``User-Agent``).
    """

    def __init__(
        self,
        *,
        max_hosts: int = 10,
        max_connections_per_host: int = 20,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        max_body_size: int | None = None,
        pool: urllib3.PoolManager | None = None,
        decode_content: bool = True,
        bare: bool = False,
    ) -> None:
        self._decode = decode_content
        self._bare = bare
        own = pool is None
        if pool is None:
            cert_file, key_file = (cert, None) if isinstance(cert, str) or cert is None else cert
            pool = urllib3.PoolManager(
                num_pools=max_hosts,
                maxsize=max_connections_per_host,
                cert_reqs=ssl.CERT_REQUIRED if verify else ssl.CERT_NONE,
                ca_certs=verify if isinstance(verify, str) else None,
                cert_file=cert_file,
                key_file=key_file,
                retries=False,
            )
        self._pool = pool
        # Our own PoolManager is plain (no proxy), so a URL can go straight to the pool of its
        # origin: PoolManager.urlopen re-parses every URL and rebuilds a pool key per request.
        self._direct = own
        self._pools: dict[str, urllib3.HTTPConnectionPool] = {}
        self._max_body = max_body_size
        self._timeouts: dict[Timeout, urllib3.Timeout] = {}
        self._last: tuple[Timeout | None, urllib3.Timeout] = (None, urllib3.Timeout())

    def _timeout(self, timeout: Timeout) -> urllib3.Timeout:
        last = self._last
        if last[0] is timeout:  # the client's default object, nearly always
            return last[1]
        converted = self._timeouts.get(timeout)
        if converted is None:
            converted = urllib3.Timeout(connect=timeout.connect, read=timeout.read)
            if len(self._timeouts) < 64:  # deadline-shrunk timeouts are one-offs
                self._timeouts[timeout] = converted
        self._last = (timeout, converted)
        return converted

    @property
    def decodes_content(self) -> bool:
        """Whether bodies arrive with their ``Content-Encoding`` undone."""
        return self._decode

    def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once (no retries, no redirects)."""
        started = time.perf_counter()
        headers = request.headers.to_dict()
        preload = not stream and self._max_body is None
        if self._bare:
            # urllib3 (and http.client below it) would add these when absent.
            for name in ("User-Agent", "Accept-Encoding"):
                if name not in request.headers:
                    headers[name] = SKIP_HEADER
        # Only options that differ from urllib3's defaults: each one passed costs a lookup.
        # (Without a size limit urllib3 reads the whole body itself, which is cheaper; the
        # pool never blocks, so there is no pool wait to bound.)
        options: dict[str, Any] = {} if preload else {"preload_content": False}
        if not self._decode:
            options["decode_content"] = False
        try:
            route = self._route(request.url) if self._direct else None
            if route is not None:
                try:
                    raw = route[0].urlopen(
                        request.method,
                        route[1],
                        body=request.content,
                        headers=headers,
                        retries=False,
                        redirect=False,
                        assert_same_host=False,
                        timeout=self._timeout(timeout),
                        **options,
                    )
                except u3.ClosedPoolError:
                    # The manager evicted that pool (too many hosts): nothing was sent.
                    self._pools.clear()
                    route = None
            if route is None:
                raw = self._pool.urlopen(
                    request.method,
                    request.url,
                    body=request.content,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    timeout=self._timeout(timeout),
                    **options,
                )
            if stream:
                content = None
            elif preload:
                content = raw.data
            else:
                content = self._read(raw, request)
        except (u3.HTTPError, OSError) as exc:
            raise translate_urllib3(exc, request) from exc
        response = Response(
            raw.status,
            wrap_urllib3_headers(raw.headers),
            request=request,
            content=content,
            stream=_Stream(raw, request, self._decode) if stream else None,
            elapsed=time.perf_counter() - started,
        )
        return response

    def _route(self, url: str) -> tuple[urllib3.HTTPConnectionPool, str] | None:
        """The pool for ``url``'s origin and the request target, or None to let urllib3 parse.

        Only URLs made of characters that need no encoding take this path, so what goes on
        the wire is exactly what urllib3's own parsing would send.
        """
        if not _PLAIN_URL.match(url):
            return None
        start = url.index("://") + 3
        end = len(url)
        for mark in "/?":
            found = url.find(mark, start)
            if 0 <= found < end:
                end = found
        prefix, target = url[:end], url[end:]
        if not target.startswith("/"):
            target = "/" + target
        pool = self._pools.get(prefix)
        if pool is None:
            pool = self._pool.connection_from_url(prefix)
            if len(self._pools) < 64:
                self._pools[prefix] = pool
        return pool, target

    def _read(self, raw: urllib3.BaseHTTPResponse, request: Request) -> bytes:
        limit = self._max_body
        if limit is None:
            data = raw.read()
        else:
            data = raw.read(limit + 1)
            if len(data) > limit:
                raw.close()
                raise BodyTooLarge(f"response body over {limit} bytes for {request!r}")
        raw.release_conn()
        return data

    def close(self) -> None:
        """Close every pooled connection."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._pool.clear()
