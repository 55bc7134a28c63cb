"""The checker's only way to the network: a small facade over :class:`restwell.Client`.

It sends every request without retries (unless asked), with timeouts, redirects followed only
for GET and HEAD, and records every exchange so summary checks ("no 5xx anywhere") can judge
all of them. Transport failures become :class:`TransportFailure` with a short, readable reason;
once the server is clearly gone (connection refused, or two failures in a row) the session
stops sending and says why, so a dead server gives one finding, not a cascade.
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from restwell._models import Response, Timeout
from restwell.checker._model import RequestInfo
from restwell.client import Client
from restwell.errors import (
    BodyTooLarge,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    DecodeError,
    ProtocolError,
    RestwellError,
    TimeoutException,
    TooManyRedirects,
    excerpt,
)
from restwell.policy import Backoff, RetryPolicy

__all__ = ["MAX_BODY_SIZE", "CheckSession", "Exchange", "NotRun", "TransportFailure"]

MAX_BODY_SIZE: Final = 8 * 1024 * 1024
"""Largest response body the checker reads (a bigger one is a finding, not a memory hog)."""

_GIVE_UP_AFTER: Final = 2
"""Consecutive transport failures after which the server is considered gone."""

_UNSET: Final[Any] = object()


class TransportFailure(Exception):
    """A request got no usable HTTP response.

    Attributes:
        reason: What happened, in a few words (e.g. ``"connection refused"``).
        request: The request that failed.
    """

    def __init__(self, reason: str, request: RequestInfo) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request = request


class NotRun(Exception):
    """The session gave up on the server earlier; no request was sent.

    Attributes:
        reason: Why the session gave up.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the checker sent and the status it got.

    Attributes:
        check_id: The check that sent it (``"cleanup"`` for the final clean-up).
        request: Method, URL and status.
        allow: The ``Allow`` header of the response, if it had one.
    """

    check_id: str
    request: RequestInfo
    allow: str | None = None


class CheckSession:
    """Sends the checker's requests through :class:`restwell.Client` and remembers them.

    Args:
        headers: Headers sent with every request (e.g. ``Authorization``).
        timeout: Seconds allowed to connect and, separately, between bytes of the answer.
        retries: Extra attempts for failed idempotent requests; 0 (the default) retries
            nothing, so a flaky server is seen as it is.
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 0,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if retries < 0:
            raise ValueError(f"retries must not be negative, got {retries!r}")
        self.timeout = timeout
        retry = (
            None
            if retries == 0
            else RetryPolicy(
                max_attempts=retries + 1, backoff=Backoff(base=0.1, cap=2.0), max_wait=10.0
            )
        )
        options: dict[str, Any] = {
            "headers": dict(headers or {}),
            "timeout": Timeout(timeout, timeout),
            "retry": retry,
            "budget": False,
            "breaker": False,
            "rate_limit": False,
            "max_body_size": MAX_BODY_SIZE,
        }
        self._options = options
        self._reader, self._writer = self._clients()
        self.exchanges: list[Exchange] = []
        self.check_id = ""
        self.gave_up: str | None = None
        self._failures_in_a_row = 0

    def _clients(self) -> tuple[Client, Client]:
        # Redirects are followed for reads only: a 3xx to a write (or a 201's Location) is
        # part of what is being checked, so the checker must see it.
        reader = Client(follow_redirects=True, max_redirects=5, **self._options)
        return reader, Client(follow_redirects=False, **self._options)

    def _reconnect(self) -> None:
        """Drop every kept-alive connection; the next requests open new ones.

        A server that fails (a 5xx, a dropped connection) often closes the connection right
        after its answer, without ``Connection: close``; reusing it would turn the *next*
        check's request into a spurious "connection closed" finding.
        """
        self.close()
        self._reader, self._writer = self._clients()

    # --- sending ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request and return its response, whatever its status.

        Args:
            method: The method.
            url: An absolute URL.
            json: A value to send as JSON (``Content-Type: application/json`` unless
                ``headers`` says otherwise).
            content: Raw body bytes instead.
            headers: Extra headers for this request.

        Raises:
            NotRun: The session gave up on the server before this request.
            TransportFailure: No usable HTTP response (refused, timed out, dropped, ...).
        """
        if self.gave_up is not None:
            raise NotRun(self.gave_up)
        method = method.upper()
        client = self._reader if method in ("GET", "HEAD") else self._writer
        body = content
        extra = dict(headers or {})
        if json is not _UNSET:
            body = _json.dumps(json, separators=(",", ":"), ensure_ascii=False).encode()
            if not any(name.lower() == "content-type" for name in extra):
                extra["Content-Type"] = "application/json"
        shown = RequestInfo(method, url)
        try:
            response = client.request(method, url, content=body, headers=extra)
        except RestwellError as exc:
            reason = self._reason(exc)
            self._failed(reason, shown)
            self._reconnect()
            raise TransportFailure(reason, shown) from exc
        self._failures_in_a_row = 0
        if response.status_code >= 500:
            self._reconnect()
        for hop in [*response.history, response]:
            info = RequestInfo(hop.request.method, hop.request.url, hop.status_code)
            self.exchanges.append(Exchange(self.check_id, info, hop.headers.get("allow")))
        return response

    def get(self, url: str, **kwargs: Any) -> Response:
        """``GET url`` (redirects followed)."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        """``HEAD url`` (redirects followed)."""
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        """``POST url``."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        """``PUT url``."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Response:
        """``PATCH url``."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        """``DELETE url``."""
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        """Release the connections."""
        self._reader.close()
        self._writer.close()

    def __enter__(self) -> CheckSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- failures --------------------------------------------------------------------------

    def _reason(self, exc: RestwellError) -> str:
        seconds = f"{self.timeout:g} s"
        if isinstance(exc, ConnectTimeout):
            return f"no connection within {seconds} (connect timeout)"
        if isinstance(exc, TimeoutException):
            return f"no answer within {seconds} (timeout)"
        if isinstance(exc, ConnectError):
            cause: BaseException | None = exc
            while cause is not None:
                if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                    return "connection refused"
                cause = cause.__cause__ or cause.__context__
            return "cannot connect"
        if isinstance(exc, ConnectionDropped):
            return "connection closed before a complete response"
        if isinstance(exc, ProtocolError):
            return "the answer is not valid HTTP"
        if isinstance(exc, BodyTooLarge):
            return f"response body larger than {MAX_BODY_SIZE // (1024 * 1024)} MiB"
        if isinstance(exc, TooManyRedirects):
            return "too many redirects"
        return f"{type(exc).__name__}: {exc}"

    def _failed(self, reason: str, request: RequestInfo) -> None:
        self._failures_in_a_row += 1
        where = request.short().rpartition(" → ")[0]
        if reason == "connection refused" or reason == "cannot connect":
            self.gave_up = f"the server is unreachable ({reason} at {where})"
        elif self._failures_in_a_row >= _GIVE_UP_AFTER:
            self.gave_up = f"the server stopped answering ({reason} at {where})"


def info(response: Response) -> RequestInfo:
    """The request behind ``response`` and its status."""
    return RequestInfo(response.request.method, response.request.url, response.status_code)


def status_text(response: Response) -> str:
    """``"404 Not Found"``."""
    phrase = response.reason_phrase
    return f"{response.status_code} {phrase}".rstrip()


def describe(response: Response, limit: int = 60) -> str:
    """The status, and for errors and surprises the content type and start of the body."""
    text = status_text(response)
    if 300 <= response.status_code < 400 and "location" in response.headers:
        return f"{text} to {response.headers['location']}"
    if response.status_code == 405:
        allow = response.headers.get("allow")
        return f"{text} ({'Allow: ' + allow if allow is not None else 'no Allow header'})"
    shown = excerpt(response, limit)
    if not response.is_success and shown:
        return f"{text} ({response.content_type or 'no content type'}: {shown})"
    return text


def json_body(response: Response) -> Any:
    """The decoded JSON body.

    Raises:
        ValueError: With a readable message naming the content type and the body's start.
    """
    try:
        return response.json()
    except DecodeError as exc:
        shown = exc.body_excerpt
        ctype = exc.content_type or "no content type"
        raise ValueError(
            f"the body is not JSON ({ctype}: {shown})" if shown else "the body is empty"
        ) from None
