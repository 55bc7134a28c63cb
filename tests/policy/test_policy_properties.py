"""Property-based tests: every parser and reader tolerates arbitrary header text.

Servers send anything. For any text (control characters, huge numbers, unicode), the parsers
return ``None`` or a value in range and never raise; waits are finite and non-negative.
"""

from __future__ import annotations

import datetime as dt
import math
from email.utils import format_datetime
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.policy import (
    Action,
    Backoff,
    CircuitBreaker,
    Jitter,
    RateLimitGate,
    RetryBudget,
    RetryPolicy,
    is_rate_limited,
    origin_of,
    plan_redirect,
    rate_limit_wait,
    read_rate_limit,
    read_retry_after,
)
from restwell.policy._parse import (
    parse_delta_seconds,
    parse_http_date,
    parse_number,
    parse_params,
    split_list,
    unquote,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MAX_DELTA = 2**31
TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

# -------------------------------------------------------------------------- strategies

digits = st.from_regex(r"\A[0-9]{1,40}\Z")
huge_ints = st.integers(min_value=-(10**40), max_value=10**40).map(str)
float_text = st.floats(allow_nan=True, allow_infinity=True).map(repr)
http_dates = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(9999, 12, 31),
    timezones=st.just(dt.UTC),
).map(lambda d: format_datetime(d, usegmt=True))
tokens = st.text(alphabet=TCHARS, min_size=1, max_size=8)
param_value = st.one_of(digits, huge_ints, float_text, tokens, st.text(max_size=10))
structured = st.lists(
    st.tuples(
        st.one_of(tokens, tokens.map(lambda t: f'"{t}"')),
        st.lists(st.tuples(st.sampled_from(["r", "t", "q", "w", "R"]), param_value), max_size=4),
    ),
    max_size=3,
).map(
    lambda members: ", ".join(
        name + "".join(f";{k}={v}" for k, v in params) for name, params in members
    )
)
dictionary = st.lists(
    st.tuples(st.sampled_from(["limit", "remaining", "reset", "x"]), param_value), max_size=4
).map(lambda items: ", ".join(f"{k}={v}" for k, v in items))

header_values = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="ascii"), max_size=40),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),  # control characters
    digits,
    huge_ints,
    float_text,
    http_dates,
    structured,
    dictionary,
)

HEADER_NAMES = [
    "retry-after",
    "date",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
]
headers_st = st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6)
nows = st.floats(min_value=0.0, max_value=4e9, allow_nan=False)
statuses = st.one_of(
    st.sampled_from([200, 301, 403, 404, 408, 429, 500, 502, 503, 504]),
    st.integers(min_value=100, max_value=599),
)
methods = st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS", "get"])


def finite_wait(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value >= 0.0)


# ----------------------------------------------------------------------------- _parse


@MORE
@given(st.one_of(st.none(), header_values))
def test_parse_delta_seconds_total(value: str | None) -> None:
    result = parse_delta_seconds(value)
    assert result is None or (type(result) is int and 0 <= result <= MAX_DELTA)


@FAST
@given(digits, st.text(alphabet=" \t", max_size=2), st.text(alphabet=" \t", max_size=2))
def test_parse_delta_seconds_reads_digit_strings(text: str, left: str, right: str) -> None:
    assert parse_delta_seconds(left + text + right) == min(int(text), MAX_DELTA)


@MORE
@given(st.one_of(st.none(), header_values))
def test_parse_http_date_total(value: str | None) -> None:
    result = parse_http_date(value)
    assert result is None or math.isfinite(result)


@FAST
@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        max_value=dt.datetime(9999, 12, 31, 23, 59, 59),
    )
)
def test_parse_http_date_round_trips_imf_fixdate(moment: dt.datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=dt.UTC)
    assert parse_http_date(format_datetime(aware, usegmt=True)) == aware.timestamp()


@MORE
@given(st.one_of(st.none(), header_values))
def test_parse_number_total(value: str | None) -> None:
    result = parse_number(value)
    assert result is None or (math.isfinite(result) and result >= 0.0)


@FAST
@given(st.from_regex(r"\A[0-9]{1,15}(\.[0-9]{1,9})?\Z"))
def test_parse_number_reads_decimals(text: str) -> None:
    assert parse_number(text) == float(text)


@MORE
@given(header_values)
def test_split_list_total(value: str) -> None:
    items = list(split_list(value))
    for item in items:
        assert item
        assert item == item.strip()
        assert item in value


@FAST
@given(st.lists(tokens, max_size=6))
def test_split_list_round_trips_tokens(items: list[str]) -> None:
    assert list(split_list(" , ".join(items))) == items


@MORE
@given(header_values, st.sampled_from([";", ","]))
def test_parse_params_total(value: str, sep: str) -> None:
    params = parse_params(value, sep)
    for name, param in params.items():
        assert name
        assert name == name.lower()
        assert all(ch in TCHARS for ch in name)
        assert param is None or isinstance(param, str)


@FAST
@given(st.dictionaries(tokens.map(str.lower), tokens, max_size=5))
def test_parse_params_round_trips(params: dict[str, str]) -> None:
    text = ";".join(f"{name}={value}" for name, value in params.items())
    assert parse_params(text) == params


@MORE
@given(st.text())
def test_unquote_total(value: str) -> None:
    result = unquote(value)
    assert isinstance(result, str)
    assert len(result) <= len(value)
    if not (len(value) >= 2 and value[0] == value[-1] == '"'):
        assert result == value


@FAST
@given(st.text(alphabet=st.characters(exclude_characters="\n\r"), max_size=30))
def test_unquote_inverts_quoting(text: str) -> None:
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    assert unquote(quoted) == text


# ------------------------------------------------------------------------ public readers


@MORE
@given(headers_st, nows)
def test_read_retry_after_total(headers: dict[str, str], now: float) -> None:
    wait = read_retry_after(headers, now)
    assert finite_wait(wait)
    assert wait is None or wait <= MAX_DELTA


@FAST
@given(http_dates, nows)
def test_read_retry_after_http_date_is_bounded(date: str, now: float) -> None:
    wait = read_retry_after({"retry-after": date}, now)
    assert wait is not None
    assert 0.0 <= wait <= 1e9


@MORE
@given(headers_st, nows)
def test_read_rate_limit_total(headers: dict[str, str], now: float) -> None:
    info = read_rate_limit(headers, now)
    if info is None:
        return
    assert info.remaining is not None
    assert 0 <= info.remaining <= MAX_DELTA
    assert info.limit is None or 0 <= info.limit <= MAX_DELTA
    assert finite_wait(info.reset_after)
    assert info.source in {"RateLimit", "RateLimit-*", "X-RateLimit-*"}
    assert info.exhausted is (info.remaining == 0)


@MORE
@given(headers_st, nows)
def test_rate_limit_wait_total(headers: dict[str, str], now: float) -> None:
    assert finite_wait(rate_limit_wait(headers, now))


@MORE
@given(statuses, headers_st)
def test_is_rate_limited_total(status: int, headers: dict[str, str]) -> None:
    result = is_rate_limited(status, headers)
    assert isinstance(result, bool)
    if status == 429:
        assert result
    if status not in (403, 429):
        assert not result


@FAST
@given(st.lists(st.tuples(statuses, headers_st, nows, st.floats(0.0, 1e6)), max_size=5))
def test_gate_observe_total(observations: list[tuple[int, dict[str, str], float, float]]) -> None:
    gate = RateLimitGate()
    for status, headers, now, monotonic in observations:
        gate.observe("k", status, headers, now, monotonic)
        delay = gate.delay("k", monotonic)
        assert math.isfinite(delay)
        assert delay >= 0.0


@MORE
@given(
    statuses,
    headers_st,
    nows,
    methods,
    st.booleans(),
    st.integers(min_value=1, max_value=6),
    st.floats(min_value=0.0, max_value=1e4),
    st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    st.sampled_from(["raise", "cap"]),
    st.one_of(st.none(), st.floats(min_value=0.01, max_value=1e4)),
)
def test_decide_status_total(
    status: int,
    headers: dict[str, str],
    now: float,
    method: str,
    key: bool,
    attempt: int,
    elapsed: float,
    draw: float,
    on_long_wait: str,
    deadline: float | None,
) -> None:
    policy = RetryPolicy(
        max_attempts=4,
        deadline=deadline,
        max_wait=60.0,
        on_long_wait="raise" if on_long_wait == "raise" else "cap",
    )
    decision = policy.decide_status(
        attempt=attempt,
        method=method,
        has_idempotency_key=key,
        status=status,
        headers=headers,
        now=now,
        elapsed=elapsed,
        random=lambda: draw,
    )
    assert decision.reason
    assert math.isfinite(decision.delay)
    assert decision.delay >= 0.0
    if decision.action is Action.RETURN:
        assert decision.delay == 0.0
    elif decision.action is Action.RETRY:
        assert attempt < policy.max_attempts
        assert decision.delay <= max(policy.max_wait, policy.backoff.cap)
        left = policy.time_left(elapsed)
        assert left is None or decision.delay < left
    else:
        assert decision.action is Action.RAISE
        assert on_long_wait == "raise"
        assert decision.delay > policy.max_wait


@FAST
@given(
    st.floats(min_value=0.0, max_value=1e6),
    st.floats(min_value=1.0, max_value=1e9),
    st.floats(min_value=0.0, max_value=1e6),
    st.sampled_from(list(Jitter)),
    st.integers(min_value=-5, max_value=100_000),
    st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    st.floats(min_value=0.0, max_value=1e7),
)
def test_backoff_delay_within_cap(
    base: float,
    multiplier: float,
    cap: float,
    jitter: Jitter,
    retry: int,
    draw: float,
    previous: float,
) -> None:
    backoff = Backoff(base=base, multiplier=multiplier, cap=cap, jitter=jitter)
    delay = backoff.delay(retry, lambda: draw, previous)
    assert math.isfinite(delay)
    assert 0.0 <= delay <= cap


@FAST
@given(st.lists(st.booleans(), max_size=60))
def test_budget_tokens_stay_in_range(outcomes: list[bool]) -> None:
    budget = RetryBudget(max_tokens=10.0, token_ratio=0.1)
    for success in outcomes:
        if success:
            budget.record_success()
        else:
            budget.record_failure()
        assert 0.0 <= budget.tokens <= 10.0
        assert budget.can_retry() is (budget.tokens > 5.0)


@FAST
@given(st.lists(st.tuples(st.sampled_from(["allow", "ok", "fail"]), st.floats(0.0, 5.0))))
def test_breaker_never_wedges(steps: list[tuple[str, float]]) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=10.0, half_open_probes=1)
    now = 0.0
    for op, step in steps:
        now += step
        if op == "allow":
            breaker.allow("o", now)
        else:
            breaker.record("o", op == "ok", now)
        assert 0.0 <= breaker.retry_in("o", now) <= 10.0 + 1e-9
    # whatever happened, after two recovery periods a request gets through
    assert breaker.allow("o", now + 20.0)


# ----------------------------------------------------------------------------- redirects

urlish = st.one_of(
    header_values,
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "ws", ""]),
        st.one_of(tokens, st.text(max_size=12), st.just("[::1]"), st.just("[::1")),
        st.one_of(st.just(""), st.integers(-1, 70000).map(lambda p: f":{p}"), st.text(max_size=4)),
        st.one_of(st.just("/"), st.text(max_size=12)),
    ),
)


@MORE
@given(
    methods,
    st.sampled_from(["https://api.example.com/a/b?c", "http://[::1]:8080/x"]),
    statuses,
    st.one_of(st.none(), urlish),
)
def test_plan_redirect_total(method: str, url: str, status: int, location: str | None) -> None:
    plan = plan_redirect(method, url, status, location)
    if plan is None:
        return
    assert status in (301, 302, 303, 307, 308)
    assert urlsplit(plan.url).scheme.lower() in ("http", "https")
    assert plan.method in (method, "GET")
    assert plan.keep_body is (plan.method == method)
    assert plan.strip_credentials is (origin_of(url) != origin_of(plan.url))


@MORE
@given(urlish)
def test_origin_of_total(url: str) -> None:
    assert isinstance(origin_of(url), str)


@FAST
@given(
    st.sampled_from(["http", "https"]),
    st.from_regex(r"\A[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){0,2}\Z"),
    st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
    st.booleans(),
)
def test_origin_of_normalises(scheme: str, host: str, port: int | None, upper: bool) -> None:
    url = f"{scheme}://{host}" + (f":{port}" if port is not None else "") + "/p?q#f"
    if upper:
        url = url.upper()
    expected_port = port if port is not None else {"http": 80, "https": 443}[scheme]
    assert origin_of(url) == f"{scheme}://{host}:{expected_port}"
