"""Property tests: every parser and decision is total on arbitrary header text.

Servers and clients send anything. For any field values (control characters, huge numbers,
unicode, unbalanced quotes), the cache policy returns a decision and never raises; lifetimes,
ages and TTLs are finite and non-negative; stored responses survive their byte form; and any
bytes that are not one are rejected with ValueError.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from email.utils import format_datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.policy._cache._directives import parse_age, parse_http_date
from restwell.policy.cache import (
    CacheAction,
    CachePolicy,
    StoredResponse,
    current_age,
    normalize_field_value,
    normalize_url,
    parse_cache_control,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_DELTA = float(2**31)
T0 = 1_700_000_000.0

POLICIES = [
    CachePolicy(),
    CachePolicy(shared=True),
    CachePolicy(default_ttl=60, stale_if_error=30, keep_stale=0),
]

# ----------------------------------------------------------------------------- strategies

numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"\A[0-9]{1,30}\Z"),
)
http_dates = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(9999, 12, 31),
    timezones=st.just(dt.UTC),
).map(lambda d: format_datetime(d, usegmt=True))
directive_names = st.sampled_from(
    [
        "max-age",
        "s-maxage",
        "max-stale",
        "min-fresh",
        "no-cache",
        "no-store",
        "private",
        "public",
        "must-revalidate",
        "proxy-revalidate",
        "must-understand",
        "only-if-cached",
        "stale-while-revalidate",
        "stale-if-error",
        "immutable",
        "X-Ext",
        "MAX-AGE",
    ]
)
directive = st.tuples(
    directive_names,
    st.one_of(
        st.none(),
        numbers,
        numbers.map(lambda n: f'"{n}"'),
        st.text(max_size=12),
        st.text(max_size=12).map(lambda t: f'"{t}'),
    ),
    st.sampled_from(["=", " =", "= ", "=="]),
).map(lambda d: d[0] if d[1] is None else f"{d[0]}{d[2]}{d[1]}")
cache_controls = st.lists(directive, max_size=5).map(", ".join)
etags = st.one_of(
    st.text(max_size=10).map(lambda t: f'"{t}"'),
    st.text(max_size=10).map(lambda t: f'W/"{t}"'),
    st.text(max_size=10),
)
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=8),
    numbers,
    http_dates,
    cache_controls,
    etags,
)
RESPONSE_FIELDS = [
    "Cache-Control",
    "Date",
    "Expires",
    "Age",
    "ETag",
    "Last-Modified",
    "Vary",
    "Connection",
    "Content-Length",
    "Content-Encoding",
    "Content-Location",
    "Location",
    "Pragma",
    "X-Other",
]
response_headers = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(RESPONSE_FIELDS), st.text(max_size=8)),
        st.one_of(values, st.builds(lambda n: n, cache_controls)),
    ),
    max_size=10,
)
REQUEST_FIELDS = [
    "cache-control",
    "pragma",
    "authorization",
    "if-none-match",
    "if-modified-since",
    "range",
    "accept",
    "accept-encoding",
    "accept-language",
    "foo",
]
request_headers = st.dictionaries(
    st.sampled_from(REQUEST_FIELDS), st.one_of(values, cache_controls), max_size=6
)
times = st.floats(min_value=0.0, max_value=4e9, allow_nan=False)
any_times = st.one_of(times, st.floats())
statuses = st.one_of(
    st.sampled_from([200, 203, 204, 206, 301, 304, 404, 410, 500, 503, 599]),
    st.integers(min_value=-5, max_value=1200),
)
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get", "M-SEARCH"])
urls = st.one_of(
    st.just("https://api.example.com/items/1"),
    st.text(max_size=30),
    st.text(max_size=20).map(lambda t: f"https://api.example.com/{t}"),
    st.sampled_from(["http://[::1", "http://a:b:c/", "//x", "https://a.example:99999/"]),
)
policies = st.sampled_from(POLICIES)
all_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=20)


@st.composite
def stored(draw: st.DrawFn) -> StoredResponse:
    sent = draw(times)
    return StoredResponse(
        method=draw(st.sampled_from(["GET", "POST", "QUERY"])),
        url=draw(st.text(max_size=20)),
        status=draw(st.integers(min_value=100, max_value=999)),
        headers=tuple(draw(response_headers)),
        body=draw(st.binary(max_size=40)),
        request_time=sent,
        response_time=sent + draw(st.floats(min_value=0, max_value=100)),
        vary_headers=tuple(
            draw(st.lists(st.tuples(st.text(max_size=8), st.one_of(st.none(), values)), max_size=3))
        ),
    )


def finite_non_negative(value: float) -> bool:
    return math.isfinite(value) and 0.0 <= value <= MAX_DELTA


# ----------------------------------------------------------------------------- parsers


@FAST
@given(st.one_of(st.none(), values, cache_controls))
def test_parse_cache_control_is_total_and_in_range(value: str | None) -> None:
    cc = parse_cache_control(value)
    for seconds in (cc.max_age, cc.s_maxage, cc.min_fresh, cc.stale_if_error):
        assert seconds is None or 0 <= seconds <= 2**31
    assert cc.stale_while_revalidate is None or 0 <= cc.stale_while_revalidate <= 2**31
    assert cc.max_stale is None or cc.max_stale >= 0


@FAST
@given(st.one_of(st.none(), values), st.one_of(st.none(), any_times))
def test_parse_http_date_is_total(value: str | None, now: float | None) -> None:
    result = parse_http_date(value, now)
    assert result is None or math.isfinite(result)


@FAST
@given(http_dates)
def test_parse_http_date_reads_every_imf_fixdate(value: str) -> None:
    parsed = parse_http_date(value)
    assert parsed is not None
    assert (
        parsed
        == dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
        .replace(tzinfo=dt.UTC)
        .timestamp()
    )


@FAST
@given(st.one_of(st.none(), values))
def test_parse_age_is_total(value: str | None) -> None:
    assert 0 <= parse_age(value) <= 2**31


@FAST
@given(st.text(max_size=10), st.one_of(st.none(), values))
def test_normalize_field_value_is_total_and_idempotent(name: str, value: str | None) -> None:
    once = normalize_field_value(name.lower(), value)
    assert normalize_field_value(name.lower(), once) == once or once is None or '"' in once


@FAST
@given(urls)
def test_normalize_url_is_total(url: str) -> None:
    assert isinstance(normalize_url(url), str)


# ----------------------------------------------------------------------------- decisions


@FAST
@given(
    policies,
    methods,
    urls,
    request_headers,
    statuses,
    response_headers,
    st.binary(max_size=20),
    any_times,
    any_times,
)
def test_decide_store_is_total(
    policy: CachePolicy,
    method: str,
    url: str,
    request: dict[str, str],
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    sent: float,
    received: float,
) -> None:
    decision = policy.decide_store(method, url, request, status, headers, body, sent, received)
    assert decision.reason
    if decision.store:
        assert decision.entry is not None
        assert isinstance(decision.key, str)
        assert math.isfinite(decision.ttl)
        assert decision.ttl > 0
        assert StoredResponse.from_bytes(decision.entry.to_bytes()) == decision.entry
    else:
        assert decision.entry is None


@FAST
@given(policies, stored(), any_times)
def test_lifetimes_ages_and_ttls_are_finite_and_non_negative(
    policy: CachePolicy, entry: StoredResponse, now: float
) -> None:
    assert finite_non_negative(policy.freshness_lifetime(entry))
    assert finite_non_negative(current_age(entry, now))
    assert finite_non_negative(policy.storage_ttl(entry, now))


@SOME
@given(policies, methods, urls, request_headers, st.lists(stored(), max_size=3), any_times)
def test_lookup_is_total_and_consistent(
    policy: CachePolicy,
    method: str,
    url: str,
    request: dict[str, str],
    entries: list[StoredResponse],
    now: float,
) -> None:
    decision = policy.lookup(method, url, request, entries, now)
    assert decision.reason
    if decision.action in (CacheAction.FRESH, CacheAction.STALE):
        assert decision.response is not None
        assert decision.entry in entries
        ages = [v for n, v in decision.response.headers if n == "Age"]
        assert ages == [str(decision.response.age)]
        assert 0 <= decision.response.age <= 2**31
    else:
        assert decision.response is None
    if decision.action is CacheAction.REVALIDATE:
        assert decision.conditional_headers
    if decision.action is CacheAction.BYPASS:
        assert decision.entry is None


@SOME
@given(policies, methods, request_headers, response_headers, st.lists(stored(), max_size=3), times)
def test_freshen_is_total(
    policy: CachePolicy,
    method: str,
    request: dict[str, str],
    headers: list[tuple[str, str]],
    entries: list[StoredResponse],
    received: float,
) -> None:
    result = policy.freshen(method, request, headers, entries, received - 1, received)
    assert result.reason
    assert result.entry is None or result.entry.response_time == received
    for updated in result.updated:
        assert StoredResponse.from_bytes(updated.to_bytes()) == updated


@SOME
@given(policies, request_headers, statuses, response_headers, st.lists(stored(), max_size=3), times)
def test_freshen_with_head_is_total(
    policy: CachePolicy,
    request: dict[str, str],
    status: int,
    headers: list[tuple[str, str]],
    entries: list[StoredResponse],
    received: float,
) -> None:
    result = policy.freshen_with_head(request, status, headers, entries, received, received)
    assert set(map(id, result.removed)) <= set(map(id, entries))


@FAST
@given(policies, methods, urls, statuses, response_headers)
def test_invalidation_keys_is_total(
    policy: CachePolicy, method: str, url: str, status: int, headers: list[tuple[str, str]]
) -> None:
    keys = policy.invalidation_keys(method, url, status, headers)
    assert len(keys) == len(set(keys))
    assert all(isinstance(key, str) for key in keys)


@FAST
@given(
    policies,
    methods,
    request_headers,
    st.one_of(st.none(), stored()),
    any_times,
    st.one_of(st.none(), statuses),
)
def test_stale_on_error_is_total(
    policy: CachePolicy,
    method: str,
    request: dict[str, str],
    entry: StoredResponse | None,
    now: float,
    status: int | None,
) -> None:
    result = policy.stale_on_error(method, request, entry, now, status)
    if result is not None:
        assert result.action is CacheAction.STALE
        assert result.response is not None


# ----------------------------------------------------------------------------- bytes


@FAST
@given(
    st.text(min_size=1, max_size=10),
    all_text,
    st.integers(min_value=100, max_value=999),
    st.lists(st.tuples(all_text, all_text), max_size=6),
    st.binary(max_size=64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.tuples(all_text, st.one_of(st.none(), all_text)), max_size=3),
)
def test_to_bytes_from_bytes_round_trips(
    method: str,
    url: str,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    sent: float,
    received: float,
    vary: list[tuple[str, str | None]],
) -> None:
    entry = StoredResponse(method, url, status, tuple(headers), body, sent, received, tuple(vary))
    copy = StoredResponse.from_bytes(entry.to_bytes())
    assert copy == entry
    assert copy.variant == entry.variant


@FAST
@given(st.binary(max_size=200))
def test_from_bytes_rejects_garbage_with_value_error(data: bytes) -> None:
    for candidate in (data, b"RWSR\x01" + data):
        with contextlib.suppress(ValueError):
            StoredResponse.from_bytes(candidate)


@FAST
@given(stored(), st.data())
def test_from_bytes_on_damaged_entries_raises_only_value_error(
    entry: StoredResponse, data: st.DataObject
) -> None:
    blob = bytearray(entry.to_bytes())
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[at] = data.draw(st.integers(min_value=0, max_value=255))
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)))
    try:
        result = StoredResponse.from_bytes(bytes(blob[:cut]))
    except ValueError:
        return
    assert isinstance(result, StoredResponse)
