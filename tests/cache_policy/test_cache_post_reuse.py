"""A POST's answer that names the target as its Content-Location answers later GETs.

RFC 9110 §9.3.3 makes such a response (with explicit freshness) reusable for a GET of the
target URI; RFC 9111 §4.4 has the POST invalidate the URI first. The policy always allowed it
(``decide_store`` keys it under the GET key), but the client flow wrote unsafe methods through
without ever offering their answers for storage, so nothing was kept. Driven end to end on
the conformance origin, in both cache modes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.engine import ScriptedOrigin, run, running_scripted_origin
from tests.conformance.model import Mode, Scenario, Step

MONTH = 30 * 24 * 60 * 60


@pytest.fixture(scope="module")
def origin() -> Iterator[ScriptedOrigin]:
    with running_scripted_origin() as server:
        yield server


def _post(*fields: tuple[str, str | int]) -> Step:
    return Step(
        method="POST",
        request_body="12345",
        response_headers=(("Expires", MONTH), ("Date", 0), *fields),
        magic_locations=True,
        pause_after=True,
    )


@pytest.mark.parametrize("mode", ["private", "shared"])
def test_a_post_answer_for_the_target_uri_answers_the_next_get(
    origin: ScriptedOrigin, mode: Mode
) -> None:
    # Content-Location "" is the request's own target (RFC 9110 §9.3.3).
    scenario = Scenario(
        "post-reuse", "rfc9110", (_post(("Content-Location", "")), Step(expect="cached"))
    )
    assert run(scenario, mode, origin) == []


@pytest.mark.parametrize("mode", ["private", "shared"])
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param((), id="no-content-location"),
        pytest.param((("Content-Location", "elsewhere"),), id="another-uri"),
    ],
)
def test_other_post_answers_are_not_kept(
    origin: ScriptedOrigin, mode: Mode, fields: tuple[tuple[str, str], ...]
) -> None:
    scenario = Scenario("post-no-reuse", "rfc9110", (_post(*fields), Step(expect="not_cached")))
    assert run(scenario, mode, origin) == []
