"""Running the checks in order, with dependencies, and collecting the report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from restwell.checker._checks import CHECKS, DEFAULT_BODY, Context
from restwell.checker._model import (
    Check,
    CheckFailed,
    CheckReport,
    CheckResult,
    CheckSkipped,
    RequestInfo,
    Status,
)
from restwell.checker._session import CheckSession, NotRun, TransportFailure

__all__ = ["ProgressHook", "run_checks"]

ProgressHook = Callable[[Check, int, int], None]
"""Called before each check with the check, its index (from 0) and the number of checks."""


def run_checks(
    url: str,
    *,
    body: Mapping[str, Any] | None = None,
    id_field: str = "id",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    retries: int = 0,
    checks: Iterable[Check] = CHECKS,
    on_progress: ProgressHook | None = None,
    session: CheckSession | None = None,
) -> CheckReport:
    """Check the REST API whose collection lives at ``url``.

    Every check runs in order; one whose dependency failed (and left nothing to work with) or
    was skipped is skipped with that reason; once the server stops answering (connection
    refused, or two transport failures in a row) the rest are skipped as not run. Resources
    created along the way are deleted before the summary checks. Nothing here raises for
    what a server does: every problem becomes a finding.

    Example:
        >>> report = run_checks("http://127.0.0.1:8000/items")
        >>> print(report.summary())
        20 passed, 0 failed, 1 skipped in 0.31s

    Args:
        url: The collection URL (absolute http or https).
        body: A JSON object the collection accepts for POST (default: :data:`DEFAULT_BODY`).
        id_field: Member of a representation that holds its id.
        headers: Headers for every request, e.g. ``{"Authorization": "Bearer ..."}``.
        timeout: Seconds per request to connect and to wait for the answer.
        retries: Extra attempts for failed idempotent requests (0: none, so nothing is hidden).
        checks: The checks to run (default: all of :data:`CHECKS`, in order).
        on_progress: Called before each check (e.g. to update a progress bar).
        session: A session to send through instead of a new one (left open).

    Returns:
        The report: one result per check.

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL, or ``body`` is not a JSON object.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"the collection URL must be an absolute http(s) URL, got {url!r}")
    if not isinstance(body, Mapping | None):
        raise ValueError("the sample body must be a JSON object")
    sample = dict(DEFAULT_BODY if body is None else body)
    own = session is None
    active = session or CheckSession(headers=headers, timeout=timeout, retries=retries)
    ctx = Context(active, url, sample, id_field)
    ordered = sorted(checks, key=lambda c: c.summary)  # stable: summaries last, order kept
    report = CheckReport(url)
    started = time.perf_counter()
    results: dict[str, CheckResult] = {}
    blocked: dict[str, str] = {}  # check id -> reason, for checks skipped by a dependency
    cleaned = False
    try:
        for index, check in enumerate(ordered):
            if check.summary and not cleaned:
                ctx.cleanup()
                cleaned = True
            if on_progress is not None:
                on_progress(check, index, len(ordered))
            reason = _blocked_by(check, results, blocked)
            if reason is not None:
                blocked[check.id] = reason
                result = _result(check, Status.SKIP, reason)
            elif active.gave_up is not None and not check.summary:
                result = _result(check, Status.SKIP, f"not run: {active.gave_up}")
            else:
                result = _run_one(check, ctx)
            results[check.id] = result
            report.results.append(result)
        if not cleaned:
            ctx.cleanup()
    finally:
        if own:
            active.close()
    report.duration = time.perf_counter() - started
    return report


def _blocked_by(
    check: Check, results: Mapping[str, CheckResult], blocked: Mapping[str, str]
) -> str | None:
    for need in check.needs:
        dep = results.get(need)
        if dep is None:
            return f"depends on {need} which did not run"
        if need in blocked:
            return blocked[need]  # the root cause, not the chain
        if dep.status is Status.FAIL and not dep.usable:
            return f"depends on {need} which failed"
        if dep.status is Status.SKIP:
            return f"depends on {need} which was skipped"
    return None


def _result(
    check: Check,
    status: Status,
    got: str,
    request: RequestInfo | None = None,
    duration: float = 0.0,
    *,
    usable: bool = False,
) -> CheckResult:
    return CheckResult(check.id, check.title, status, check.expects, got, request, duration, usable)


def _run_one(check: Check, ctx: Context) -> CheckResult:
    session = ctx.session
    session.check_id = check.id
    seen = len(session.exchanges)
    started = time.perf_counter()

    def took() -> float:
        return time.perf_counter() - started

    try:
        outcome = check.run(ctx)
    except CheckFailed as failed:
        return _result(check, Status.FAIL, failed.got, failed.request, took(), usable=failed.usable)
    except CheckSkipped as skipped:
        return _result(check, Status.SKIP, skipped.reason, skipped.request, took())
    except TransportFailure as failure:
        return _result(check, Status.FAIL, failure.reason, failure.request, took())
    except NotRun as not_run:
        return _result(check, Status.SKIP, f"not run: {not_run.reason}", None, took())
    except Exception as exc:  # a bug, or an answer no check foresaw: a finding, not a crash
        last = session.exchanges[-1].request if len(session.exchanges) > seen else None
        got = f"the checker could not judge the answer ({type(exc).__name__}: {exc})"
        return _result(check, Status.FAIL, got, last, took())
    return _result(check, outcome.status, outcome.got, outcome.request, took())
