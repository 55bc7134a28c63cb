"""The GitHub client's errors, each also one of restwell's own.

::

    GitHubError (RestwellError)
    ├── GitHubAPIError (HTTPStatusError)      an error status, with GitHub's message
    │   ├── BadCredentials (Unauthorized)     401
    │   ├── Forbidden (errors.Forbidden)      403 that is not a rate limit
    │   ├── NotFound (errors.NotFound)        404
    │   └── ValidationFailed (UnprocessableEntity)  422, with GitHub's ``errors`` list
    ├── RateLimitExceeded (errors.RateLimitExceeded)  a wait the caller did not allow
    └── InvalidResponse (ValueError)          JSON that does not have the expected shape

So ``except restwell.errors.NotFound`` catches the GitHub client's 404 too. Messages show URLs
with secrets redacted and never a request header: the token cannot leak through an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import restwell.errors as _rw
from restwell._models import redact_url
from restwell.github._models import FieldError, RateLimitKind

if TYPE_CHECKING:
    from restwell._models import Request, Response

__all__ = [
    "BadCredentials",
    "Forbidden",
    "GitHubAPIError",
    "GitHubError",
    "InvalidResponse",
    "NotFound",
    "RateLimitExceeded",
    "ValidationFailed",
]


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


class GitHubError(_rw.RestwellError):
    """Base class of the GitHub client's errors."""


class InvalidResponse(GitHubError, ValueError):
    """GitHub's answer does not have the shape the client expects.

    A field of the wrong type, a list where an object belongs, a body that is not JSON.

    Attributes:
        response: The response, when the error is about one.
    """

    def __init__(self, message: str, *, response: Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class GitHubAPIError(GitHubError, _rw.HTTPStatusError):
    """An error status from the API, with GitHub's own explanation.

    Attributes:
        message: GitHub's ``message`` (e.g. ``"Bad credentials"``), or the reason phrase.
        documentation_url: GitHub's ``documentation_url``, if given.
        response: The response (its body read).
        request: The request.
        status_code: The status.
    """

    def __init__(
        self, response: Response, *, message: str | None, documentation_url: str | None
    ) -> None:
        _rw.HTTPStatusError.__init__(self, response)
        self.message = message or response.reason_phrase or "error"
        self.documentation_url = documentation_url
        request = response.request
        where = f"{request.method} {redact_url(request.url)}"
        self.args = (f"{response.status_code} {self.message} for {where}{self._details()}",)

    def _details(self) -> str:
        return f" (see {self.documentation_url})" if self.documentation_url else ""


class BadCredentials(GitHubAPIError, _rw.Unauthorized):
    """401: the token is wrong, expired or revoked."""


class Forbidden(GitHubAPIError, _rw.Forbidden):
    """403 that is not a rate limit: the token may not do this. Waiting will not help."""


class NotFound(GitHubAPIError, _rw.NotFound):
    """404: no such user or repository (or it is private and the token cannot see it)."""


class ValidationFailed(GitHubAPIError, _rw.UnprocessableEntity):
    """422: GitHub understood the request but found it invalid.

    Attributes:
        errors: GitHub's ``errors`` list, one :class:`FieldError` per problem.
    """

    def __init__(
        self,
        response: Response,
        *,
        message: str | None,
        documentation_url: str | None,
        errors: tuple[FieldError, ...] = (),
    ) -> None:
        self.errors = errors
        super().__init__(response, message=message, documentation_url=documentation_url)

    def _details(self) -> str:
        listed = "; ".join(str(e) for e in self.errors)
        return (f": {listed}" if listed else "") + super()._details()


class RateLimitExceeded(GitHubError, _rw.RateLimitExceeded):
    """A rate limit the client may not wait for.

    Because of ``on_rate_limit="raise"``, a wait longer than ``max_rate_limit_wait``, or a
    limit that persisted through every attempt.

    Attributes:
        kind: ``"primary"`` or ``"secondary"``.
        resource: The quota's resource (``core``, ``search``, ...; ``"*"`` for a secondary
            limit on every request).
        retry_after: Seconds until requests may resume.
        reset_at: Wall-clock epoch seconds when requests may resume.
        limit: The quota's size, when known.
        response: The refusing response, when one was received (``None`` when the client
            refused to send, knowing the quota was spent).
        request: The request.
    """

    def __init__(
        self,
        why: str,
        *,
        kind: RateLimitKind,
        resource: str,
        retry_after: float,
        reset_at: float,
        limit: int | None = None,
        request: Request | None = None,
        response: Response | None = None,
    ) -> None:
        quota = f" ({limit} requests per window)" if limit is not None and kind == "primary" else ""
        what = "every resource" if resource == "*" else f"'{resource}'"
        message = (
            f"GitHub {kind} rate limit of {what}{quota}: requests resume at {_when(reset_at)} "
            f"(in {retry_after:.0f}s); {why}"
        )
        _rw.RateLimitExceeded.__init__(
            self,
            message,
            retry_after=retry_after,
            reset_at=reset_at,
            request=request,
            response=response,
        )
        self.kind: RateLimitKind = kind
        self.resource = resource
        self.limit = limit
