"""restwell's own reference server passes every check: what the README's first command shows."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from restwell.checker import CHECKS, Status, run_checks
from restwell.cli import app

WIDE = {"COLUMNS": "200"}  # a wide terminal, so table cells do not wrap


def test_the_reference_server_passes_every_check(reference_url: str) -> None:
    report = run_checks(reference_url, timeout=5)
    assert [r.id for r in report.results] == [c.id for c in CHECKS]
    assert {r.id: r.got for r in report.results if r.status is not Status.PASS} == {}
    assert report.ok
    assert report.exit_code == 0
    # The optional features are really exercised, not skipped.
    assert report.result("semantics.if_match").got.startswith("412 for a stale If-Match")
    assert report.result("semantics.idempotency_key").got == (
        "the repeat replayed 201 and the same body; one item created"
    )
    assert "via rel=next" in report.result("semantics.pagination").got


def test_the_checker_cleans_up_after_itself(reference_url: str) -> None:
    import httpx

    before = httpx.get(reference_url, params={"limit": 100}, timeout=5).json()["items"]
    assert run_checks(reference_url, timeout=5).ok
    after = httpx.get(reference_url, params={"limit": 100}, timeout=5).json()["items"]
    assert after == before


def test_restwell_check_without_url_checks_the_embedded_server() -> None:
    result = CliRunner(env=WIDE).invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "started the reference server at http://127.0.0.1:" in result.stderr
    assert f"{len(CHECKS)} passed, 0 failed, 0 skipped" in result.stdout
    for check in CHECKS:
        assert check.id in result.stdout.replace("\n", "")


def test_json_output_lists_every_check(reference_url: str) -> None:
    result = CliRunner(env=WIDE).invoke(app, ["check", reference_url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["target"] == reference_url
    assert data["summary"] == {
        "passed": len(CHECKS),
        "failed": 0,
        "skipped": 0,
        "total": len(CHECKS),
        "duration": data["summary"]["duration"],
    }
    assert [c["id"] for c in data["checks"]] == [c.id for c in CHECKS]
    first = data["checks"][0]
    assert first["status"] == "pass"
    assert first["request"]["method"] == "POST"
    assert first["request"]["status"] == 201
    assert set(first) == {
        "id",
        "title",
        "group",
        "status",
        "expected",
        "got",
        "request",
        "duration",
    }


def test_retries_and_headers_are_accepted(reference_url: str) -> None:
    result = CliRunner(env=WIDE).invoke(
        app,
        ["check", reference_url, "--retries", "2", "-H", "X-Trace: 1", "--timeout", "5", "-q"],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"{len(CHECKS)} passed, 0 failed")
