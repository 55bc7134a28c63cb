"""RFC 9111 conformance: the public HTTP caching test-suite's scenarios, against a real origin.

Every scenario of :mod:`tests.conformance.scenarios` runs through a ``restwell.Client`` and a
``restwell.AsyncClient`` (the same engine drives both) in the configurations a cache can be in
(``private``: an application's own cache; ``shared``: the reverse-proxy configuration with a
shared-cache policy; ``cdn``: that with ``CDN-Cache-Control`` as its targeted field, RFC 9213),
where it applies.
Outcomes restwell does not produce on purpose are listed in ``KNOWN`` with the reason; they
are strict xfails, so a change that makes one pass is noticed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.engine import ClientKind, ScriptedOrigin, run, running_scripted_origin
from tests.conformance.model import Mode, Scenario
from tests.conformance.scenarios import all_scenarios

_CONFLICTING = (
    "two different max-age values are conflicting freshness information; RFC 9111 §4.2.1 "
    "allows using the first or treating the response as stale, and restwell treats it as "
    "stale (either choice fails two of these four checks)"
)
_INVALID_DELTA = (
    "a max-age that is not delta-seconds (RFC 9111 §1.2.2: 1*DIGIT) is invalid freshness "
    "information and makes the response stale (§4.2.1), not fresh for a guessed lifetime"
)
_PARTS_NOT_STORED = (
    "206 responses are not stored (RFC 9111 §3.3 allows storing an incomplete response, never "
    "requires it); a single byte range is cut from a stored complete 200 instead"
)
_BAD_PART = (
    _PARTS_NOT_STORED + ". This scripted 206 could not be kept soundly anyway: its "
    "Content-Range (bytes 4-9/10) declares six bytes and its body carries five"
)
_CREDENTIALS = (
    "restwell keys every stored answer to the credentials (Authorization, Cookie) of the "
    "request that fetched it, so an answer never reaches a request with other credentials "
    "(tests/cache_client/test_shared_private.py); RFC 9111 §3.5 permits this reuse, never "
    "requires it"
)
_NO_STALE_ON_ERROR = (
    "a stale response stands in for a failed origin only when stale-if-error (RFC 5861 §4) or "
    "CachePolicy(stale_if_error=...) allows it; RFC 9111 §4.2.4 permits, never requires, "
    "serving stale when disconnected"
)
_HEURISTIC = (
    "the heuristic lifetime is 10% of the time since Last-Modified (RFC 9111 §4.2.2), under "
    "the three seconds the scenario waits"
)

MODES: tuple[Mode, ...] = ("private", "shared", "cdn")

# (scenario id, mode or None for every mode) -> why restwell deliberately behaves otherwise;
# the same for both client kinds.
KNOWN: dict[tuple[str, Mode | None], str] = {
    ("freshness-max-age-two-fresh-stale-sameline", None): _CONFLICTING,
    ("freshness-max-age-two-fresh-stale-sepline", None): _CONFLICTING,
    ("freshness-max-age-two-stale-fresh-sameline", None): _CONFLICTING,
    ("freshness-max-age-two-stale-fresh-sepline", None): _CONFLICTING,
    ("freshness-max-age-100a", None): _INVALID_DELTA,
    ("freshness-max-age-a100", None): _INVALID_DELTA,
    ("freshness-max-age-decimal-five", None): _INVALID_DELTA,
    ("freshness-max-age-decimal-zero", None): _INVALID_DELTA,
    ("age-parse-parameter", None): (
        "an Age that is not delta-seconds is ignored (RFC 9111 §5.1), as age-parse-nonnumeric "
        "and age-parse-float require, rather than read up to the parameter"
    ),
    ("age-parse-numeric-parameter", None): (
        "an Age that is not delta-seconds is ignored (RFC 9111 §5.1), as age-parse-nonnumeric "
        "and age-parse-float require, rather than read up to the parameter"
    ),
    ("ccreq-no-store", None): (
        "request no-store forbids storing the response (RFC 9111 §5.2.1.5), not answering "
        "from a response stored earlier"
    ),
    ("conditional-etag-forward-unquoted", None): (
        "the client's own preconditions are forwarded as received, not rewritten"
    ),
    ("conditional-etag-strong-generate-unquoted", None): (
        "restwell sends the unquoted stored ETag quoted, as the check asks, but the scripted "
        "origin answers 304 only to the tag spelled as it sent it (the public suite's origin "
        "behaves the same)"
    ),
    ("conditional-lm-fresh-no-lm", "shared"): (
        "without Last-Modified the stored Date is compared with If-Modified-Since (RFC 9111 "
        "§4.3.2); a response dated after it counts as modified, so the answer is the 200"
    ),
    ("304-etag-update-response-ETag", None): (
        "a 304 whose strong ETag differs from the validated one identifies no stored response "
        "(RFC 9111 §4.3.4), so nothing is updated and the request is repeated unconditionally "
        "(the scripted origin then answers 999)"
    ),
    ("head-200-retain", None): (
        "a HEAD is answered with the origin's own response; the stored GET response is only "
        "freshened by it (RFC 9111 §4.3.5)"
    ),
    ("head-410-update", None): (
        "only a 200 to HEAD updates stored responses (RFC 9111 §4.3.5); a 410 does not"
    ),
    ("heuristic-delta-5", None): _HEURISTIC,
    ("heuristic-delta-10", None): _HEURISTIC,
    ("heuristic-delta-30", None): _HEURISTIC,
    ("other-age-delay", None): (
        "Age is generated for answers from the cache (RFC 9111 §5.1), not added to a response "
        "passed on from the origin"
    ),
    ("other-authorization-public", "shared"): _CREDENTIALS,
    ("other-authorization-must-revalidate", "shared"): _CREDENTIALS,
    ("other-authorization-smaxage", "shared"): _CREDENTIALS,
    ("other-cookie", None): _CREDENTIALS,
    ("pragma-request-no-cache", "private"): (
        "the private client sends no Cache-Control, and then Pragma: no-cache means no-cache "
        "(RFC 9111 §5.4); in the shared run the suite's Cache-Control makes Pragma ignored"
    ),
    ("stale-503", None): _NO_STALE_ON_ERROR,
    ("stale-close", None): _NO_STALE_ON_ERROR,
    ("stale-warning-become", None): _NO_STALE_ON_ERROR + "; Warning is obsolete (RFC 9111 §5.5)",
    ("stale-warning-stored", None): _NO_STALE_ON_ERROR + "; Warning is obsolete (RFC 9111 §5.5)",
    ("stale-if-error-cc-request", None): (
        "a response with max-age=0 and no validator is not stored, since only a later "
        "request's own max-stale / stale-if-error could ever reuse it"
    ),
    ("vary-normalise-lang-order", None): (
        "Accept-Language member order is kept when matching Vary: recipients may read it as "
        "priority (RFC 9110 §12.5.4), so two orders are not known to be equivalent (§4.1)"
    ),
    ("vary-normalise-lang-select", None): (
        "Vary matching compares normalised field values (RFC 9111 §4.1); it does not perform "
        "content negotiation against Content-Language"
    ),
}
KNOWN[("cdn-max-age-case-insensitive", "cdn")] = (
    "a targeted field is a Structured Field Dictionary, whose keys are lower case (RFC 8941 "
    "§3.2); MaX-aGe fails to parse, so the field is ignored (RFC 9213 §2.1) and, with no "
    "Cache-Control, nothing makes the response fresh"
)
for _id in (
    "partial-store-partial-reuse-partial",
    "partial-store-partial-reuse-partial-absent",
    "partial-store-partial-reuse-partial-byterange",
    "partial-store-partial-reuse-partial-suffix",
):
    KNOWN[(_id, None)] = _BAD_PART
KNOWN[("partial-store-partial-complete", None)] = (
    _PARTS_NOT_STORED + "; and completing a stored part means combining it with the next "
    "one, which §3.4 allows only when both carry the same strong validator (this one has none)"
)


@pytest.fixture(scope="module")
def scripted_origin() -> Iterator[ScriptedOrigin]:
    with running_scripted_origin() as origin:
        yield origin


def _cases() -> list[object]:
    cases: list[object] = []
    for kind in ("sync", "async"):
        suffix = "" if kind == "sync" else "/async"
        for scenario in all_scenarios():
            for mode in MODES:
                if not scenario.applies_to(mode):
                    continue
                # A CDN is a shared cache: what restwell does on purpose there holds for it too.
                reason = (
                    KNOWN.get((scenario.id, mode))
                    or (mode == "cdn" and KNOWN.get((scenario.id, "shared")))
                    or KNOWN.get((scenario.id, None))
                )
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                cases.append(
                    pytest.param(
                        scenario,
                        mode,
                        kind,
                        id=f"{scenario.suite}:{scenario.id}[{mode}{suffix}]",
                        marks=marks,
                    )
                )
    return cases


@pytest.mark.parametrize(("scenario", "mode", "kind"), _cases())
def test_scenario(
    scripted_origin: ScriptedOrigin, scenario: Scenario, mode: Mode, kind: ClientKind
) -> None:
    fails = run(scenario, mode, scripted_origin, kind)
    assert not fails, f"{scenario.kind} {scenario.id} ({mode}, {kind}): " + "; ".join(fails)
