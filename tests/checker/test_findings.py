"""The checker judges servers it has never seen: exact findings against deliberate faults."""

from __future__ import annotations

from typing import Any

import pytest

from restwell.checker import CHECKS, CheckReport, Status, run_checks
from tests.checker.apps import items_app
from tests.checker.conftest import serve_app

PASS, FAIL, SKIP = Status.PASS, Status.FAIL, Status.SKIP

# What the plain in-memory app earns: every applicable check passes; the optional features it
# lacks (ETags, Idempotency-Key, a list endpoint) are skipped with the reason, never passed.
PLAIN: dict[str, Status] = {
    "lifecycle.create": PASS,
    "lifecycle.read": PASS,
    "semantics.get_safe": PASS,
    "semantics.head_matches_get": PASS,
    "semantics.if_none_match": SKIP,
    "semantics.malformed_json": PASS,
    "semantics.non_object_body": PASS,
    "lifecycle.replace": PASS,
    "semantics.put_idempotent": PASS,
    "lifecycle.merge": PASS,
    "semantics.if_match": SKIP,
    "semantics.idempotency_key": SKIP,
    "semantics.pagination": SKIP,
    "semantics.allow_on_405": PASS,
    "lifecycle.delete": PASS,
    "lifecycle.read_after_delete": PASS,
    "lifecycle.delete_again": PASS,
    "semantics.delete_idempotent": PASS,
    "lifecycle.replace_after_delete": PASS,
    "lifecycle.merge_after_delete": PASS,
    "semantics.no_5xx": PASS,
}


def check_app(app: Any, **options: Any) -> CheckReport:
    with serve_app(app) as base:
        return run_checks(f"{base}/items", timeout=5, **options)


def verdicts(report: CheckReport) -> dict[str, Status]:
    return {r.id: r.status for r in report.results}


def test_the_verdict_table_covers_every_check_in_order() -> None:
    assert list(PLAIN) == [c.id for c in CHECKS]


def test_a_plain_api_passes_what_applies_and_skips_the_rest_with_reasons() -> None:
    report = check_app(items_app())
    assert verdicts(report) == PLAIN
    assert report.ok
    assert report.exit_code == 0
    skipped = {r.id: r.got for r in report.skipped}
    assert skipped == {
        "semantics.if_none_match": "the server sends no ETag",
        "semantics.if_match": "the server sends no ETag",
        "semantics.idempotency_key": "the server ignores Idempotency-Key (the repeat created "
        "a second item: /items/2, /items/3)",
        "semantics.pagination": "the collection cannot be listed (405)",
    }
    replace = report.result("lifecycle.replace")
    assert replace.got == "200 OK; 'name' replaced, omitted 'tags' gone"
    assert replace.request is not None
    assert replace.request.short() == "PUT /items/1 → 200"


def test_answering_200_to_create_fails_create_only() -> None:
    report = check_app(items_app(create_status=200))
    assert verdicts(report) == {**PLAIN, "lifecycle.create": FAIL}
    create = report.result("lifecycle.create")
    assert create.expected == "201 Created with a Location header"
    assert create.got == (
        "200 OK instead of 201 Created, no Location header; the new item was found at /items/1"
    )
    assert create.request is not None
    assert create.request.short() == "POST /items → 200"
    assert report.exit_code == 1


def test_no_patch_fails_merge_and_skips_what_depends_on_it() -> None:
    report = check_app(items_app(with_patch=False))
    assert verdicts(report) == {
        **PLAIN,
        "lifecycle.merge": FAIL,
        "lifecycle.merge_after_delete": SKIP,
    }
    merge = report.result("lifecycle.merge")
    # Starlette lists the methods in set order.
    assert merge.got.startswith("405 Method Not Allowed (Allow: ")
    allow = merge.got.removeprefix("405 Method Not Allowed (Allow: ").removesuffix(")")
    assert sorted(allow.split(", ")) == ["DELETE", "GET", "HEAD", "PUT"]
    assert merge.request is not None
    assert merge.request.short() == "PATCH /items/1 → 405"
    after = report.result("lifecycle.merge_after_delete")
    assert after.got == "depends on lifecycle.merge which failed"
    # The PATCH's 405 carried a correct Allow, which the 405 check saw.
    assert report.result("semantics.allow_on_405").got.startswith("4 answers with 405")


def test_500_for_bad_json_fails_the_check_and_the_no_5xx_summary() -> None:
    report = check_app(items_app(crash_on_bad_json=True))
    assert verdicts(report) == {
        **PLAIN,
        "semantics.malformed_json": FAIL,
        "semantics.no_5xx": FAIL,
    }
    malformed = report.result("semantics.malformed_json")
    assert malformed.expected == "4xx"
    assert malformed.got == "500 Internal Server Error (text/plain: Internal Server Error)"
    summary = report.result("semantics.no_5xx")
    assert summary.got.startswith("1 of ")
    assert summary.got.endswith(" answers were 5xx: POST /items → 500 (semantics.malformed_json)")
    assert summary.request is not None
    assert summary.request.status == 500


def test_accepting_an_array_body_fails_non_object_body() -> None:
    report = check_app(items_app(accept_arrays=True))
    assert verdicts(report) == {**PLAIN, "semantics.non_object_body": FAIL}
    finding = report.result("semantics.non_object_body")
    assert finding.got == "201 Created: an array was accepted"
    assert finding.request is not None
    assert finding.request.short() == "POST /items → 201"


def test_invalid_json_representations_fail_reads_and_skip_their_dependents() -> None:
    report = check_app(items_app(garbled_reads=True))
    garbled = '200 OK, but the body is not JSON (application/json: {"id": 1, "name":)'
    assert verdicts(report) == {
        **PLAIN,
        "lifecycle.read": FAIL,
        "semantics.get_safe": SKIP,
        "semantics.head_matches_get": SKIP,
        "semantics.if_none_match": SKIP,
        "lifecycle.replace": FAIL,
        "semantics.put_idempotent": SKIP,
        "lifecycle.merge": FAIL,
        "semantics.if_match": SKIP,
        "lifecycle.replace_after_delete": SKIP,
        "lifecycle.merge_after_delete": SKIP,
    }
    assert report.result("lifecycle.read").got == garbled
    assert report.result("semantics.get_safe").got == "depends on lifecycle.read which failed"
    assert report.result("semantics.put_idempotent").got == (
        "depends on lifecycle.replace which failed"
    )


@pytest.mark.parametrize("body", [{"title": "a note", "done": False}, {"name": "only a name"}])
def test_a_custom_body_and_id_field_are_used(body: dict[str, Any]) -> None:
    report = check_app(items_app(), body={"name": "x", **body}, id_field="id")
    assert report.result("lifecycle.read").status is PASS
    assert report.result("lifecycle.replace").status is PASS
    assert report.ok


def test_a_location_on_another_origin_is_not_followed() -> None:
    # Following it would send the user's headers (credentials) to another server.
    report = check_app(items_app(location_origin="http://127.0.0.1:1"))
    create = report.result("lifecycle.create")
    assert create.status is FAIL
    assert create.got == "Location http://127.0.0.1:1/items/1 is on another origin (not followed)"
    assert report.result("lifecycle.read").got == "depends on lifecycle.create which failed"
    contacted = {r.request.url.split("/items")[0] for r in report.results if r.request}
    assert "http://127.0.0.1:1" not in contacted
