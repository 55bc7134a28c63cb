"""One exception hierarchy for every client, backend and integration.

::

    RestwellError
    ├── TransportError                 (also a builtin ConnectionError / TimeoutError below)
    │   ├── ConnectError               ConnectionError; the request was not sent
    │   ├── TimeoutException           builtin TimeoutError
    │   │   ├── ConnectTimeout         not sent
    │   │   ├── PoolTimeout            not sent
    │   │   ├── ReadTimeout
    │   │   └── WriteTimeout
    │   ├── ConnectionDropped          ConnectionError; closed/reset mid-exchange
    │   └── ProtocolError              not valid HTTP
    ├── HTTPStatusError                a 4xx/5xx response
    │   ├── ClientError (4xx): BadRequest 400, Unauthorized 401, Forbidden 403, NotFound 404,
    │   │   Conflict 409, Gone 410, PreconditionFailed 412, UnprocessableEntity 422,
    │   │   TooManyRequests 429
    │   └── ServerError (5xx): InternalServerError 500, BadGateway 502,
    │       ServiceUnavailable 503, GatewayTimeout 504
    ├── RateLimitExceeded              the server asked for a longer wait than allowed
    ├── CircuitOpenError               the origin's circuit breaker is open
    ├── DeadlineExceeded               the policy's total deadline ran out (a TimeoutError)
    ├── TooManyRedirects               a redirect chain longer than allowed
    ├── DecodeError                    the body is not what was expected (e.g. HTML for JSON)
    ├── InvalidURL                     the URL cannot be requested
    ├── BodyTooLarge                   the body exceeds the configured limit
    └── StreamNotRead                  ``content`` of a streamed response not yet read

Transport errors subclass the builtins, so ``except (ConnectionError, TimeoutError)`` (and
``@retry(retryable_exceptions=(ConnectionError, TimeoutError))``) catch them. Messages show URLs
with secrets redacted and never include request headers.
"""

from __future__ import annotations

import builtins
import re
from typing import TYPE_CHECKING, ClassVar

from restwell.policy import ErrorKind

if TYPE_CHECKING:
    from restwell._models import Request, Response, RetryRecord

__all__ = [
    "BadGateway",
    "BadRequest",
    "BodyTooLarge",
    "CircuitOpenError",
    "ClientError",
    "Conflict",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionDropped",
    "DeadlineExceeded",
    "DecodeError",
    "Forbidden",
    "GatewayTimeout",
    "Gone",
    "HTTPStatusError",
    "InternalServerError",
    "InvalidURL",
    "NotFound",
    "PoolTimeout",
    "PreconditionFailed",
    "ProtocolError",
    "RateLimitExceeded",
    "ReadTimeout",
    "RestwellError",
    "ServerError",
    "ServiceUnavailable",
    "StreamNotRead",
    "TimeoutException",
    "TooManyRedirects",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnprocessableEntity",
    "WriteTimeout",
]

EXCERPT_CHARS = 200


def excerpt(response: Response, limit: int = EXCERPT_CHARS) -> str:
    """The start of a response body as one readable line (whitespace collapsed)."""
    content = response._content
    if not content:
        return ""
    text = content[: limit * 4].decode("utf-8", errors="replace")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(request: Request | None) -> str:
    if request is None:
        return ""
    from restwell._models import redact_url

    return f" for {request.method} {redact_url(request.url)}"


class RestwellError(Exception):
    """Base class of every error restwell raises."""


class TransportError(RestwellError):
    """The exchange failed below HTTP. ``__cause__`` holds the backend's own exception.

    Attributes:
        request: The request that failed.
        kind: The failure as the retry policy classifies it.
        attempts: Attempts made before giving up.
        retries: The attempts that were retried, with the policy's decisions.
        stop_reason: Why the policy made no further attempt.
    """

    kind: ClassVar[ErrorKind] = ErrorKind.OTHER

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(f"{message}{_where(request)}")
        self.request = request
        self.attempts = 1
        self.retries: list[RetryRecord] = []
        self.stop_reason: str | None = None


class ConnectError(TransportError, builtins.ConnectionError):
    """No connection could be made (refused, unreachable, DNS, TLS). The request was not sent."""

    kind = ErrorKind.CONNECT


class TimeoutException(TransportError, builtins.TimeoutError):
    """A time limit was reached."""

    kind = ErrorKind.READ_TIMEOUT


class ConnectTimeout(TimeoutException):
    """Connecting took too long. The request was not sent."""

    kind = ErrorKind.CONNECT_TIMEOUT


class PoolTimeout(TimeoutException):
    """No pooled connection became free in time. The request was not sent."""

    kind = ErrorKind.POOL_TIMEOUT


class ReadTimeout(TimeoutException):
    """The server did not answer in time."""

    kind = ErrorKind.READ_TIMEOUT


class WriteTimeout(TimeoutException):
    """The request could not be sent in time."""

    kind = ErrorKind.WRITE_TIMEOUT


class ConnectionDropped(TransportError, builtins.ConnectionError):
    """The connection was closed or reset before a complete response arrived."""

    kind = ErrorKind.RESET


class ProtocolError(TransportError):
    """The server's answer was not valid HTTP."""

    kind = ErrorKind.PROTOCOL


class HTTPStatusError(RestwellError):
    """A response with an error status (4xx or 5xx).

    Attributes:
        request: The request.
        response: The response (its body already read).
        status_code: The status.
        body_excerpt: The start of the body, one line.
    """

    _by_status: ClassVar[dict[int, type[HTTPStatusError]]] = {}
    status: ClassVar[int | None] = None

    def __init__(self, response: Response) -> None:
        self.response = response
        self.request = response.request
        self.status_code = response.status_code
        self.body_excerpt = excerpt(response) if response._content is not None else ""
        phrase = response.reason_phrase
        message = f"{response.status_code}{' ' + phrase if phrase else ''}{_where(self.request)}"
        if self.body_excerpt:
            message += f": {self.body_excerpt}"
        super().__init__(message)

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("status") is not None:
            HTTPStatusError._by_status[cls.__dict__["status"]] = cls

    @staticmethod
    def for_response(response: Response) -> HTTPStatusError:
        """The most specific error class for ``response``'s status, instantiated."""
        status = response.status_code
        cls = HTTPStatusError._by_status.get(status)
        if cls is None:
            family = ServerError if status >= 500 else ClientError
            cls = family if status >= 400 else HTTPStatusError
        return cls(response)


class ClientError(HTTPStatusError):
    """A 4xx response: the request was wrong."""


class ServerError(HTTPStatusError):
    """A 5xx response: the server failed."""


class BadRequest(ClientError):
    """400 Bad Request."""

    status = 400


class Unauthorized(ClientError):
    """401 Unauthorized: credentials missing or wrong."""

    status = 401


class Forbidden(ClientError):
    """403 Forbidden."""

    status = 403


class NotFound(ClientError):
    """404 Not Found."""

    status = 404


class Conflict(ClientError):
    """409 Conflict."""

    status = 409


class Gone(ClientError):
    """410 Gone."""

    status = 410


class PreconditionFailed(ClientError):
    """412 Precondition Failed (e.g. a stale ``If-Match``)."""

    status = 412


class UnprocessableEntity(ClientError):
    """422 Unprocessable Content: the body was understood but invalid."""

    status = 422


class TooManyRequests(ClientError):
    """429 Too Many Requests."""

    status = 429


class InternalServerError(ServerError):
    """500 Internal Server Error."""

    status = 500


class BadGateway(ServerError):
    """502 Bad Gateway."""

    status = 502


class ServiceUnavailable(ServerError):
    """503 Service Unavailable."""

    status = 503


class GatewayTimeout(ServerError):
    """504 Gateway Timeout."""

    status = 504


class RateLimitExceeded(RestwellError):
    """The server asked for a wait longer than the policy's ``max_wait``.

    Attributes:
        retry_after: Seconds the server asked to wait.
        reset_at: Wall-clock epoch seconds when requests may resume.
        response: The refusing response, when there was one.
        request: The request.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        reset_at: float,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        super().__init__(f"{message}{_where(request)}")
        self.retry_after = retry_after
        self.reset_at = reset_at
        self.request = request
        self.response = response


class CircuitOpenError(RestwellError):
    """The origin failed repeatedly; requests to it are refused until it recovers.

    Attributes:
        origin: The origin whose circuit is open.
        retry_in: Seconds until a probe request will be let through.
    """

    def __init__(self, origin: str, retry_in: float, *, request: Request | None = None) -> None:
        super().__init__(
            f"circuit open for {origin}: probing again in {retry_in:.3g}s{_where(request)}"
        )
        self.origin = origin
        self.retry_in = retry_in
        self.request = request


class DeadlineExceeded(RestwellError, builtins.TimeoutError):
    """The retry policy's total deadline ran out before a usable response arrived."""

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(f"{message}{_where(request)}")
        self.request = request


class DecodeError(RestwellError, ValueError):
    """The body could not be decoded as asked (e.g. HTML where JSON was expected).

    Attributes:
        response: The response.
        content_type: Its ``Content-Type`` (``""`` if none).
        body_excerpt: The start of the body.
    """

    def __init__(self, message: str, *, response: Response) -> None:
        super().__init__(message)
        self.response = response
        self.request = response.request
        self.content_type = response.content_type
        self.body_excerpt = excerpt(response)

    @classmethod
    def for_response(cls, response: Response, cause: Exception) -> DecodeError:
        """Describe a JSON decoding failure of ``response``."""
        shown = excerpt(response)
        ctype = response.content_type or "no content type"
        body = f"; body starts: {shown}" if shown else "; body is empty"
        return cls(
            f"expected JSON from {response.status_code} response{_where(response.request)}, "
            f"got {ctype}{body}",
            response=response,
        )


class TooManyRedirects(RestwellError):
    """A chain of redirects was longer than the client's ``max_redirects``."""

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(f"{message}{_where(request)}")
        self.request = request
        self.response = response


class InvalidURL(RestwellError, ValueError):
    """The URL cannot be requested (no scheme or host, unsupported scheme, bad characters)."""

    @classmethod
    def for_request(cls, request: Request, cause: BaseException) -> InvalidURL:
        """Describe why a backend refused ``request``'s URL, with the URL's secrets redacted.

        The HTTP library's own message often repeats the URL; it is redacted too.
        """
        from restwell._models import redact_url

        shown = redact_url(request.url)
        reason = re.sub(
            r"[a-zA-Z][\w+.-]*://[^\s'\"]+",
            lambda match: redact_url(match.group(0)),
            str(cause).replace(request.url, shown),
        )
        return cls(f"cannot request {request.method} {shown:.200}: {reason}")


class BodyTooLarge(RestwellError):
    """A response body exceeded the client's ``max_body_size``."""


class StreamNotRead(RestwellError):
    """``content`` was asked of a streamed response whose body was not read yet."""
