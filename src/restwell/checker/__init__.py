"""The REST conformance checker behind ``restwell check``.

Point it at a collection URL; it runs the lifecycle of one resource (POST, GET, PUT, PATCH,
DELETE and what must follow) and the HTTP semantics around it (safety, idempotency, HEAD,
conditional requests, ``Allow`` on 405, ``Idempotency-Key``, pagination links, no 5xx), and
reports one pass, fail or skip per check with what was expected, what came, and the request
that showed it::

    from restwell.checker import run_checks, to_json

    report = run_checks("http://127.0.0.1:8000/items", headers={"Authorization": "Bearer x"})
    for result in report.failed:
        print(result.id, result.expected, result.got, result.request)
    raise SystemExit(report.exit_code)

Every request goes through :class:`restwell.Client` with timeouts and, by default, no retries,
so a flaky server is seen as it is. Checks that do not apply (no ETags, no ``Idempotency-Key``
support, no pagination) are skipped with the reason, never passed. The checker does not need
restwell's server extra; the table report needs ``rich`` (the ``cli`` extra).
"""

from restwell.checker._checks import CHECKS, DEFAULT_BODY, MAX_PAGES, Context
from restwell.checker._input import parse_body, parse_header, validate_url
from restwell.checker._model import (
    Check,
    CheckFailed,
    CheckReport,
    CheckResult,
    CheckSkipped,
    Outcome,
    RequestInfo,
    Status,
)
from restwell.checker._report import render_table, to_json, to_junit_xml
from restwell.checker._runner import ProgressHook, run_checks
from restwell.checker._session import (
    MAX_BODY_SIZE,
    CheckSession,
    Exchange,
    NotRun,
    TransportFailure,
)
from restwell.policy.links import find_rel, parse_links

__all__ = [
    "CHECKS",
    "DEFAULT_BODY",
    "MAX_BODY_SIZE",
    "MAX_PAGES",
    "Check",
    "CheckFailed",
    "CheckReport",
    "CheckResult",
    "CheckSession",
    "CheckSkipped",
    "Context",
    "Exchange",
    "NotRun",
    "Outcome",
    "ProgressHook",
    "RequestInfo",
    "Status",
    "TransportFailure",
    "find_rel",
    "parse_body",
    "parse_header",
    "parse_links",
    "render_table",
    "run_checks",
    "to_json",
    "to_junit_xml",
    "validate_url",
]
