"""The checker's value types: what a check is, what it found, and the report of a run."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from restwell._models import redact_url

if TYPE_CHECKING:
    from restwell.checker._checks import Context

__all__ = [
    "Check",
    "CheckFailed",
    "CheckReport",
    "CheckResult",
    "CheckSkipped",
    "Outcome",
    "RequestInfo",
    "Status",
]


class Status(enum.Enum):
    """The verdict of one check."""

    PASS = "pass"  # noqa: S105 - not a password
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The request that showed a finding, and what came back.

    Reports show the URL without userinfo and with secret-looking query values redacted.

    Attributes:
        method: The request method.
        url: The absolute URL.
        status: The response status, or ``None`` when no response arrived.
    """

    method: str
    url: str
    status: int | None = None

    def short(self) -> str:
        """``METHOD /path?query -> status``, without scheme and host."""
        parts = urlsplit(redact_url(self.url))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        answer = "no response" if self.status is None else str(self.status)
        return f"{self.method} {path} → {answer}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {"method": self.method, "url": redact_url(self.url), "status": self.status}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check function returns when the check passed (or was not applicable).

    Attributes:
        got: What the server did, in a few words.
        request: The request that showed it.
        status: ``PASS`` normally; ``SKIP`` to report the check as not applicable.
    """

    got: str
    request: RequestInfo | None = None
    status: Status = Status.PASS


class CheckFailed(Exception):
    """Raised by a check function: the server did not do what the check expects.

    Attributes:
        got: What the server did instead.
        request: The request that showed it.
        usable: Whether checks that depend on this one may still run (e.g. a create answered
            200 instead of 201 but the new resource can still be found).
    """

    def __init__(
        self, got: str, request: RequestInfo | None = None, *, usable: bool = False
    ) -> None:
        super().__init__(got)
        self.got = got
        self.request = request
        self.usable = usable


class CheckSkipped(Exception):
    """Raised by a check function: the check does not apply to this server.

    Attributes:
        reason: Why (shown in the report).
        request: The request that showed it, if any.
    """

    def __init__(self, reason: str, request: RequestInfo | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request = request


@dataclass(frozen=True, slots=True)
class Check:
    """One conformance check.

    Attributes:
        id: Stable identifier, ``group.name`` (e.g. ``lifecycle.create``).
        title: A short human title.
        expects: What a conforming server does, in a few words.
        run: The check: performs requests through ``Context.session``; returns an
            :class:`Outcome`, or raises :class:`CheckFailed` / :class:`CheckSkipped`.
        needs: Ids of checks this one depends on; if one of them failed (and was not marked
            usable) or was skipped, this check is skipped with that reason.
        summary: Runs after every other check and after clean-up (e.g. "no 5xx anywhere").
    """

    id: str
    title: str
    expects: str
    run: Callable[[Context], Outcome]
    needs: tuple[str, ...] = ()
    summary: bool = False

    @property
    def group(self) -> str:
        """The id's prefix (``lifecycle`` or ``semantics``)."""
        return self.id.partition(".")[0]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check in a run.

    Attributes:
        id: The check's id.
        title: The check's title.
        status: Pass, fail or skip.
        expected: What a conforming server does.
        got: What this server did (for a skip: why the check did not apply).
        request: The request that showed it, when there was one.
        duration: Seconds the check took.
        usable: For a failure, whether dependent checks could still run.
    """

    id: str
    title: str
    status: Status
    expected: str
    got: str
    request: RequestInfo | None = None
    duration: float = 0.0
    usable: bool = False

    @property
    def group(self) -> str:
        """The id's prefix (``lifecycle`` or ``semantics``)."""
        return self.id.partition(".")[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status.value,
            "expected": self.expected,
            "got": self.got,
            "request": None if self.request is None else self.request.to_dict(),
            "duration": round(self.duration, 4),
        }


@dataclass(slots=True)
class CheckReport:
    """Every result of one run against one collection URL.

    Attributes:
        target: The collection URL that was checked.
        results: One result per check, in the order they ran.
        duration: Seconds the whole run took.
    """

    target: str
    results: list[CheckResult] = field(default_factory=list)
    duration: float = 0.0

    def by_status(self, status: Status) -> list[CheckResult]:
        """The results with ``status``."""
        return [r for r in self.results if r.status is status]

    def result(self, check_id: str) -> CheckResult:
        """The result of the check ``check_id``.

        Raises:
            KeyError: No such check ran.
        """
        for r in self.results:
            if r.id == check_id:
                return r
        raise KeyError(check_id)

    @property
    def passed(self) -> list[CheckResult]:
        """The checks that passed."""
        return self.by_status(Status.PASS)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return self.by_status(Status.FAIL)

    @property
    def skipped(self) -> list[CheckResult]:
        """The checks that did not apply or could not run."""
        return self.by_status(Status.SKIP)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failed

    @property
    def exit_code(self) -> int:
        """``0`` when nothing failed, else ``1``."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """``"17 passed, 0 failed, 3 skipped in 0.41s"``."""
        return (
            f"{len(self.passed)} passed, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped in {self.duration:.2f}s"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping: target, counts, and every result."""
        return {
            "target": redact_url(self.target),
            "ok": self.ok,
            "summary": {
                "passed": len(self.passed),
                "failed": len(self.failed),
                "skipped": len(self.skipped),
                "total": len(self.results),
                "duration": round(self.duration, 4),
            },
            "checks": [r.to_dict() for r in self.results],
        }
