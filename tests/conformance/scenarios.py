"""The scenarios, suite by suite, named by the ids of the public HTTP caching test-suite.

Each function below returns one suite's scenarios. The facts (headers, statuses, expected
outcomes) are those of the public suite's test of the same id; :mod:`tests.conformance.model`
explains the vocabulary. Templates merge the way the suite's do: fields given to a template
replace its own, except the header lists, which are appended to.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.conformance.model import Kind, ResponseHeader, Scenario, Step, Value

H = tuple[ResponseHeader, ...]


def _template(base: Step) -> Callable[..., Step]:
    def make(**changes: object) -> Step:
        extra_rsp = changes.pop("response_headers", ())
        extra_req = changes.pop("request_headers", ())
        step = base.but(**changes)
        return step.but(
            response_headers=(*base.response_headers, *extra_rsp),  # type: ignore[misc]
            request_headers=(*base.request_headers, *extra_req),  # type: ignore[misc]
        )

    return make


fresh = _template(
    Step(
        response_headers=(("Cache-Control", "max-age=100000"), ("Date", 0)),
        setup=True,
        pause_after=True,
    )
)
stale = _template(
    Step(
        response_headers=(("Expires", -5000), ("Last-Modified", -100000), ("Date", 0)),
        setup=True,
        pause_after=True,
    )
)
become_stale = _template(
    Step(
        response_headers=(("Cache-Control", "max-age=2"), ("Date", 0), ("Template-A", "1")),
        setup=True,
        pause_after=True,
    )
)


def setup(*headers: ResponseHeader, pause: bool = True, **more: object) -> Step:
    """The usual first step: the origin's response with ``headers``, then (by default) a pause."""
    return Step(response_headers=headers, setup=True, pause_after=pause).but(**more)


def expect(what: str, **more: object) -> Step:
    return Step(expect=what).but(**more)  # type: ignore[arg-type]


def sc(
    suite: str,
    id: str,
    *steps: Step,
    kind: Kind = "required",
    private_only: bool = False,
    shared_only: bool = False,
    cdn_only: bool = False,
) -> Scenario:
    return Scenario(id, suite, steps, kind, private_only, shared_only, cdn_only)


def content(key: str) -> str:
    """A distinct, readable value for ``key`` (where the suite generates an opaque token)."""
    return f"{key}-{sum(map(ord, key)) % 9973:04d}"


# ----------------------------------------------------------------------------- cc-freshness


def cc_freshness() -> list[Scenario]:
    s = "cc-freshness"

    def reuse(id: str, *headers: ResponseHeader, kind: Kind = "optimal", **kw: bool) -> Scenario:
        return sc(s, id, setup(*headers), expect("cached"), kind=kind, **kw)

    def fresh_never(
        id: str, *headers: ResponseHeader, kind: Kind = "required", **kw: bool
    ) -> Scenario:
        return sc(s, id, setup(*headers), expect("not_cached"), kind=kind, **kw)

    return [
        fresh_never("freshness-none", kind="check"),
        reuse("freshness-max-age", ("Cache-Control", "max-age=3600")),
        sc(s, "freshness-max-age-stale", become_stale(), expect("not_cached")),
        fresh_never("freshness-max-age-0", ("Cache-Control", "max-age=0")),
        reuse("freshness-max-age-max-minus-1", ("Cache-Control", "max-age=2147483647")),
        reuse("freshness-max-age-max", ("Cache-Control", "max-age=2147483648")),
        reuse("freshness-max-age-max-plus-1", ("Cache-Control", "max-age=2147483649")),
        reuse("freshness-max-age-max-plus", ("Cache-Control", "max-age=99999999999")),
        fresh_never(
            "freshness-max-age-age",
            ("Date", 0),
            ("Cache-Control", "max-age=3600"),
            ("Age", "7200"),
        ),
        fresh_never(
            "freshness-max-age-date",
            ("Date", -7200),
            ("Cache-Control", "max-age=3600"),
            kind="check",
        ),
        reuse(
            "freshness-max-age-expires",
            ("Cache-Control", "max-age=3600"),
            ("Expires", -7200),
            ("Date", 0),
        ),
        reuse(
            "freshness-max-age-expires-invalid",
            ("Cache-Control", "max-age=3600"),
            ("Expires", "0", False),
            ("Date", 0),
        ),
        fresh_never(
            "freshness-max-age-0-expires",
            ("Expires", 3600),
            ("Cache-Control", "max-age=0"),
            ("Date", 0),
        ),
        reuse("freshness-max-age-extension", ("Cache-Control", "foobar, max-age=3600")),
        reuse("freshness-max-age-case-insenstive", ("Cache-Control", "MaX-aGe=3600")),
        fresh_never("freshness-max-age-negative", ("Cache-Control", "max-age=-3600")),
        fresh_never(
            "freshness-max-age-s-maxage-private",
            ("Cache-Control", "s-maxage=3600, max-age=1"),
            private_only=True,
        ),
        fresh_never(
            "freshness-max-age-s-maxage-private-multiple",
            ("Cache-Control", "s-maxage=3600"),
            ("Cache-Control", "max-age=1"),
            private_only=True,
        ),
        reuse(
            "freshness-s-maxage-shared",
            ("Cache-Control", "s-maxage=3600"),
            kind="required",
            shared_only=True,
        ),
        fresh_never(
            "freshness-max-age-s-maxage-shared-longer",
            ("Cache-Control", "max-age=3600, s-maxage=1"),
            shared_only=True,
        ),
        fresh_never(
            "freshness-max-age-s-maxage-shared-longer-reversed",
            ("Cache-Control", "s-maxage=1, max-age=3600"),
            shared_only=True,
        ),
        fresh_never(
            "freshness-max-age-s-maxage-shared-longer-multiple",
            ("Cache-Control", "max-age=3600"),
            ("Cache-Control", "s-maxage=1"),
            shared_only=True,
        ),
        reuse(
            "freshness-max-age-s-maxage-shared-shorter",
            ("Cache-Control", "max-age=1, s-maxage=3600"),
            shared_only=True,
        ),
        reuse(
            "freshness-max-age-s-maxage-shared-shorter-expires",
            ("Expires", -10),
            ("Cache-Control", "max-age=0, s-maxage=3600"),
            shared_only=True,
        ),
    ]


# ----------------------------------------------------------------------------- cc-parse


def cc_parse() -> list[Scenario]:
    s = "cc-parse"

    def one(id: str, expected: str, *values: str, kind: Kind = "check") -> Scenario:
        headers = tuple(("Cache-Control", v, False) for v in values)
        return sc(s, id, setup(*headers), expect(expected), kind=kind)

    return [
        one("freshness-max-age-two-fresh-stale-sameline", "cached", "max-age=1800, max-age=1"),
        one("freshness-max-age-two-fresh-stale-sepline", "cached", "max-age=1800", "max-age=1"),
        one("freshness-max-age-two-stale-fresh-sameline", "cached", "max-age=1, max-age=1800"),
        one("freshness-max-age-two-stale-fresh-sepline", "cached", "max-age=1", "max-age=1800"),
        one("freshness-max-age-quoted", "cached", 'max-age="3600"'),
        one(
            "freshness-max-age-ignore-quoted",
            "not_cached",
            'extension="max-age=3600", max-age=1',
            kind="required",
        ),
        one(
            "freshness-max-age-ignore-quoted-rev",
            "not_cached",
            'max-age=1, extension="max-age=3600"',
            kind="required",
        ),
        one("freshness-max-age-space-before-equals", "not_cached", "max-age =3600"),
        one("freshness-max-age-space-after-equals", "not_cached", "max-age= 3600"),
        one("freshness-max-age-leading-zero", "cached", "max-age=003600", kind="required"),
        one("freshness-max-age-single-quoted", "not_cached", "max-age='3600'", kind="required"),
        one("freshness-max-age-decimal-zero", "cached", "max-age=3600.0"),
        one("freshness-max-age-decimal-five", "cached", "max-age=3600.5"),
        one("freshness-max-age-a100", "cached", "max-age=a3600"),
        one("freshness-max-age-100a", "cached", "max-age=3600a"),
    ]


# ----------------------------------------------------------------------------- cc-response


def cc_response() -> list[Scenario]:
    s = "cc-response"
    old_new = [
        (
            "cc-resp-no-store-old-new",
            "no-store",
        ),
        ("cc-resp-no-store-old-max-age", "no-store, max-age=0"),
    ]
    out = [
        sc(
            s,
            "cc-resp-private-shared",
            setup(("Cache-Control", "private, max-age=3600"), pause=False),
            expect("not_cached"),
            shared_only=True,
        ),
        sc(
            s,
            "cc-resp-private-private",
            setup(("Cache-Control", "private, max-age=3600"), pause=False),
            expect("cached"),
            kind="optimal",
            private_only=True,
        ),
        sc(
            s,
            "cc-resp-no-store",
            setup(("Cache-Control", "no-store"), pause=False),
            expect("not_cached"),
        ),
        sc(
            s,
            "cc-resp-no-store-case-insensitive",
            setup(("Cache-Control", "No-StOrE"), pause=False),
            expect("not_cached"),
        ),
        sc(
            s,
            "cc-resp-no-store-fresh",
            setup(
                ("Cache-Control", "max-age=10000, no-store"),
                ("Expires", 10000),
                ("Date", 0),
                pause=False,
            ),
            expect("not_cached"),
        ),
        *(
            sc(
                s,
                id,
                setup(
                    ("Cache-Control", "max-age=10000"), ("Expires", 10000), ("Date", 0), ("A", "1")
                ),
                setup(("Cache-Control", second), ("Date", 0), ("A", "2")),
                expect("cached", expected_response_headers=(("a", "1"),)),
            )
            for id, second in old_new
        ),
        sc(
            s,
            "cc-resp-no-cache",
            setup(
                ("Cache-Control", "max-age=10000, no-cache"),
                ("Expires", 10000),
                ("Date", 0),
                pause=False,
            ),
            expect("not_cached"),
        ),
        sc(
            s,
            "cc-resp-no-cache-case-insensitive",
            setup(
                ("Cache-Control", "max-age=10000, No-CaChE"),
                ("Expires", 10000),
                ("Date", 0),
                pause=False,
            ),
            expect("not_cached"),
        ),
        sc(
            s,
            "cc-resp-no-cache-revalidate",
            setup(("Cache-Control", "no-cache"), ("ETag", '"abcd"'), pause=False),
            expect("etag_validated"),
            kind="optimal",
        ),
        sc(
            s,
            "cc-resp-no-cache-revalidate-fresh",
            setup(
                ("Cache-Control", "max-age=10000, no-cache"),
                ("Expires", 10000),
                ("Date", 0),
                ("ETag", '"abcd"'),
                pause=False,
            ),
            expect("etag_validated"),
            kind="optimal",
        ),
        sc(
            s,
            "headers-omit-headers-listed-in-Cache-Control-no-cache-single",
            setup(
                ("Cache-Control", 'no-cache="a"'),
                ("a", "1"),
                ("b", "2"),
                ("Cache-Control", "max-age=3600"),
                ("Date", 0),
            ),
            expect(
                "cached",
                expected_response_headers=(("b", "2"),),
                expected_response_headers_missing=("a",),
            ),
            kind="check",
        ),
        sc(
            s,
            "headers-omit-headers-listed-in-Cache-Control-no-cache",
            setup(
                ("Cache-Control", 'no-cache="a, b"'),
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("Cache-Control", "max-age=3600"),
                ("Date", 0),
            ),
            expect(
                "cached",
                expected_response_headers=(("c", "3"),),
                expected_response_headers_missing=("a", "b"),
            ),
            kind="check",
        ),
        sc(
            s,
            "cc-resp-must-revalidate-fresh",
            setup(
                ("Cache-Control", "max-age=10000, must-revalidate"), ("ETag", '"abcd"'), pause=False
            ),
            expect("cached"),
            kind="optimal",
        ),
        sc(
            s,
            "cc-resp-must-revalidate-stale",
            setup(("Cache-Control", "max-age=2, must-revalidate"), ("ETag", '"abcd"'), pause=False),
            expect(
                "cached",
                setup=True,
                pause_after=True,
                response_headers=(
                    ("Cache-Control", "max-age=2, must-revalidate"),
                    ("ETag", '"abcd"'),
                ),
            ),
            expect("etag_validated"),
        ),
    ]
    return out


# ----------------------------------------------------------------------------- cc-request


def cc_request() -> list[Scenario]:
    s = "cc-request"

    def req(value: str) -> tuple[tuple[str, Value], ...]:
        return (("Cache-Control", value),)

    one_hour = setup(("Cache-Control", "max-age=3600"), pause=False)
    return [
        sc(
            s,
            "ccreq-ma0",
            fresh(),
            expect("not_cached", request_headers=req("max-age=0")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-ma1",
            fresh(),
            expect("not_cached", request_headers=req("max-age=1")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-magreaterage",
            setup(("Cache-Control", "max-age=3600"), ("Age", "1800"), pause=False),
            expect("not_cached", request_headers=req("max-age=600")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-max-stale",
            setup(("Cache-Control", "max-age=1")),
            expect("cached", request_headers=req("max-stale=1000")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-max-stale-age",
            setup(("Cache-Control", "max-age=1500"), ("Age", "2000"), pause=False),
            expect("cached", request_headers=req("max-stale=1000")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-min-fresh",
            setup(("Cache-Control", "max-age=1500"), pause=False),
            expect("not_cached", request_headers=req("min-fresh=2000")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-min-fresh-age",
            setup(("Cache-Control", "max-age=1500"), ("Age", "1000"), pause=False),
            expect("not_cached", request_headers=req("min-fresh=1000")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-no-cache",
            one_hour,
            expect("not_cached", request_headers=req("no-cache")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-no-cache-lm",
            setup(
                ("Cache-Control", "max-age=3600"),
                ("Last-Modified", -10000),
                ("Date", 0),
                pause=False,
            ),
            expect("lm_validated", request_headers=req("no-cache")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-no-cache-etag",
            setup(("Cache-Control", "max-age=3600"), ("ETag", f'"{content("abc")}"'), pause=False),
            expect("etag_validated", request_headers=req("no-cache")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-no-store",
            one_hour,
            expect("not_cached", request_headers=req("no-store")),
            kind="check",
        ),
        sc(
            s,
            "ccreq-oic",
            Step(
                request_headers=req("only-if-cached"),
                expected_status=504,
                expected_text=None,
                check_body=False,
            ),
            kind="check",
        ),
    ]


# ----------------------------------------------------------------------------- age-parse


def age_parse() -> list[Scenario]:
    s = "age-parse"

    def age(
        id: str, expected: str, *values: str, max_age: int = 3600, kind: Kind = "required"
    ) -> Scenario:
        headers: H = (
            ("Date", 0),
            ("Cache-Control", f"max-age={max_age}"),
            *(("Age", v, False) for v in values),
        )
        return sc(s, id, setup(*headers), expect(expected), kind=kind)

    return [
        age("age-parse-nonnumeric", "cached", "abc"),
        age("age-parse-negative", "cached", "-7200"),
        age("age-parse-float", "cached", "7200.0"),
        age("age-parse-large-minus-one", "not_cached", "2147483647"),
        age("age-parse-large", "not_cached", "2147483648"),
        age("age-parse-larger", "not_cached", "2147483649"),
        age("age-parse-suffix", "not_cached", "7200, 0"),
        age("age-parse-prefix", "cached", "0, 7200"),
        age("age-parse-suffix-twoline", "not_cached", "7200", "0"),
        age("age-parse-prefix-twoline", "cached", "0", "7200"),
        age("age-parse-dup-0", "cached", "0, 0"),
        age("age-parse-dup-0-twoline", "cached", "0", "0"),
        age("age-parse-dup-old", "cached", "3600", "3600", max_age=10000),
        age("age-parse-parameter", "not_cached", "7200;foo=bar", kind="check"),
        age("age-parse-numeric-parameter", "not_cached", "7200;foo=111", kind="check"),
    ]


# ----------------------------------------------------------------------------- expires


def expires() -> list[Scenario]:
    s = "expires"
    month = 30 * 24 * 60 * 60
    return [
        sc(
            s,
            "freshness-expires-future",
            setup(("Expires", month), ("Date", 0)),
            expect("cached"),
            kind="optimal",
        ),
        sc(
            s,
            "freshness-expires-past",
            setup(("Expires", -month), ("Date", 0)),
            expect("not_cached"),
        ),
        sc(
            s,
            "freshness-expires-present",
            setup(("Expires", 0), ("Date", 0), pause=False),
            expect("not_cached"),
        ),
        sc(
            s,
            "freshness-expires-old-date",
            setup(("Expires", 300), ("Date", 400)),
            expect("not_cached"),
        ),
        sc(
            s,
            "freshness-expires-invalid",
            setup(("Expires", "0", False), ("Date", 0)),
            expect("not_cached"),
        ),
        sc(
            s,
            "freshness-expires-invalid-date",
            setup(("Date", "foo", False), ("Expires", 10), pause=False),
            expect("cached"),
            kind="optimal",
        ),
        sc(
            s,
            "freshness-expires-age-slow-date",
            setup(("Date", -10), ("Expires", 10), ("Age", "25"), pause=False),
            expect("not_cached"),
        ),
        sc(
            s,
            "freshness-expires-age-fast-date",
            setup(("Date", 10), ("Expires", 20), ("Age", "15"), pause=False),
            expect("not_cached"),
        ),
    ]


def expires_parse() -> list[Scenario]:
    s = "expires-parse"

    def one(
        id: str, expected: str, *values: str, pause: bool = True, kind: Kind = "required"
    ) -> Scenario:
        headers: H = (*(("Expires", v, False) for v in values), ("Date", 0))
        return sc(s, id, setup(*headers, pause=pause), expect(expected), kind=kind)

    return [
        one("freshness-expires-32bit", "cached", "Tue, 19 Jan 2038 14:14:08 GMT", kind="optimal"),
        one(
            "freshness-expires-far-future",
            "cached",
            "Sun, 21 Nov 2286 04:46:39 GMT",
            kind="optimal",
        ),
        one(
            "freshness-expires-rfc850", "cached", "Thursday, 18-Aug-50 02:01:18 GMT", kind="optimal"
        ),
        one("freshness-expires-ansi-c", "cached", "Thu Aug  8 02:01:18 2050", kind="optimal"),
        one(
            "freshness-expires-wrong-case-weekday",
            "cached",
            "THU, 18 Aug 2050 02:01:18 GMT",
            kind="optimal",
        ),
        one(
            "freshness-expires-wrong-case-month",
            "cached",
            "Thu, 18 AUG 2050 02:01:18 GMT",
            kind="optimal",
        ),
        one(
            "freshness-expires-wrong-case-tz",
            "cached",
            "Thu, 18 Aug 2050 02:01:18 gMT",
            kind="optimal",
        ),
        one("freshness-expires-invalid-utc", "not_cached", "Thu, 18 Aug 2050 02:01:18 UTC"),
        one("freshness-expires-invalid-aest", "not_cached", "Thu, 18 Aug 2050 02:01:18 AEST"),
        one("freshness-expires-invalid-2-digit-year", "not_cached", "Thu, 18 Aug 50 02:01:18 GMT"),
        one("freshness-expires-invalid-no-comma", "not_cached", "Thu 18 Aug 2050 02:01:18 GMT"),
        one(
            "freshness-expires-invalid-multiple-spaces",
            "not_cached",
            "Thu, 18  Aug  2050 02:01:18 GMT",
            pause=False,
        ),
        one(
            "freshness-expires-invalid-date-dashes",
            "not_cached",
            "Thu, 18-Aug-2050 02:01:18 GMT",
            pause=False,
        ),
        one(
            "freshness-expires-invalid-time-periods",
            "not_cached",
            "Thu, 18 Aug 2050 02.01.18 GMT",
            pause=False,
        ),
        one(
            "freshness-expires-invalid-1-digit-hour",
            "not_cached",
            "Thu, 18 Aug 2050 2:01:18 GMT",
            pause=False,
        ),
        one(
            "freshness-expires-invalid-multiple-lines",
            "not_cached",
            "Thu, 18 Aug 2050 2:01:18 GMT",
            "Thu, 18 Aug 2050 2:01:19 GMT",
            pause=False,
        ),
    ]


# ----------------------------------------------------------------------------- heuristic


def heuristic() -> list[Scenario]:
    s = "heuristic"
    table: list[tuple[bool, int, str, str | None, tuple[ResponseHeader, ...], str]] = [
        (True, 200, "OK", None, (), ""),
        (False, 201, "Created", None, (), ""),
        (False, 202, "Accepted", None, (), ""),
        (True, 203, "Non-Authoritative Information", None, (), ""),
        (True, 204, "No Content", "", (), ""),
        (False, 403, "Forbidden", None, (), ""),
        (True, 404, "Not Found", None, (), ""),
        (True, 405, "Method Not Allowed", None, (), ""),
        (True, 410, "Gone", None, (), ""),
        (True, 414, "URI Too Long", None, (), ""),
        (True, 501, "Not Implemented", None, (), ""),
        (False, 502, "Bad Gateway", None, (), ""),
        (False, 503, "Service Unavailable", None, (), ""),
        (False, 504, "Gateway Timeout", None, (), ""),
        (False, 599, "Unknown", None, (), ""),
        (True, 599, "Unknown", None, (("Cache-Control", "public"),), ""),
    ]
    out = []
    for reuse, code, phrase, body, extra, suffix in table:
        body = content(str(code)) if body is None else body
        outcome = "cached" if reuse else "not_cached"
        first = Step(
            status=code,
            reason=phrase,
            response_headers=(("Last-Modified", -24 * 60 * 60), ("Date", 0), *extra),
            response_body=body,
            setup=True,
        )
        second = Step(expect=outcome, status=code, reason=phrase, response_body=body)  # type: ignore[arg-type]
        out.append(
            sc(
                s,
                f"heuristic-{code}-{outcome}{suffix}",
                first,
                second,
                kind="optimal" if reuse else "required",
            )
        )
    for delta in (5, 10, 30, 60, 300, 600, 1200, 1800, 3600, 3600 * 12, 3600 * 24):
        out.append(
            sc(
                s,
                f"heuristic-delta-{delta}",
                setup(("Last-Modified", -delta), ("Date", 0)),
                expect("cached"),
                kind="check",
            )
        )
    return out


# ----------------------------------------------------------------------------- status


def status() -> list[Scenario]:
    s = "status"
    codes = [
        (200, "OK", None),
        (203, "Non-Authoritative Information", None),
        (204, "No Content", ""),
        (299, "Whatever", None),
        (301, "Moved Permanently", None),
        (302, "Found", None),
        (303, "See Other", None),
        (307, "Temporary Redirect", None),
        (308, "Permanent Redirect", None),
        (400, "Bad Request", None),
        (404, "Not Found", None),
        (410, "Gone", None),
        (499, "Whatever", None),
        (500, "Internal Server Error", None),
        (502, "Bad Gateway", None),
        (503, "Service Unavailable", None),
        (504, "Gateway Timeout", None),
        (599, "Whatever", None),
    ]
    out = []
    for code, phrase, body in codes:
        body = content(str(code)) if body is None else body
        out.append(
            sc(
                s,
                f"status-{code}-fresh",
                fresh(status=code, reason=phrase, response_body=body),
                Step(expect="cached", status=code, reason=phrase, response_body=body),
                kind="optimal",
            )
        )
        out.append(
            sc(
                s,
                f"status-{code}-stale",
                stale(status=code, reason=phrase, response_body=body),
                Step(expect="not_cached", response_body=body),
            )
        )
    out.append(
        sc(
            s,
            "status-599-must-understand",
            setup(("Cache-Control", "max-age=3600, no-store, must-understand"), pause=False).but(
                status=599, reason="Whatever"
            ),
            expect("not_cached"),
        )
    )
    out.append(
        sc(
            s,
            "status-200-must-understand",
            setup(("Cache-Control", "max-age=3600, no-store, must-understand"), pause=False),
            expect("cached"),
            kind="optimal",
        )
    )
    return out


# ----------------------------------------------------------------------------- vary


def vary() -> list[Scenario]:
    s = "vary"
    base: H = (("Cache-Control", "max-age=5000"), ("Last-Modified", -3000), ("Date", 0))
    vary1 = _template(
        Step(request_headers=(("Foo", "1"),), response_headers=(*base, ("Vary", "Foo")), setup=True)
    )
    vary2 = _template(
        Step(
            request_headers=(("Foo", "1"), ("Bar", "abc")),
            response_headers=(*base, ("Vary", "Foo, Bar", False)),
            setup=True,
        )
    )
    vary3 = _template(
        Step(
            request_headers=(("Foo", "1"), ("Bar", "abc"), ("Baz", "789")),
            response_headers=(*base, ("Vary", "Foo, Bar, Baz", False)),
            setup=True,
        )
    )

    def norm(
        id: str, first: tuple[str, str], second: tuple[str, str], *more: ResponseHeader
    ) -> Scenario:
        return sc(
            s,
            id,
            Step(
                request_headers=(first,),
                response_headers=(*base, ("Vary", first[0]), *more),
                setup=True,
            ),
            expect("cached", request_headers=(second,)),
            kind="optimal",
        )

    return [
        sc(
            s,
            "vary-match",
            vary1(),
            expect("cached", request_headers=(("Foo", "1"),)),
            kind="optimal",
        ),
        sc(s, "vary-no-match", vary1(), expect("not_cached", request_headers=(("Foo", "2"),))),
        sc(
            s,
            "vary-omit-stored",
            Step(response_headers=(*base, ("Vary", "Foo")), setup=True),
            expect("not_cached", request_headers=(("Foo", "1"),)),
        ),
        sc(s, "vary-omit", vary1(), expect("not_cached")),
        sc(
            s,
            "vary-invalidate",
            vary1(response_body=content("foo_1")),
            Step(
                request_headers=(("Foo", "2"),),
                response_headers=(*base, ("Vary", "Foo")),
                expect="not_cached",
                response_body=content("foo_2"),
                setup=True,
            ),
            expect("cached", request_headers=(("Foo", "1"),), response_body=content("foo_1")),
            kind="optimal",
        ),
        sc(
            s,
            "vary-cache-key",
            vary1(request_headers=(("Other", "2"),)),
            expect("cached", request_headers=(("Foo", "1"), ("Other", "3"))),
            kind="optimal",
        ),
        sc(
            s,
            "vary-2-match",
            vary2(),
            expect("cached", request_headers=(("Foo", "1"), ("Bar", "abc"))),
            kind="optimal",
        ),
        sc(
            s,
            "vary-2-no-match",
            vary2(),
            expect("not_cached", request_headers=(("Foo", "2"), ("Bar", "abc"))),
        ),
        sc(s, "vary-2-match-omit", vary2(), expect("not_cached")),
        sc(
            s,
            "vary-3-match",
            vary3(),
            expect("cached", request_headers=(("Foo", "1"), ("Bar", "abc"), ("Baz", "789"))),
            kind="optimal",
        ),
        sc(
            s,
            "vary-3-no-match",
            vary3(),
            expect("not_cached", request_headers=(("Foo", "2"), ("Bar", "abc"), ("Baz", "789"))),
        ),
        sc(
            s,
            "vary-3-order",
            vary3(),
            expect("not_cached", request_headers=(("Foo", "1"), ("Baz", "789"), ("Bar", "abcde"))),
        ),
        sc(
            s,
            "vary-3-omit",
            Step(
                request_headers=(("Foo", "1"), ("Baz", "789")),
                response_headers=(*base, ("Vary", "Foo, Bar, Baz", False)),
                setup=True,
            ),
            expect("cached", request_headers=(("Foo", "1"), ("Baz", "789"))),
            kind="optimal",
        ),
        sc(
            s,
            "vary-star",
            Step(
                request_headers=(("Foo", "1"), ("Baz", "789")),
                response_headers=(*base, ("Vary", "*")),
                setup=True,
            ),
            expect("not_cached", request_headers=(("Foo", "1"), ("Baz", "789"))),
        ),
        norm("vary-normalise-combine", ("Foo", "1, 2"), ("Foo", "1, 2")),
        norm(
            "vary-normalise-lang-order",
            ("Accept-Language", "en, de"),
            ("Accept-Language", "de, en"),
        ),
        norm(
            "vary-normalise-lang-case", ("Accept-Language", "en, de"), ("Accept-Language", "eN, De")
        ),
        norm(
            "vary-normalise-lang-space",
            ("Accept-Language", "en, de"),
            ("Accept-Language", " en ,   de"),
        ),
        norm(
            "vary-normalise-lang-select",
            ("Accept-Language", "en, de"),
            ("Accept-Language", "fr;q=0.5, de;q=1.0"),
            ("Content-Language", "de"),
        ),
        norm("vary-normalise-space", ("Foo", "1,2"), ("Foo", " 1, 2 ")),
    ]


def vary_parse() -> list[Scenario]:
    s = "vary-parse"
    base: H = (("Cache-Control", "max-age=5000"), ("Last-Modified", -3000), ("Date", 0))
    ask = (("Foo", "1"), ("Baz", "789"))

    def one(id: str, *values: str) -> Scenario:
        headers = (*base, *(("Vary", v, False) for v in values))
        return sc(
            s,
            id,
            Step(request_headers=ask, response_headers=headers, setup=True),
            expect("not_cached", request_headers=ask),
        )

    return [
        one("vary-syntax-star", "*"),
        one("vary-syntax-star-star", "*, *"),
        one("vary-syntax-star-star-lines", "*", "*"),
        one("vary-syntax-empty-star", ", *"),
        one("vary-syntax-empty-star-lines", "", "*"),
        one("vary-syntax-star-foo", "*, Foo"),
        one("vary-syntax-foo-star", "Foo, *"),
    ]


# ----------------------------------------------------------------------------- headers / 304


# (name, value A, value B, stored, updated by a 304 (None: either is allowed), body of that size)
HEADER_LIST: list[tuple[str, str | None, str | None, bool, bool | None]] = [
    ("Test-Header", None, None, True, True),
    ("X-Test-Header", None, None, True, True),
    ("Content-Foo", None, None, True, True),
    ("X-Content-Foo", None, None, True, True),
    ("Cache-Control", "max-age=1", "max-age=3600", True, True),
    ("Connection", None, None, False, None),
    ("Content-Encoding", None, None, True, None),
    ("Content-Length", "5", "10", True, False),
    ("Content-Location", "/foo", "/bar", True, None),
    ("Content-MD5", "rL0Y20zC+Fzt72VPzMSk2A==", "N7UdGUp1E+RbVvZSTy1R8g==", True, None),
    ("Content-Range", None, None, True, None),
    (
        "Content-Security-Policy",
        "default-src 'self'",
        "default-src 'self' cdn.example.com",
        True,
        None,
    ),
    ("Content-Type", "text/plain", "text/plain;charset=utf-8", True, None),
    ("Clear-Site-Data", "cache", "cookies", True, None),
    ("ETag", '"abcdef"', '"ghijkl"', True, None),
    ("Expires", "Fri, 01 Jan 2038 01:01:01 GMT", "Mon, 11 Jan 2038 11:11:11 GMT", True, None),
    ("Keep-Alive", None, None, False, None),
    ("Proxy-Authenticate", None, None, False, None),
    ("Proxy-Authentication-Info", None, None, False, None),
    ("Proxy-Authorization", None, None, False, None),
    ("Proxy-Connection", None, None, False, None),
    ("Public-Key-Pins", None, None, True, None),
    ("Set-Cookie", "a=b", "a=c", True, None),
    ("Set-Cookie2", "a=b", "a=c", True, None),
    ("TE", None, None, False, None),
    # Transfer-Encoding is left out: a value the client cannot decode breaks the framing of
    # the connection itself, before any cache sees the response.
    ("Upgrade", None, None, False, None),
    ("X-Frame-Options", "deny", "sameorigin", True, None),
    ("X-XSS-Protection", "1", "1; mode=block", True, None),
]


def headers() -> list[Scenario]:
    s = "headers"
    out = [
        sc(
            s,
            "headers-omit-headers-listed-in-Connection",
            fresh(
                response_headers=(
                    ("Connection", "a, b", False),
                    ("a", "1", False),
                    ("b", "2", False),
                    ("c", "3", False),
                )
            ),
            expect(
                "cached",
                expected_response_headers=(("c", "3"),),
                expected_response_headers_missing=("a", "b"),
            ),
        )
    ]
    for name, _, value_b, stored, _ in HEADER_LIST:
        value = value_b if value_b is not None else content(f"{name}-store-value")
        body_kw: dict[str, object] = {}
        if name == "Content-Length":
            body_kw = {"response_body": "x" * int(value), "check_body": False}
        headers: H = (("Date", 0), (name, value, stored))
        if name != "Cache-Control":
            headers = (*headers, ("Cache-Control", "max-age=3600"))
        out.append(
            sc(
                s,
                f"headers-store-{name}",
                setup(*headers).but(**body_kw),
                expect(
                    "cached",
                    expected_response_headers=((name, value),) if stored else (),
                    expected_response_headers_missing=() if stored else ((name, value),),
                ).but(**body_kw),
            )
        )
    return out


def update304() -> list[Scenario]:
    s = "update304"
    lm1 = "Wed, 01 Jan 2020 00:00:00 GMT"
    value_a = content("Test-Header-value-A")
    out = [
        sc(
            s,
            "304-lm-use-stored-Test-Header",
            setup(
                ("Cache-Control", "max-age=2"),
                ("Last-Modified", lm1),
                ("Date", 0),
                ("Test-Header", value_a),
            ),
            Step(
                response_headers=(("Last-Modified", lm1), ("Date", 0)),
                expect="lm_validated",
                expected_response_headers=(("Test-Header", value_a),),
            ),
        )
    ]
    for name, a, b, stored, update in HEADER_LIST:
        if not stored:
            continue
        a = a if a is not None else content(f"{name}-value-A")
        b = b if b is not None else content(f"{name}-value-B")
        wanted = a if update is False else b
        kind: Kind = "check" if update is None else "required"
        etag = f'"{content(f"{name}-etag-1")}"'
        body_kw: dict[str, object] = {}
        if name == "Content-Length":
            body_kw = {"response_body": "x" * int(a), "check_body": False}

        def answer(
            value: str,
            validator: bool = True,
            name: str = name,
            update: bool | None = update,
            etag: str = etag,
        ) -> H:
            fields: H = (("Date", 0), (name, value, update is not False))
            if name != "Cache-Control":
                fields = (*fields, ("Cache-Control", "max-age=2"))
            if validator and name != "ETag":
                fields = (*fields, ("ETag", etag))
            return fields

        out.append(
            sc(
                s,
                f"304-etag-update-response-{name}",
                setup(*answer(a)).but(**body_kw),
                Step(
                    response_headers=answer(b),
                    expect="etag_validated",
                    expected_response_headers=((name, wanted),),
                ).but(**body_kw),
                Step(
                    response_headers=answer(wanted, validator=False),
                    expect="cached",
                    expected_response_headers=((name, wanted),),
                ).but(**body_kw),
                kind=kind,
            )
        )
    return out


def update_head() -> list[Scenario]:
    s = "update-head"
    head = Step(method="HEAD", expected_method="HEAD")
    return [
        sc(s, "head-writethrough", become_stale(), head, kind="check"),
        sc(
            s,
            "head-200-retain",
            become_stale(),
            head.but(expected_response_headers=(("Template-A", "1"),)),
            kind="check",
        ),
        sc(
            s,
            "head-200-freshness-update",
            become_stale(),
            head.but(response_headers=(("Cache-Control", "max-age=1000"),)),
            expect("cached"),
            kind="check",
        ),
        sc(
            s,
            "head-200-update",
            become_stale(),
            head.but(response_headers=(("Template-A", "2"), ("Cache-Control", "max-age=1000"))),
            expect("cached", expected_response_headers=(("Template-A", "2"),)),
            kind="check",
        ),
        sc(
            s,
            "head-410-update",
            become_stale(),
            head.but(
                status=410,
                reason="Gone",
                response_headers=(("Template-A", "2"), ("Cache-Control", "max-age=1000")),
            ),
            expect("cached", expected_response_headers=(("Template-A", "2"),)),
            kind="check",
        ),
    ]


# ----------------------------------------------------------------------------- conditional


def conditional_etag() -> list[Scenario]:
    s = "conditional-inm"

    def respond(
        id: str, etag: str, inm: str, kind: Kind = "optimal", check_etag: bool = False
    ) -> Scenario:
        more: dict[str, object] = {}
        if check_etag:
            more["expected_response_headers"] = (("ETag", etag),)
        return sc(
            s,
            id,
            fresh(response_headers=(("ETag", etag),)),
            expect(
                "cached", request_headers=(("If-None-Match", inm),), expected_status=304, **more
            ),
            kind=kind,
            shared_only=True,
        )

    def generate(id: str, etag: str, sent: str, kind: Kind = "optimal") -> Scenario:
        return sc(
            s,
            id,
            become_stale(response_headers=(("ETag", etag),)),
            expect("etag_validated", expected_request_headers=(("If-None-Match", sent),)),
            kind=kind,
        )

    return [
        respond("conditional-etag-strong-respond", '"abcdef"', '"abcdef"'),
        respond("conditional-304-etag", '"abcdef"', '"abcdef"', kind="required", check_etag=True),
        sc(
            s,
            "conditional-etag-precedence",
            fresh(response_headers=(("Last-Modified", -5000), ("ETag", '"abcdef"'))),
            expect(
                "cached",
                request_headers=(("If-None-Match", '"abcdef"'), ("If-Modified-Since", -1)),
                magic_ims=True,
                expected_status=304,
            ),
            shared_only=True,
        ),
        respond(
            "conditional-etag-strong-respond-obs-text",
            '"abcdefü"',
            '"abcdefü"',
            kind="check",
            check_etag=True,
        ),
        respond("conditional-etag-quoted-respond-unquoted", '"abcdef"', "abcdef", kind="check"),
        respond("conditional-etag-unquoted-respond-unquoted", "abcdef", "abcdef", kind="check"),
        respond("conditional-etag-unquoted-respond-quoted", "abcdef", '"abcdef"', kind="check"),
        respond("conditional-etag-weak-respond", 'W/"abcdef"', 'W/"abcdef"'),
        respond(
            "conditional-etag-weak-respond-lowercase", 'w/"abcdef"', 'w/"abcdef"', kind="check"
        ),
        respond(
            "conditional-etag-weak-respond-backslash", 'W\\"abcdef"', 'W\\"abcdef"', kind="check"
        ),
        respond("conditional-etag-weak-respond-omit-slash", 'W"abcdef"', 'W"abcdef"', kind="check"),
        respond(
            "conditional-etag-strong-respond-multiple-first", '"abcdef"', '"abcdef", "1234", "5678"'
        ),
        respond(
            "conditional-etag-strong-respond-multiple-second",
            '"abcdef"',
            '"1234", "abcdef", "5678"',
        ),
        respond(
            "conditional-etag-strong-respond-multiple-last", '"abcdef"', '"1234", "5678", "abcdef"'
        ),
        sc(
            s,
            "conditional-etag-vary-headers",
            Step(
                request_headers=(("Abc", "123"),),
                response_headers=(
                    ("Expires", 1),
                    ("ETag", '"abcdef"'),
                    ("Date", 0),
                    ("Vary", "Abc"),
                ),
                setup=True,
                pause_after=True,
            ),
            expect(
                "etag_validated",
                request_headers=(("Abc", "123"),),
                expected_request_headers=(("Abc", "123"),),
            ),
        ),
        sc(
            s,
            "conditional-etag-vary-headers-mismatch",
            Step(
                request_headers=(("Abc", "123"),),
                response_headers=(
                    ("Expires", 10000),
                    ("ETag", '"abcdef"'),
                    ("Date", 0),
                    ("Vary", "Abc"),
                ),
                setup=True,
                pause_after=True,
            ),
            Step(
                request_headers=(("Abc", "456"),),
                expected_request_headers_missing=(("If-None-Match", '"abcdef"'),),
            ),
            kind="check",
        ),
        generate("conditional-etag-strong-generate", '"abcdef"', '"abcdef"'),
        generate("conditional-etag-weak-generate-weak", 'W/"abcdef"', 'W/"abcdef"'),
        generate("conditional-etag-strong-generate-unquoted", "abcdef", '"abcdef"', kind="check"),
        sc(
            s,
            "conditional-etag-forward",
            Step(
                request_headers=(("If-None-Match", '"abcdef"'),),
                expected_request_headers=(("If-None-Match", '"abcdef"'),),
            ),
            kind="check",
        ),
        sc(
            s,
            "conditional-etag-forward-unquoted",
            Step(
                request_headers=(("If-None-Match", "abcdef"),),
                expected_request_headers=(("If-None-Match", '"abcdef"'),),
            ),
            kind="check",
        ),
    ]


def conditional_lm() -> list[Scenario]:
    s = "conditional-lm"

    def one(
        id: str, max_age: int, lm: int | None, ims: int, expected: str, **more: object
    ) -> Scenario:
        fields: H = (("Cache-Control", f"max-age={max_age}"),)
        if lm is not None:
            fields = (*fields, ("Last-Modified", lm))
        fields = (*fields, ("Date", 0))
        return sc(
            s,
            id,
            setup(*fields),
            expect(
                expected,
                request_headers=(("If-Modified-Since", ims),),
                magic_ims=True,
                expected_status=304,
            ).but(**more),
            kind="optimal",
            shared_only=True,
        )

    return [
        one("conditional-lm-fresh", 100000, -3000, -3000, "cached"),
        one("conditional-lm-fresh-earlier", 100000, -3000, -2000, "cached"),
        one("conditional-lm-stale", 2, -3000, -3000, "lm_validated"),
        one("conditional-lm-fresh-no-lm", 10000, None, -3000, "cached"),
        one(
            "conditional-lm-fresh-rfc850",
            10000,
            -3000,
            -3000,
            "cached",
            rfc850=("if-modified-since",),
        ),
    ]


# ----------------------------------------------------------------------------- invalidation


def invalidation() -> list[Scenario]:
    s = "invalidation"
    out = []
    far: H = (("Cache-Control", "max-age=100000"), ("Last-Modified", 0), ("Date", 0))
    lcl = Step(
        response_headers=(
            ("Location", "location_target"),
            ("Content-Location", "content_location_target"),
        ),
        magic_locations=True,
        setup=True,
    )
    for method in ("POST", "PUT", "DELETE", "M-SEARCH"):
        write = Step(method=method, request_body="abc", setup=True)
        out.append(sc(s, f"invalidate-{method}", fresh(), write, expect("not_cached")))
        out.append(
            sc(
                s,
                f"invalidate-{method}-failed",
                fresh(),
                write.but(status=500, reason="Internal Server Error"),
                expect("cached"),
                kind="optimal",
            )
        )
    for method in ("POST", "PUT", "DELETE", "M-SEARCH"):
        target = Step(filename="location_target", response_headers=far, setup=True)
        out.append(
            sc(
                s,
                f"invalidate-{method}-location",
                target,
                lcl.but(method=method, request_body="abc"),
                target.but(setup=False, expect="not_cached"),
                kind="check",
            )
        )
    for method in ("POST", "PUT", "DELETE", "M-SEARCH"):
        target = Step(filename="content_location_target", response_headers=far, setup=True)
        out.append(
            sc(
                s,
                f"invalidate-{method}-cl",
                target,
                lcl.but(method=method, request_body="abc"),
                target.but(setup=False, expect="not_cached"),
                kind="check",
            )
        )
    return out


# ----------------------------------------------------------------------------- stale


def stale_suite() -> list[Scenario]:
    s = "stale"
    gone = Step(
        disconnect=True,
        expect_status_unchecked=True,
        check_body=False,
        expected_response_headers_missing=("server-request-count",),
    )

    def forbidden(directive: str, shared_only: bool, value: str = "") -> Scenario:
        return sc(
            s,
            f"stale-close-{directive}{value}",
            setup(("Cache-Control", f"max-age=2, {directive}{value}")),
            gone,
            shared_only=shared_only,
        )

    return [
        sc(s, "stale-close", become_stale(), Step(disconnect=True, expect="cached"), kind="check"),
        sc(
            s,
            "stale-503",
            become_stale(),
            Step(status=503, reason="Service Unavailable", expected_status=200, expect="cached"),
            kind="check",
        ),
        sc(
            s,
            "stale-while-revalidate",
            setup(("Cache-Control", "max-age=1, stale-while-revalidate=3600"), ("ETag", '"abc"')),
            expect("cached"),
            kind="optimal",
        ),
        sc(
            s,
            "stale-while-revalidate-window",
            setup(("Cache-Control", "max-age=1, stale-while-revalidate=4"), ("ETag", '"abc"')),
            Step(
                setup=True,
                pause_after=True,
                response_headers=(("Cache-Control", "no-cache", False), ("ETag", '"def"', False)),
                expect="cached",
            ),
            Step(expected_response_headers=(("client-request-count", "3"),)),
        ),
        sc(
            s,
            "stale-sie-close",
            setup(("Cache-Control", "max-age=2, stale-if-error=60")),
            Step(disconnect=True, expect="cached"),
            kind="check",
        ),
        sc(
            s,
            "stale-sie-503",
            setup(("Cache-Control", "max-age=2, stale-if-error=60")),
            Step(status=503, reason="Service Unavailable", expected_status=200, expect="cached"),
            kind="check",
        ),
        forbidden("must-revalidate", False),
        forbidden("proxy-revalidate", True),
        forbidden("no-cache", False),
        forbidden("s-maxage", True, "=2"),
        sc(
            s,
            "stale-warning-stored",
            stale(),
            Step(disconnect=True, expect="cached", expected_response_headers=("warning",)),
            kind="check",
        ),
        sc(
            s,
            "stale-warning-become",
            become_stale(),
            Step(disconnect=True, expect="cached", expected_response_headers=("warning",)),
            kind="check",
        ),
    ]


def cc_stale() -> list[Scenario]:
    s = "cc-stale"
    return [
        sc(
            s,
            "stale-while-revalidate-background",
            Step(
                setup=True,
                response_headers=(
                    ("Cache-Control", "max-age=0, stale-while-revalidate=3600"),
                    ("ETag", '"abc"'),
                ),
            ),
            Step(
                pause_after=True,
                expected_response_headers=(
                    ("Cache-Control", "max-age=0, stale-while-revalidate=3600"),
                    ("ETag", '"abc"'),
                ),
                response_headers=(
                    ("Cache-Control", "max-age=3600", False),
                    ("ETag", '"def"', False),
                ),
            ),
            expect(
                "cached",
                expected_response_headers=(("Cache-Control", "max-age=3600"), ("ETag", '"def"')),
            ),
            kind="optimal",
        ),
        sc(
            s,
            "stale-if-error-cc-response",
            Step(
                setup=True, response_headers=(("Cache-Control", "max-age=0, stale-if-error=3600"),)
            ),
            Step(status=500, reason="Internal Server Error", expected_status=200, check_body=False),
            kind="check",
        ),
        sc(
            s,
            "stale-if-error-cc-response-expired",
            Step(
                setup=True,
                pause_after=True,
                response_headers=(("Cache-Control", "max-age=0, stale-if-error=1"),),
            ),
            Step(status=500, reason="Internal Server Error"),
        ),
        sc(
            s,
            "stale-if-error-cc-request",
            Step(setup=True, response_headers=(("Cache-Control", "max-age=0"),)),
            Step(
                request_headers=(("Cache-Control", "stale-if-error=3600"),),
                status=500,
                reason="Internal Server Error",
                expected_status=200,
                check_body=False,
            ),
            kind="check",
        ),
        sc(
            s,
            "stale-if-error-cc-request-expired",
            Step(setup=True, pause_after=True, response_headers=(("Cache-Control", "max-age=0"),)),
            Step(
                request_headers=(("Cache-Control", "stale-if-error=1"),),
                status=500,
                reason="Internal Server Error",
            ),
        ),
    ]


# ----------------------------------------------------------------------------- the rest


def pragma() -> list[Scenario]:
    s = "pragma"
    one_hour: H = (("Cache-Control", "max-age=3600"),)
    return [
        sc(
            s,
            "pragma-request-no-cache",
            setup(*one_hour, pause=False),
            expect("cached", request_headers=(("Pragma", "no-cache"),)),
            kind="check",
        ),
        sc(
            s,
            "pragma-request-extension",
            setup(*one_hour, pause=False),
            expect("cached", request_headers=(("Pragma", "unrecognised-extension"),)),
            kind="check",
        ),
        sc(
            s,
            "pragma-response-no-cache",
            setup(*one_hour, ("Pragma", "no-cache"), pause=False),
            expect("cached"),
            kind="check",
        ),
        sc(
            s,
            "pragma-response-no-cache-heuristic",
            setup(("Last-Modified", -10000), ("Pragma", "no-cache"), pause=False),
            expect("cached"),
            kind="check",
        ),
        sc(
            s,
            "pragma-response-extension",
            setup(*one_hour, ("Pragma", "unrecognised-extension"), pause=False),
            expect("cached"),
            kind="check",
        ),
    ]


def method() -> list[Scenario]:
    return [
        sc(
            "method",
            "method-POST",
            Step(
                method="POST",
                request_body="12345",
                request_headers=(("Content-Type", "text/plain"),),
                response_headers=(
                    ("Expires", 30 * 24 * 60 * 60),
                    ("Content-Location", ""),
                    ("Date", 0),
                ),
                magic_locations=True,
                pause_after=True,
                setup=True,
            ),
            expect("cached"),
            kind="optimal",
        )
    ]


def partial() -> list[Scenario]:
    s = "partial"
    hour: H = (("Cache-Control", "max-age=3600"),)
    part = Step(
        request_headers=(("Range", "bytes=-5"),),
        status=206,
        reason="Partial Content",
        response_headers=(*hour, ("Content-Range", "bytes 4-9/10")),
        response_body="01234",
        setup=True,
    )
    whole = Step(response_headers=hour, response_body="01234567890", setup=True)

    def ranged(rng: str, text: str, **more: object) -> Step:
        return expect(
            "cached", request_headers=(("Range", rng),), expected_status=206, expected_text=text
        ).but(**more)

    return [
        sc(
            s,
            "partial-store-partial-reuse-partial",
            part.but(expected_request_headers=(("Range", "bytes=-5"),)),
            ranged("bytes=-5", "01234"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-complete-reuse-partial",
            whole,
            ranged("bytes=0-1", "01"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-complete-reuse-partial-no-last",
            whole,
            ranged("bytes=1-", "1234567890"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-complete-reuse-partial-suffix",
            whole.but(response_body="0123456789A"),
            ranged("bytes=-1", "A"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-partial-reuse-partial-byterange",
            part,
            ranged("bytes=6-8", "234"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-partial-reuse-partial-absent",
            part,
            ranged("bytes=6-", "234"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-partial-reuse-partial-suffix",
            part,
            ranged("bytes=-1", "4"),
            kind="optimal",
        ),
        sc(
            s,
            "partial-store-partial-complete",
            part.but(response_headers=(*hour, ("Content-Range", "bytes 0-4/10"))),
            Step(expected_request_headers=(("range", "bytes=5-"),)),
            kind="optimal",
        ),
        sc(
            s,
            "partial-use-headers",
            whole.but(response_headers=(*hour, ("A", "1"))),
            ranged("bytes=0-1", "01", response_headers=(("A", "2"),)),
        ),
        sc(
            s,
            "partial-use-stored-headers",
            whole.but(response_headers=(*hour, ("A", "1"))),
            ranged("bytes=0-1", "01", expected_response_headers=(("A", "1"),)),
        ),
    ]


def authorization() -> list[Scenario]:
    s = "auth"
    auth = (("Authorization", "FOO"),)

    def reuse(id: str, cc: str) -> Scenario:
        return sc(
            s,
            id,
            setup(("Cache-Control", cc), ("Date", 0)).but(
                request_headers=auth, expected_request_headers=auth
            ),
            expect("cached"),
            kind="optimal",
            shared_only=True,
        )

    return [
        sc(
            s,
            "other-authorization",
            fresh(request_headers=auth, expected_request_headers=auth),
            expect("not_cached"),
            shared_only=True,
        ),
        reuse("other-authorization-public", "max-age=3600, public"),
        reuse("other-authorization-must-revalidate", "max-age=3600, must-revalidate"),
        reuse("other-authorization-smaxage", "s-maxage=3600"),
    ]


def other() -> list[Scenario]:
    s = "other"
    month = 30 * 24 * 60 * 60
    return [
        sc(
            s,
            "other-age-gen",
            fresh(),
            expect("cached", expected_response_headers=(("Age", ">", 2),)),
        ),
        sc(
            s,
            "other-age-delay",
            Step(
                response_headers=(("Cache-Control", "max-age=3600"), ("Date", 0)),
                response_pause=5,
                expected_response_headers=(("age", ">", 0),),
            ),
            kind="check",
        ),
        sc(
            s,
            "other-age-update-expires",
            setup(("Expires", month), ("Date", 0), ("Age", "30")),
            expect("cached", expected_response_headers=(("Age", ">", 32),)),
        ),
        sc(
            s,
            "other-age-update-max-age",
            fresh(response_headers=(("Age", "30"),)),
            expect("cached", expected_response_headers=(("Age", ">", 32),)),
        ),
        sc(
            s,
            "other-date-update",
            fresh(),
            expect("cached", expected_response_headers=(("Date", 0),)),
        ),
        sc(
            s,
            "other-date-update-expires",
            setup(("Expires", month), ("Date", 0)),
            expect("cached", expected_response_headers=(("Date", 0),)),
        ),
        sc(
            s,
            "other-date-update-expires-update",
            setup(("Expires", month), ("Date", 0)),
            expect("cached", expected_response_headers=(("Expires", month),)),
            kind="check",
        ),
        sc(
            s,
            "query-args-different",
            fresh(query="test=" + content("query-args-different-1")),
            expect("not_cached", query="test=" + content("query-args-different-2")),
        ),
        sc(
            s,
            "query-args-same",
            fresh(query="test=" + content("query-args-same")),
            expect("cached", query="test=" + content("query-args-same")),
            kind="optimal",
        ),
        sc(
            s,
            "other-heuristic-content-disposition-attachment",
            setup(
                ("Last-Modified", -100000),
                ("Date", 0),
                ("Content-Disposition", "attachment; filename=example.txt"),
                pause=False,
            ),
            expect("cached"),
            kind="check",
        ),
        sc(
            s,
            "other-fresh-content-disposition-attachment",
            fresh(response_headers=(("Content-Disposition", "attachment; filename=example.txt"),)),
            expect("cached"),
            kind="check",
        ),
        sc(
            s,
            "other-set-cookie",
            fresh(response_headers=(("Set-Cookie", "a=b"),)),
            expect("cached"),
            kind="optimal",
        ),
        sc(
            s,
            "other-cookie",
            fresh(),
            expect("cached", request_headers=(("Cookie", "a=b"),)),
            kind="optimal",
        ),
    ]


def cdn_cache_control() -> list[Scenario]:
    s = "cdn-cache-control"

    def cdn(value: str) -> ResponseHeader:
        # Unchecked on the answer, as there: a CDN may or may not pass the field on.
        return ("CDN-Cache-Control", value, False)

    def two(id: str, first: Step, then: str, kind: Kind = "required") -> Scenario:
        return sc(s, id, first, expect(then), kind=kind, cdn_only=True)

    def kept(id: str, then: Step, *extra: ResponseHeader) -> Scenario:
        # Does the CDN keep the origin's fields when its own lifetime outlasts Cache-Control's?
        first = setup(("Cache-Control", "max-age=1"), *extra, cdn("max-age=10000"), ("Date", 0))
        return sc(s, id, first, then, kind="check", cdn_only=True)

    return [
        two("cdn-max-age", setup(cdn("max-age=3600")), "cached", "optimal"),
        two("cdn-max-age-max", setup(cdn("max-age=2147483648")), "cached", "optimal"),
        two("cdn-max-age-max-plus", setup(cdn("max-age=99999999999")), "cached", "optimal"),
        two(
            "cdn-max-age-age",
            setup(("Date", 0), cdn("max-age=3600"), ("Age", "7200")),
            "not_cached",
        ),
        two(
            "cdn-max-age-space-before-equals",
            setup(("Cache-Control", "max-age=1"), cdn("max-age =100")),
            "not_cached",
            "check",
        ),
        two(
            "cdn-max-age-space-after-equals",
            setup(("Cache-Control", "max-age=1"), cdn("max-age= 100")),
            "not_cached",
            "check",
        ),
        two("cdn-max-age-0", setup(cdn("max-age=0")), "not_cached"),
        two("cdn-max-age-extension", setup(cdn("foobar, max-age=3600")), "cached", "optimal"),
        two("cdn-max-age-case-insensitive", setup(cdn("MaX-aGe=3600")), "cached", "check"),
        two(
            "cdn-max-age-expires",
            setup(cdn("max-age=3600"), ("Expires", -10000), ("Date", 0)),
            "cached",
            "optimal",
        ),
        two(
            "cdn-max-age-cc-max-age-invalid-expires",
            setup(cdn("max-age=3600"), ("Expires", "0", False), ("Date", 0)),
            "cached",
            "optimal",
        ),
        two(
            "cdn-max-age-0-expires",
            setup(cdn("max-age=0"), ("Expires", 10000), ("Date", 0)),
            "not_cached",
        ),
        two(
            "cdn-max-age-short-cc-max-age",
            setup(("Cache-Control", "max-age=1"), cdn("max-age=3600")),
            "cached",
            "optimal",
        ),
        two(
            "cdn-max-age-long-cc-max-age",
            setup(("Cache-Control", "max-age=3600"), cdn("max-age=1")),
            "not_cached",
        ),
        two(
            "cdn-private",
            setup(
                ("CDN-Cache-Control", "private"),
                ("Cache-Control", "max-age=10000"),
                ("Expires", 10000),
                ("Date", 0),
                pause=False,
            ),
            "not_cached",
        ),
        two(
            "cdn-no-cache",
            setup(
                ("CDN-Cache-Control", "no-cache"),
                ("Cache-Control", "max-age=10000"),
                ("Expires", 10000),
                ("Date", 0),
                pause=False,
            ),
            "not_cached",
        ),
        two(
            "cdn-no-store-cc-fresh",
            setup(
                ("Cache-Control", "max-age=10000"),
                cdn("no-store"),
                ("Expires", 10000),
                ("Date", 0),
            ),
            "not_cached",
        ),
        two(
            "cdn-fresh-cc-nostore",
            setup(("Cache-Control", "no-store"), cdn("max-age=10000")),
            "cached",
        ),
        two(
            "cdn-cc-invalid-sh-type-unknown",
            setup(cdn("max-age=10000, &&&&&"), ("Cache-Control", "no-store")),
            "not_cached",
        ),
        two(
            "cdn-cc-invalid-sh-type-wrong",
            setup(cdn('max-age="10000"'), ("Cache-Control", "no-store")),
            "not_cached",
        ),
        sc(
            s,
            "cdn-remove-header",
            Step(
                response_headers=(
                    ("Cache-Control", "max-age=10000"),
                    cdn("foo"),
                    ("Expires", 10000),
                    ("Date", 0),
                ),
                expected_response_headers=(("CDN-Cache-Control", "foo"),),
            ),
            kind="check",
            cdn_only=True,
        ),
        kept("cdn-remove-age-exceed", Step(expected_response_headers=("Age",))),
        kept("cdn-date-update-exceed", Step(expected_response_headers=(("Date", 0),))),
        kept(
            "cdn-expires-update-exceed",
            Step(expected_response_headers=(("Expires", 1),)),
            ("Expires", 1),
        ),
    ]


SUITES: list[Callable[[], list[Scenario]]] = [
    cc_response,
    cc_request,
    cc_freshness,
    cc_parse,
    age_parse,
    expires,
    expires_parse,
    heuristic,
    status,
    vary,
    vary_parse,
    headers,
    update304,
    update_head,
    conditional_etag,
    conditional_lm,
    invalidation,
    stale_suite,
    cc_stale,
    pragma,
    method,
    partial,
    cdn_cache_control,
    authorization,
    other,
]


def all_scenarios() -> list[Scenario]:
    out = [scenario for suite in SUITES for scenario in suite()]
    ids = [scenario.id for scenario in out]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate scenario ids: {sorted(duplicates)}"
    return out
