"""Reports of a run: JSON, JUnit XML (both standard library only) and a rich table."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from restwell._models import redact_url
from restwell.checker._model import CheckReport, Status

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["render_table", "to_json", "to_junit_xml"]

_STYLES = {Status.PASS: "green", Status.FAIL: "bold red", Status.SKIP: "yellow"}
# XML 1.0 §2.2: characters a document may not contain, even escaped. Servers put anything in
# bodies and headers, and findings quote them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def to_json(report: CheckReport, *, indent: int | None = 2) -> str:
    """The report as JSON: ``target``, ``ok``, ``summary`` counts and every check.

    Args:
        report: The report.
        indent: Indentation (``None`` for one line).
    """
    return json.dumps(report.to_dict(), indent=indent, ensure_ascii=False)


def to_junit_xml(report: CheckReport) -> str:
    """The report as JUnit XML: one ``testcase`` per check, failures and skips marked.

    The layout is the one CI systems read (``testsuites/testsuite/testcase`` with
    ``failure`` and ``skipped`` children); the class name is the check's group.
    """
    suites = ET.Element(
        "testsuites",
        name="restwell check",
        tests=str(len(report.results)),
        failures=str(len(report.failed)),
        skipped=str(len(report.skipped)),
        errors="0",
        time=f"{report.duration:.3f}",
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=_xml_text(f"restwell check {redact_url(report.target)}"),
        tests=str(len(report.results)),
        failures=str(len(report.failed)),
        skipped=str(len(report.skipped)),
        errors="0",
        time=f"{report.duration:.3f}",
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"restwell.check.{result.group}",
            name=result.id,
            time=f"{result.duration:.3f}",
        )
        request = "" if result.request is None else f"\nrequest: {result.request.short()}"
        text = _xml_text(f"{result.title}\nexpected: {result.expected}\ngot: {result.got}{request}")
        got = _xml_text(result.got)
        if result.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", message=got, type="NonConformance")
            failure.text = text
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=got)
        else:
            ET.SubElement(case, "system-out").text = text
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode")


def render_table(report: CheckReport, *, only_failed: bool = False) -> Table:
    """A rich table, one row per check: result, check, expected, and what came (with the request).

    Needs ``rich`` (the ``cli`` extra).

    Args:
        report: The report.
        only_failed: Show failed checks only.
    """
    from rich.table import Table
    from rich.text import Text

    title = f"restwell check {redact_url(report.target)}"
    table = Table(title=Text(title, style="bold"), title_justify="left")
    table.add_column("result", no_wrap=True)
    table.add_column("check", overflow="fold")
    table.add_column("expected", overflow="fold")
    table.add_column("got · request", overflow="fold")
    for result in report.results:
        if only_failed and result.status is not Status.FAIL:
            continue
        got = Text(result.got, style="red" if result.status is Status.FAIL else "")
        if result.request is not None:
            got.append(f"\n{result.request.short()}", style="dim")
        table.add_row(
            Text(result.status.value.upper(), style=_STYLES[result.status]),
            Text.assemble(result.title, "\n", (result.id, "dim")),
            Text(result.expected),
            got,
        )
    return table
