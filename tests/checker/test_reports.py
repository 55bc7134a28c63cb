"""The JSON and JUnit XML reports are valid and carry every check, failures marked."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from typer.testing import CliRunner

from restwell.checker import (
    CHECKS,
    CheckReport,
    CheckResult,
    RequestInfo,
    Status,
    to_json,
    to_junit_xml,
)
from restwell.cli import app
from tests.checker.apps import items_app
from tests.checker.conftest import serve_app

WIDE = {"COLUMNS": "200"}  # a wide terminal, so table cells do not wrap


def test_junit_xml_marks_failures_and_skips(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    with serve_app(items_app(create_status=200, accept_arrays=True)) as base:
        result = CliRunner(env=WIDE).invoke(
            app, ["check", f"{base}/items", "--junit-xml", str(out)]
        )
    assert result.exit_code == 1, result.output
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.id for c in CHECKS]
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"lifecycle.create", "semantics.non_object_body"}
    assert suite.get("failures") == "2"
    assert suite.get("tests") == str(len(CHECKS))
    non_object = failed["semantics.non_object_body"]
    assert non_object is not None
    assert non_object.get("message") == "200 OK: an array was accepted"
    assert "expected: 4xx" in (non_object.text or "")
    assert "request: POST /items → 200" in (non_object.text or "")
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == [
        "semantics.if_none_match",
        "semantics.if_match",
        "semantics.idempotency_key",
        "semantics.pagination",
    ]
    assert suite.get("skipped") == "4"


def test_json_output_of_a_failing_run_is_valid(tmp_path: Path) -> None:
    with serve_app(items_app(crash_on_bad_json=True)) as base:
        result = CliRunner(env=WIDE).invoke(app, ["check", f"{base}/items", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert len(data["checks"]) == len(CHECKS)
    failed = {c["id"]: c for c in data["checks"] if c["status"] == "fail"}
    assert set(failed) == {"semantics.malformed_json", "semantics.no_5xx"}
    assert failed["semantics.malformed_json"]["request"] == {
        "method": "POST",
        "url": f"{base}/items",
        "status": 500,
    }


def test_reports_escape_what_servers_send() -> None:
    nasty = 'got <b>&"\x1b]8;;\x07'
    report = CheckReport(
        "http://127.0.0.1:1/items",
        [
            CheckResult(
                "lifecycle.create",
                "POST creates",
                Status.FAIL,
                "201",
                nasty,
                RequestInfo("POST", "http://127.0.0.1:1/items", 500),
            ),
        ],
    )
    assert json.loads(to_json(report))["checks"][0]["got"] == nasty
    # Control characters are not allowed in XML 1.0; the report must still parse.
    root = ET.fromstring(to_junit_xml(report).encode())
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert "<b>&" in (failure.get("message") or "")


def test_reports_redact_secrets_in_urls() -> None:
    with serve_app(items_app()) as base:
        url = f"{base}/items?api_key=s3cr3t"
        result = CliRunner(env=WIDE).invoke(app, ["check", url, "--json"])
        table = CliRunner(env=WIDE).invoke(app, ["check", url])
    assert result.exit_code == 0, result.output
    assert "s3cr3t" not in result.stdout
    assert json.loads(result.stdout)["target"] == f"{base}/items?api_key=[redacted]"
    assert table.exit_code == 0
    assert "s3cr3t" not in table.stdout
