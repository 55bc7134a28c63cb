"""A server that is down, too slow or answers garbage gets a clear report, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from restwell.checker import CHECKS, Check, Context, Outcome, Status, run_checks
from restwell.cli import app
from tests.checker.apps import html_app, slow_app
from tests.checker.conftest import closed_port, serve_app

WIDE = {"COLUMNS": "200"}  # a wide terminal, so table cells do not wrap


def _only_failure(url: str, **options: object) -> tuple[str, str]:
    report = run_checks(url, **options)  # type: ignore[arg-type]
    assert [r.id for r in report.failed] == ["lifecycle.create"]
    assert report.exit_code == 1
    reasons = {r.got for r in report.skipped}
    assert reasons <= {"depends on lifecycle.create which failed", "no response was received"}
    assert len(report.skipped) == len(CHECKS) - 1 - len(report.passed)
    create = report.result("lifecycle.create")
    assert create.request is not None
    return create.got, create.request.short()


def test_a_down_server_is_one_finding() -> None:
    got, request = _only_failure(f"http://127.0.0.1:{closed_port()}/items", timeout=2)
    assert got == "connection refused"
    assert request == "POST /items → no response"


def test_a_slow_server_times_out_once() -> None:
    with serve_app(slow_app(2.0)) as base:
        got, request = _only_failure(f"{base}/items", timeout=0.3)
    assert got == "no answer within 0.3 s (timeout)"
    assert request == "POST /items → no response"


def test_an_html_server_is_reported_as_such() -> None:
    with serve_app(html_app()) as base:
        report = run_checks(f"{base}/items", timeout=5)
    assert report.result("lifecycle.create").got == (
        "200 OK instead of 201 Created, no Location header; "
        "the new item cannot be found (no Location; the body is text/html, not JSON)"
    )
    assert [r.id for r in report.failed] == ["lifecycle.create"]
    assert [r.id for r in report.passed] == ["semantics.no_5xx"]
    assert report.result("semantics.no_5xx").got == "1 answer, none 5xx"


def _assert_clean_failure(output: str, reason: str) -> None:
    assert "Traceback" not in output
    assert output.count(reason) == 1, output
    assert "0 passed, 1 failed, 20 skipped" in output or "1 passed, 1 failed" in output


def test_cli_reports_a_down_server_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{closed_port()}/items"
    result = CliRunner(env=WIDE).invoke(app, ["check", url, "--timeout", "2"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    _assert_clean_failure(result.output, "connection refused")
    assert "depends on lifecycle.create which failed" in result.stdout.replace("\n", " ")


def test_cli_reports_slow_and_html_servers_without_a_traceback() -> None:
    runner = CliRunner(env=WIDE)
    with serve_app(slow_app(2.0)) as base:
        slow = runner.invoke(app, ["check", f"{base}/items", "--timeout", "0.3"])
    assert slow.exit_code == 1
    _assert_clean_failure(slow.output, "no answer within 0.3 s (timeout)")
    with serve_app(html_app()) as base:
        html = runner.invoke(app, ["check", f"{base}/items", "-q"])
    assert html.exit_code == 1
    assert "Traceback" not in html.output
    assert html.stdout.splitlines()[0].startswith("FAIL lifecycle.create: expected 201 Created")
    assert "the body is text/html, not JSON" in html.stdout


def test_restwell_check_as_a_subprocess() -> None:
    script = Path(sys.executable).with_name("restwell")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "restwell.cli"]
    url = f"http://127.0.0.1:{closed_port()}/items"
    done = subprocess.run(
        [*command, "check", url, "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr == ""
    assert done.stdout.count("connection refused") == 1
    assert "0 passed, 1 failed, 20 skipped" in done.stdout


def _probe(check_id: str, path: str) -> Check:
    def run(ctx: Context) -> Outcome:
        response = ctx.session.get(ctx.collection + path)
        return Outcome(str(response.status_code))

    return Check(check_id, check_id, "200", run)


def test_once_the_server_is_gone_the_rest_is_not_run() -> None:
    checks = [_probe("x.first", ""), _probe("x.second", "/1"), CHECKS[-1]]
    report = run_checks(f"http://127.0.0.1:{closed_port()}/items", checks=checks, timeout=2)
    assert [(r.id, r.status, r.got) for r in report.results] == [
        ("x.first", Status.FAIL, "connection refused"),
        (
            "x.second",
            Status.SKIP,
            "not run: the server is unreachable (connection refused at GET /items)",
        ),
        ("semantics.no_5xx", Status.SKIP, "no response was received"),
    ]


def test_two_timeouts_in_a_row_and_the_rest_is_not_run() -> None:
    checks = [_probe("x.first", ""), _probe("x.second", "/1"), _probe("x.third", "/2")]
    with serve_app(slow_app(2.0)) as base:
        report = run_checks(f"{base}/items", checks=checks, timeout=0.2)
    assert [(r.id, r.status, r.got) for r in report.results] == [
        ("x.first", Status.FAIL, "no answer within 0.2 s (timeout)"),
        ("x.second", Status.FAIL, "no answer within 0.2 s (timeout)"),
        (
            "x.third",
            Status.SKIP,
            "not run: the server stopped answering (no answer within 0.2 s (timeout) "
            "at GET /items/1)",
        ),
    ]


def test_a_check_that_breaks_is_a_finding_not_a_crash() -> None:
    def broken(ctx: Context) -> Outcome:
        ctx.session.get(ctx.collection)
        raise KeyError("surprise")

    with serve_app(html_app()) as base:
        report = run_checks(f"{base}/items", checks=[Check("x.broken", "broken", "-", broken)])
    (result,) = report.results
    assert result.status is Status.FAIL
    assert result.got == "the checker could not judge the answer (KeyError: 'surprise')"
    assert result.request is not None
    assert result.request.short() == "GET /items → 200"
