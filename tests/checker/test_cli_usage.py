"""Invalid input to ``restwell check`` is a one-line error and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from restwell.cli import app

WIDE = {"COLUMNS": "200"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--body", "{not json"], "error: the body is not valid JSON: "),
        (["--body", "[1, 2]"], "error: the body must be a JSON object, got list"),
        (["-H", "no colon here"], "error: invalid header 'no colon here': use 'Name: value'"),
        (["-H", "Bad Name: x"], "error: invalid header 'Bad Name: x': use 'Name: value'"),
        (["--id-field", ""], "error: --id-field must not be empty"),
        (
            ["--junit-xml", "/nonexistent-dir/report.xml"],
            "error: --junit-xml: the directory '/nonexistent-dir' does not exist",
        ),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = CliRunner(env=WIDE).invoke(app, ["check", "http://127.0.0.1:9/items", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8000/items", "it must start with http:// or https://"),
        ("ftp://127.0.0.1/items", "it must start with http:// or https://"),
        ("http:///items", "it has no host"),
        ("http://127.0.0.1:99999/items", "Port out of range"),
        ("http://127.0.0.1:8000/it ems", "it must not be empty or contain spaces"),
    ],
)
def test_bad_urls_are_one_line_errors(url: str, message: str) -> None:
    result = CliRunner(env=WIDE).invoke(app, ["check", url])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: invalid URL {url!r}")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--retries", "-1"], ["--nope"]])
def test_typer_rejects_out_of_range_options_with_exit_2(args: list[str]) -> None:
    result = CliRunner(env=WIDE).invoke(app, ["check", "http://127.0.0.1:9/items", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_an_unwritable_junit_file_is_reported(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    target.mkdir()  # a directory where the file should go
    result = CliRunner(env=WIDE).invoke(
        app, ["check", "http://127.0.0.1:9/items", "--junit-xml", str(target), "-q"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
