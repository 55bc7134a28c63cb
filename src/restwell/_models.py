"""The value types every layer shares: timeouts, headers, requests and responses."""

from __future__ import annotations

import json as _json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from restwell.policy import SENSITIVE_HEADERS, RetryDecision

if TYPE_CHECKING:
    from restwell.errors import HTTPStatusError

__all__ = [
    "AsyncByteStream",
    "Headers",
    "Request",
    "Response",
    "RetryRecord",
    "SyncByteStream",
    "Timeout",
    "redact_url",
]

_REDACTED = "[redacted]"
# Query parameters that commonly carry secrets; their values never reach logs or errors.
_SECRET_PARAMS = re.compile(
    r"(?i)^(access_?token|token|api_?key|key|secret|client_secret|password|passwd|sig|signature|"
    r"auth|code|x-amz-signature|x-goog-signature)$"
)


def redact_url(url: str) -> str:
    """``url`` without userinfo and with secret-looking query values replaced."""
    if "@" not in url and "?" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (e.g. an unclosed "[" of an IPv6 host): hide it all
        head, question, _ = url.partition("?")
        return re.sub(r"//[^/]*@", "//", head) + ("?" + _REDACTED if question else "")
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, _REDACTED if _SECRET_PARAMS.match(k) else v) for k, v in pairs], safe="[]"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# Header names that carry credentials besides SENSITIVE_HEADERS: X-Auth-Token, Private-Token,
# X-Api-Key, X-Amz-Security-Token, Set-Cookie, X-Client-Secret, ...
_SECRET_HEADER = re.compile(r"(?i)token|secret|api-?key|password|cookie|signature|credential")


def _secret_header(name: str) -> bool:
    return name.lower() in SENSITIVE_HEADERS or _SECRET_HEADER.search(name) is not None


@dataclass(frozen=True, slots=True)
class Timeout:
    """Per-attempt time limits in seconds; ``None`` means no limit (never a default).

    Attributes:
        connect: To establish a connection (TCP and TLS).
        read: Between bytes of the response (and for the first byte).
        pool: To wait for a free pooled connection (async clients; the sync pool opens an
            extra connection instead of waiting).
    """

    connect: float | None = 5.0
    read: float | None = 30.0
    pool: float | None = 30.0

    def shrink(self, left: float) -> Timeout:
        """This timeout bounded by ``left`` seconds (the time left before a deadline)."""
        return Timeout(
            left if self.connect is None else min(self.connect, left),
            left if self.read is None else min(self.read, left),
            left if self.pool is None else min(self.pool, left),
        )

    @classmethod
    def of(cls, value: Timeout | float | tuple[float | None, float | None] | None) -> Timeout:
        """Coerce what users pass (a number, ``(connect, read)``, a Timeout, or None)."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return _NO_TIMEOUT
        if isinstance(value, tuple):
            return cls(value[0], value[1])
        return cls(float(value), float(value))


_NO_TIMEOUT = Timeout(None, None, None)


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued HTTP headers that keep their order and spelling.

    ``headers["X"]`` joins repeated fields with ``", "`` (RFC 9110 §5.3); use
    :meth:`get_list` for the separate values (e.g. ``Set-Cookie``). Response headers wrap the
    backend's own case-insensitive structure (:meth:`wrap`) instead of copying it, so a response
    nobody inspects costs nothing; the first change copies them.
    """

    __slots__ = ("_contains", "_dict", "_getall", "_index", "_items", "_source")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] | None
        if items is None:
            self._items = []
        elif isinstance(items, Headers):
            self._items = items.raw()
        elif isinstance(items, Mapping):
            self._items = [(str(k), str(v)) for k, v in items.items()]
        else:
            self._items = [(str(k), str(v)) for k, v in items]
        self._index: dict[str, list[str]] | None = None
        self._dict: dict[str, str] | None = None
        self._getall: Callable[[str], list[str]] | None = None
        self._source: Callable[[], Iterable[tuple[str, str]]] | None = None
        self._contains: Callable[[str], bool] | None = None

    @classmethod
    def wrap(
        cls,
        getall: Callable[[str], list[str]],
        items: Callable[[], Iterable[tuple[str, str]]],
        contains: Callable[[str], bool] | None = None,
    ) -> Headers:
        """Headers backed by a backend's own structure, copied only when changed.

        Args:
            getall: Every value of a name, case-insensitively (``[]`` when absent).
            items: All fields in order, repeats included, as ``(str, str)`` pairs.
            contains: A fast membership test for lower-case names, if the structure has one.
        """
        headers = cls.__new__(cls)
        headers._items = None
        headers._index = None
        headers._dict = None
        headers._getall = getall
        headers._source = items
        headers._contains = contains
        return headers

    def has_any(self, names: tuple[str, ...]) -> bool:
        """Whether any of the lower-case ``names`` is present (cheap on wrapped headers)."""
        if self._getall is None:
            index = self._index
            if index is None:
                index = self._lower_index()
            for name in names:  # noqa: SIM110 - a plain loop beats any() with a generator here
                if name in index:
                    return True
            return False
        contains = self._contains
        if contains is None:
            return any(self._values(name) for name in names)
        for name in names:  # noqa: SIM110
            if contains(name):
                return True
        return False

    def _pairs(self) -> list[tuple[str, str]]:
        items = self._items
        if items is None:
            assert self._source is not None
            items = self._items = list(self._source())
            self._getall = self._source = self._contains = None
        return items

    def _values(self, key: str) -> list[str]:
        getall = self._getall
        if getall is not None:
            return getall(key)
        return self._lower_index().get(key.lower(), [])

    def _lower_index(self) -> dict[str, list[str]]:
        index = self._index
        if index is None:
            index = {}
            for name, value in self._pairs():
                index.setdefault(name.lower(), []).append(value)
            self._index = index
        return index

    def __getitem__(self, key: str) -> str:
        values = self._values(key)
        if not values:
            raise KeyError(key)
        return values[0] if len(values) == 1 else ", ".join(values)

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (repeated fields joined), or ``default``."""
        # _values inlined: this is the most called method of a request's headers.
        if self._getall is None:
            index = self._index
            values = (self._lower_index() if index is None else index).get(key.lower())
        else:
            values = self._getall(key)
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_list(self, key: str) -> list[str]:
        """Every value of ``key``, as received."""
        return list(self._values(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._values(key))

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._pairs():
            low = name.lower()
            if low not in seen:
                seen.add(low)
                yield name

    def __len__(self) -> int:
        return len({name.lower() for name, _ in self._pairs()})

    def raw(self) -> list[tuple[str, str]]:
        """The fields as received: ``(name, value)`` pairs, repeats included."""
        return list(self._pairs())

    def set(self, key: str, value: str) -> None:
        """Replace every field named ``key`` with one."""
        low = key.lower()
        self._items = [(k, v) for k, v in self._pairs() if k.lower() != low]
        self._items.append((key, value))
        self._index = self._dict = None

    def setdefault_value(self, key: str, value: str) -> None:
        """Add ``key: value`` unless a field named ``key`` exists."""
        if key not in self:
            # A new list: copies made by copy() may share the old one.
            self._items = [*self._pairs(), (key, value)]
            self._index = self._dict = None

    def remove(self, key: str) -> None:
        """Remove every field named ``key`` (no error if absent)."""
        low = key.lower()
        self._items = [(k, v) for k, v in self._pairs() if k.lower() != low]
        self._index = self._dict = None

    def to_dict(self) -> dict[str, str]:
        """A plain ``dict`` for an HTTP library to send (repeated fields joined)."""
        built = self._dict
        if built is None:
            built = {}
            for name, value in self._pairs():
                built[name] = f"{built[name]}, {value}" if name in built else value
            self._dict = built
        return dict(built)

    def copy(self) -> Headers:
        """An independent copy.

        The copy shares the field list and lookups with the original until either changes
        (every change builds a new list), so copying defaults per request costs nothing.
        """
        twin = Headers.__new__(Headers)
        twin._items = self._pairs()
        # The index too, built here if need be: copies of a client's defaults (one per
        # request) then share the one built on the defaults. Changes replace, never mutate it.
        twin._index, twin._dict = self._lower_index(), self._dict
        twin._getall = twin._source = twin._contains = None
        return twin

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            mine = Headers(self)
            theirs = Headers(other)
            return {k.lower(): mine.get_list(k) for k in mine} == {
                k.lower(): theirs.get_list(k) for k in theirs
            }
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = [(k, _REDACTED if _secret_header(k) else v) for k, v in self._pairs()]
        return f"Headers({shown!r})"


@dataclass(slots=True)
class Request:
    """One HTTP request, as restwell sends it.

    Attributes:
        method: Upper-case method.
        url: Absolute URL.
        headers: Headers to send (defaults merged in).
        content: Body bytes, or ``None``.
        extensions: Free-form per-request options for backends and integrations.
        origin: ``scheme://host:port`` of ``url`` when already known (saves re-parsing).
        replayable: False when the body was a stream that cannot be sent again, which rules
            out retries once it may have been sent.
    """

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    content: bytes | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None
    replayable: bool = True

    def __repr__(self) -> str:
        return f"<Request {self.method} {redact_url(self.url)}>"


@dataclass(frozen=True, slots=True)
class RetryRecord:
    """One attempt that was retried, as ``Response.retries`` reports it.

    Attributes:
        attempt: The attempt number that failed (1 for the first).
        outcome: ``"503"``-style status or the error kind.
        decision: What the policy decided, with its delay and reason.
    """

    attempt: int
    outcome: str
    decision: RetryDecision


@runtime_checkable
class SyncByteStream(Protocol):
    """A response body still on the wire (sync)."""

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        """Yield the body in chunks."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class AsyncByteStream(Protocol):
    """A response body still on the wire (async)."""

    def aiter_chunks(self, chunk_size: int) -> AsyncIterator[bytes]:
        """Yield the body in chunks."""
        ...

    async def aclose(self) -> None:
        """Release the connection."""
        ...


_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


class Response:
    """An HTTP response: status, headers, body, and what restwell did to get it.

    The body is read in full unless the request was made with ``stream()``; then iterate it
    with :meth:`iter_bytes` / :meth:`aiter_bytes` or read it with :meth:`read` / :meth:`aread`.

    Attributes:
        status_code: The status.
        headers: Case-insensitive headers.
        request: The request that produced it (the last one, after redirects).
        url: Its URL.
        elapsed: Seconds the last attempt took until the body was read.
        attempts: Attempts made (1 when the first one was used).
        retries: The attempts that were retried, each with the policy's decision and reason.
        stop_reason: Why the policy made no further attempt, when it weighed one.
        history: Redirect responses followed on the way, oldest first.
        cache_status: What the cache did (``hit``, ``miss``, ``revalidated``, ``stale``,
            ``bypass``), or ``None`` without a cache.
        native: The HTTP library's own response object, where an integration hands it back.
    """

    __slots__ = (
        "_content",
        "_stream",
        "attempts",
        "cache_status",
        "elapsed",
        "headers",
        "history",
        "native",
        "request",
        "retries",
        "status_code",
        "stop_reason",
        "url",
    )

    def __init__(
        self,
        status_code: int,
        headers: Headers,
        *,
        request: Request,
        content: bytes | None = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        url: str | None = None,
        elapsed: float = 0.0,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.request = request
        self.url = url if url is not None else request.url
        self.elapsed = elapsed
        self._content = content
        self._stream = stream
        self.attempts = 1
        self.retries: list[RetryRecord] = []
        self.history: list[Response] = []
        self.cache_status: str | None = None
        # Why the retry policy made no further attempt, when it weighed one (else None).
        self.stop_reason: str | None = None
        # The HTTP library's own response object, where an integration must hand it back.
        self.native: Any = None

    @property
    def status(self) -> int:
        """Alias of :attr:`status_code`."""
        return self.status_code

    @property
    def reason_phrase(self) -> str:
        """The standard reason phrase of the status (``""`` if unknown)."""
        from http import HTTPStatus

        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status_code < 300

    @property
    def ok(self) -> bool:
        """True for status < 400 (as ``requests`` defines it)."""
        return self.status_code < 400

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` if absent)."""
        value = self.headers.get("content-type") or ""
        return str(value).split(";", 1)[0].strip().lower()

    @property
    def content(self) -> bytes:
        """The body. Raises ``StreamNotRead`` for a streamed body not yet read."""
        if self._content is None:
            from restwell.errors import StreamNotRead

            raise StreamNotRead("the body of a streamed response must be read first")
        return self._content

    @property
    def text(self) -> str:
        """The body decoded with its declared charset (UTF-8 when none; errors replaced)."""
        match = _CHARSET.search(str(self.headers.get("content-type") or ""))
        encoding = match.group(1) if match else "utf-8"
        try:
            return self.content.decode(encoding, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Decode the body as JSON.

        Raises:
            DecodeError: The body is not JSON; the error names the content type and shows the
                start of the body (e.g. an HTML error page).
        """
        try:
            return _json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as exc:
            from restwell.errors import DecodeError

            raise DecodeError.for_response(self, exc) from exc

    def raise_for_status(self) -> Response:
        """Raise the matching :class:`~restwell.errors.HTTPStatusError` for 4xx/5xx.

        Returns:
            The response itself when it is not an error, for chaining.
        """
        if self.status_code >= 400:
            raise self.error()
        return self

    def error(self) -> HTTPStatusError:
        """The exception that describes this (error) response, without raising it."""
        from restwell.errors import HTTPStatusError

        return HTTPStatusError.for_response(self)

    # Streaming -------------------------------------------------------------------------

    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """Yield the body in chunks (sync clients); the connection is released at the end."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        stream = self._stream
        if not isinstance(stream, SyncByteStream):
            raise TypeError("iter_bytes() needs a streamed response of a sync client")
        try:
            yield from stream.iter_chunks(chunk_size)
        finally:
            stream.close()

    async def aiter_bytes(self, chunk_size: int = 65536) -> AsyncIterator[bytes]:
        """Yield the body in chunks (async clients); the connection is released at the end."""
        if self._content is not None:
            if self._content:
                yield self._content
            return
        stream = self._stream
        if not isinstance(stream, AsyncByteStream):
            raise TypeError("aiter_bytes() needs a streamed response of an async client")
        try:
            async for chunk in stream.aiter_chunks(chunk_size):
                yield chunk
        finally:
            await stream.aclose()

    def read(self) -> bytes:
        """Read a streamed body in full (sync) and return it."""
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    async def aread(self) -> bytes:
        """Read a streamed body in full (async) and return it."""
        if self._content is None:
            self._content = b"".join([chunk async for chunk in self.aiter_bytes()])
        return self._content

    def close(self) -> None:
        """Release a streamed body's connection without reading it (sync)."""
        close = getattr(self._stream, "close", None)
        if self._content is None and close is not None:
            close()

    async def aclose(self) -> None:
        """Release a streamed body's connection without reading it (async)."""
        aclose = getattr(self._stream, "aclose", None)
        if self._content is None and aclose is not None:
            await aclose()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}] {self.request.method} {redact_url(self.url)}>"
