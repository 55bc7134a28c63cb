"""The shape of a conformance scenario: a test id, its kind, where it applies, and its steps.

A scenario is a short conversation with one resource: each :class:`Step` is a request the
client sends, the answer the origin gives *if the request reaches it*, and what the client
should observe. The vocabulary follows the public HTTP caching test-suite (cache-tests.fyi), so
a scenario can be read side by side with the test of the same id there:

- ``expect``: ``"cached"`` (answered without reaching the origin), ``"not_cached"`` (the origin
  answered this very request), ``"etag_validated"`` / ``"lm_validated"`` (the request reached
  the origin carrying ``If-None-Match`` / ``If-Modified-Since``; the origin answers 304 when the
  validator equals the one it sent on the previous step);
- response header values that are ``int`` on date fields (``Date``, ``Expires``,
  ``Last-Modified``, ``If-Modified-Since``) are offsets in seconds from the origin's clock;
- ``pause_after`` moves the (fake) clock three seconds forward after the step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Value = str | int
"""A header value; an ``int`` on a date field is a delta from "now" in seconds."""

ResponseHeader = tuple[str, Value] | tuple[str, Value, bool]
"""``(name, value)`` or ``(name, value, checked)``; unchecked ones are not compared on the
client's answer (used for fields a cache may legitimately rewrite or drop)."""

ExpectedHeader = str | tuple[str, Value] | tuple[str, str, int]
"""A field name (must be present), ``(name, value)`` (must equal), or ``(name, ">", n)`` /
``(name, "=", other_name)``."""

Kind = Literal["required", "optimal", "check"]
Expect = Literal["cached", "not_cached", "etag_validated", "lm_validated"]
Mode = Literal["private", "shared", "cdn"]
"""``cdn``: the shared configuration with ``CDN-Cache-Control`` as its targeted field (RFC 9213)."""

PAUSE = 3.0
"""Seconds a ``pause_after`` moves the clock (the public suite waits three real seconds)."""


@dataclass(frozen=True)
class Step:
    """One request of a scenario and the origin's scripted answer to it."""

    method: str = "GET"
    request_headers: tuple[tuple[str, Value], ...] = ()
    request_body: str | None = None
    filename: str | None = None
    query: str | None = None
    status: int = 200
    reason: str = "OK"
    response_headers: tuple[ResponseHeader, ...] = ()
    response_body: str | None = None
    """``None``: the scenario's id token (as the public suite sends its test uuid)."""
    response_pause: float = 0.0
    """Seconds the origin takes to answer (moves the fake clock, no real wait)."""
    disconnect: bool = False
    magic_locations: bool = False
    """``Location`` / ``Content-Location`` values become paths under the request's target."""
    magic_ims: bool = False
    """An ``int`` ``If-Modified-Since`` is relative to the previous answer's origin clock."""
    rfc850: tuple[str, ...] = ()
    """Date fields (lower case) written in the obsolete RFC 850 form."""
    pause_after: bool = False
    setup: bool = False
    expect: Expect | None = None
    expected_status: int | None = None
    expect_status_unchecked: bool = False
    """The answer's status is not checked (e.g. a refused stale answer may be any error)."""
    expected_response_headers: tuple[ExpectedHeader, ...] = ()
    expected_response_headers_missing: tuple[str | tuple[str, str], ...] = ()
    expected_request_headers: tuple[str | tuple[str, str], ...] = ()
    expected_request_headers_missing: tuple[str | tuple[str, str], ...] = ()
    expected_method: str | None = None
    expected_text: str | None = None
    check_body: bool = True

    def but(self, **changes: object) -> Step:
        """A copy with ``changes`` (the suite's templates are merged the same way)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scenario:
    """One test of the public suite, expressed as data."""

    id: str
    suite: str
    steps: tuple[Step, ...]
    kind: Kind = "required"
    private_only: bool = False
    """``browser_only`` there: only a private (single-user) cache is concerned."""
    shared_only: bool = False
    """``browser_skip`` there: only a shared cache is concerned."""
    cdn_only: bool = False
    """``cdn_only`` there: only a cache targeted by ``CDN-Cache-Control`` is concerned."""
    note: str = ""

    def applies_to(self, mode: Mode) -> bool:
        if mode == "private":
            return not self.shared_only and not self.cdn_only
        if mode == "shared":
            return not self.private_only and not self.cdn_only
        return not self.private_only  # a CDN is a shared cache too
