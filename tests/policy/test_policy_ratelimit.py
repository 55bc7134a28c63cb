"""Rate-limit signals: Retry-After, IETF RateLimit fields, X-RateLimit-*, and the gate."""

from __future__ import annotations

import logging
import threading

import pytest

from restwell.policy import (
    RateLimitGate,
    RateLimitInfo,
    is_rate_limited,
    rate_limit_wait,
    read_rate_limit,
    read_retry_after,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
DATE_PLUS_20 = "Tue, 14 Nov 2023 22:13:40 GMT"
DATE_PLUS_30 = "Tue, 14 Nov 2023 22:13:50 GMT"
DATE_PLUS_50 = "Tue, 14 Nov 2023 22:14:10 GMT"
DATE_MINUS_1000 = "Tue, 14 Nov 2023 21:56:40 GMT"

# ------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("  5 ", 5.0),
        ("007", 7.0),
        ("2147483648", 2147483648.0),
        ("99999999999999999999", 2147483648.0),  # too large: RFC 9111 §1.2.2 says 2**31
        ("000000000000000000042", 42.0),  # leading zeros do not change the value
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert read_retry_after({"retry-after": value}, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        DATE_PLUS_30,  # IMF-fixdate
        "Tuesday, 14-Nov-23 22:13:50 GMT",  # obsolete RFC 850 form
        "Tue Nov 14 22:13:50 2023",  # asctime form
    ],
)
def test_retry_after_http_date_forms(value: str) -> None:
    assert read_retry_after({"retry-after": value}, NOW) == 30.0


def test_retry_after_http_date_against_date_header() -> None:
    headers = {"retry-after": DATE_PLUS_50, "date": DATE_PLUS_20}
    assert read_retry_after(headers, NOW) == 30.0
    # the local clock does not matter when the response has a Date
    assert read_retry_after(headers, NOW + 5000.0) == 30.0


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert read_retry_after({"retry-after": DATE_MINUS_1000}, NOW) == 0.0


def test_retry_after_delta_ignores_date_header() -> None:
    assert read_retry_after({"retry-after": "10", "date": DATE_MINUS_1000}, NOW) == 10.0


@pytest.mark.parametrize(
    "value", ["", "soon", "-5", "1.5", "+5", "5s", "0x10", "٣", "5, 6", "Tue, 99 Foo 2023"]
)
def test_retry_after_garbage_is_none(value: str) -> None:
    assert read_retry_after({"retry-after": value}, NOW) is None


def test_retry_after_absent() -> None:
    assert read_retry_after({}, NOW) is None


def test_malformed_retry_after_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="restwell.policy"):
        assert read_retry_after({"retry-after": "whenever"}, NOW) is None
    records = [r for r in caplog.records if r.name == "restwell.policy"]
    assert len(records) == 1
    assert records[0].levelno == logging.DEBUG
    assert records[0].getMessage() == "ignoring malformed Retry-After header: 'whenever'"


def test_malformed_rate_limit_values_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="restwell.policy"):
        assert read_rate_limit({"x-ratelimit-remaining": "lots"}, NOW) is None
        info = read_rate_limit({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "later"}, NOW)
        assert info == RateLimitInfo(None, 0, None, "X-RateLimit-*")
        assert read_rate_limit({"ratelimit": "nonsense"}, NOW) is None
    messages = [r.getMessage() for r in caplog.records if r.name == "restwell.policy"]
    assert messages == [
        "ignoring malformed X-RateLimit-Remaining header: 'lots'",
        "ignoring malformed X-RateLimit-Reset header: 'later'",
        "ignoring malformed RateLimit header: 'nonsense'",
    ]
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_malformed_log_truncates_huge_values(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="restwell.policy"):
        read_retry_after({"retry-after": "x" * 10_000}, NOW)
    (record,) = caplog.records
    assert len(record.getMessage()) < 200


# ------------------------------------------------------------------- IETF RateLimit fields


def test_ietf_structured_with_policy() -> None:
    headers = {"ratelimit": '"default";r=0;t=30', "ratelimit-policy": '"default";q=100;w=60'}
    info = read_rate_limit(headers, NOW)
    assert info == RateLimitInfo(100, 0, 30.0, "RateLimit")
    assert info is not None
    assert info.exhausted
    assert rate_limit_wait(headers, NOW) == 30.0


def test_ietf_structured_without_policy() -> None:
    info = read_rate_limit({"ratelimit": '"default";r=7;t=2.5'}, NOW)
    assert info == RateLimitInfo(None, 7, 2.5, "RateLimit")
    assert info is not None
    assert not info.exhausted


def test_ietf_structured_tightest_member_binds() -> None:
    headers = {
        "ratelimit": '"burst";r=5;t=1, "day";r=0;t=3600',
        "ratelimit-policy": '"burst";q=10;w=1, "day";q=1000;w=86400',
    }
    assert read_rate_limit(headers, NOW) == RateLimitInfo(1000, 0, 3600.0, "RateLimit")


def test_ietf_structured_member_without_remaining_is_skipped() -> None:
    headers = {"ratelimit": '"a";t=5, "b";r=3;t=9'}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(None, 3, 9.0, "RateLimit")


def test_ietf_structured_without_reset_does_not_wait() -> None:
    headers = {"ratelimit": '"default";r=0'}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(None, 0, None, "RateLimit")
    assert rate_limit_wait(headers, NOW) is None


def test_ietf_dictionary_form() -> None:
    headers = {"ratelimit": "limit=100, remaining=0, reset=30"}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(100, 0, 30.0, "RateLimit")
    assert rate_limit_wait(headers, NOW) == 30.0


def test_ietf_dictionary_form_case_insensitive_names() -> None:
    headers = {"ratelimit": "Limit=10, Remaining=4, Reset=5"}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(10, 4, 5.0, "RateLimit")


def test_ietf_separate_fields() -> None:
    headers = {"ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "15"}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(100, 0, 15.0, "RateLimit-*")
    assert rate_limit_wait(headers, NOW) == 15.0


def test_ietf_fields_win_over_x_ratelimit() -> None:
    headers = {
        "ratelimit": "limit=100, remaining=0, reset=30",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 90),
    }
    assert read_rate_limit(headers, NOW) == RateLimitInfo(100, 0, 30.0, "RateLimit")


def test_malformed_ietf_field_falls_back_to_x_ratelimit() -> None:
    headers = {"ratelimit": "garbage", "x-ratelimit-remaining": "3"}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(None, 3, None, "X-RateLimit-*")


# ------------------------------------------------------------------------ X-RateLimit-*


def test_x_ratelimit_epoch_reset_against_now() -> None:
    headers = {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 60),
    }
    assert read_rate_limit(headers, NOW) == RateLimitInfo(5000, 0, 60.0, "X-RateLimit-*")
    assert rate_limit_wait(headers, NOW) == 60.0


def test_x_ratelimit_epoch_reset_against_date() -> None:
    headers = {
        "date": DATE_PLUS_20,
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(NOW) + 60),
    }
    assert read_rate_limit(headers, NOW) == RateLimitInfo(None, 0, 40.0, "X-RateLimit-*")
    assert read_rate_limit(headers, NOW - 9999.0) == RateLimitInfo(None, 0, 40.0, "X-RateLimit-*")


def test_x_ratelimit_reset_in_the_past_is_zero() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 60)}
    assert rate_limit_wait(headers, NOW) == 0.0


@pytest.mark.parametrize(
    ("reset", "expected"), [("30", 30.0), ("0", 0.0), ("999999999", 999999999.0)]
)
def test_x_ratelimit_small_reset_is_delta_seconds(reset: str, expected: float) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    assert read_rate_limit(headers, NOW) == RateLimitInfo(None, 0, expected, "X-RateLimit-*")


def test_x_ratelimit_threshold_is_an_epoch() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000000000"}
    # 10**9 is 2001-09-09: an epoch in the past, so no wait
    assert rate_limit_wait(headers, NOW) == 0.0


def test_x_ratelimit_not_exhausted_has_no_wait() -> None:
    headers = {"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(int(NOW) + 60)}
    info = read_rate_limit(headers, NOW)
    assert info == RateLimitInfo(None, 12, 60.0, "X-RateLimit-*")
    assert info is not None
    assert not info.exhausted
    assert rate_limit_wait(headers, NOW) is None


@pytest.mark.parametrize("remaining", ["", "-1", "zero", "1.0", "0x0"])
def test_x_ratelimit_garbage_remaining_is_none(remaining: str) -> None:
    assert read_rate_limit({"x-ratelimit-remaining": remaining}, NOW) is None


def test_no_rate_limit_headers() -> None:
    assert read_rate_limit({}, NOW) is None
    assert read_rate_limit({"content-type": "application/json"}, NOW) is None
    assert rate_limit_wait({}, NOW) is None


def test_rate_limit_wait_prefers_retry_after() -> None:
    headers = {"retry-after": "4", "ratelimit": "limit=100, remaining=0, reset=30"}
    assert rate_limit_wait(headers, NOW) == 4.0


def test_rate_limit_wait_ignores_garbage_retry_after() -> None:
    headers = {"retry-after": "later", "ratelimit": "limit=100, remaining=0, reset=30"}
    assert rate_limit_wait(headers, NOW) == 30.0


# ------------------------------------------------------------------------ is_rate_limited


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {}, True),
        (429, {"x-ratelimit-remaining": "50"}, True),
        (403, {}, False),
        (403, {"x-ratelimit-remaining": "3"}, False),
        (403, {"x-ratelimit-remaining": "0"}, True),
        (403, {"retry-after": "10"}, True),
        (403, {"ratelimit": '"default";r=0;t=5'}, True),
        (403, {"ratelimit": "limit=10, remaining=0, reset=5"}, True),
        (403, {"ratelimit-remaining": "0"}, True),
        (403, {"x-ratelimit-remaining": "garbage"}, False),
        (503, {"x-ratelimit-remaining": "0"}, False),
        (200, {"x-ratelimit-remaining": "0"}, False),
        (500, {"retry-after": "1"}, False),
    ],
)
def test_is_rate_limited(status: int, headers: dict[str, str], expected: bool) -> None:
    assert is_rate_limited(status, headers) is expected


# -------------------------------------------------------------------------- RateLimitGate


def test_gate_starts_free() -> None:
    assert RateLimitGate().delay("https://api.example.com:443", 0.0) == 0.0


def test_gate_blocks_after_429_retry_after_and_expires() -> None:
    gate = RateLimitGate()
    key = "https://api.example.com:443"
    gate.observe(key, 429, {"retry-after": "10"}, NOW, 100.0)
    assert gate.delay(key, 100.0) == 10.0
    assert gate.delay(key, 104.0) == 6.0
    assert gate.delay(key, 110.0) == 0.0
    assert gate.delay(key, 111.0) == 0.0
    # after expiry the entry is gone: earlier times no longer see it
    assert gate.delay(key, 105.0) == 0.0


def test_gate_keys_are_isolated() -> None:
    gate = RateLimitGate()
    gate.observe("a", 429, {"retry-after": "10"}, NOW, 0.0)
    assert gate.delay("a", 0.0) == 10.0
    assert gate.delay("b", 0.0) == 0.0


@pytest.mark.parametrize("status", [429, 503, 403])
def test_gate_honours_retry_after_on_refusals(status: int) -> None:
    gate = RateLimitGate()
    gate.observe("k", status, {"retry-after": "5"}, NOW, 0.0)
    assert gate.delay("k", 0.0) == 5.0


@pytest.mark.parametrize("status", [200, 201, 301, 500, 502])
def test_gate_ignores_retry_after_on_other_statuses(status: int) -> None:
    gate = RateLimitGate()
    gate.observe("k", status, {"retry-after": "5"}, NOW, 0.0)
    assert gate.delay("k", 0.0) == 0.0


def test_gate_retry_after_http_date() -> None:
    gate = RateLimitGate()
    gate.observe("k", 503, {"retry-after": DATE_PLUS_50, "date": DATE_PLUS_20}, NOW, 7.0)
    assert gate.delay("k", 7.0) == 30.0


def test_gate_exhausted_quota_on_200_blocks() -> None:
    gate = RateLimitGate()
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 20)}
    gate.observe("k", 200, headers, NOW, 50.0)
    assert gate.delay("k", 50.0) == 20.0
    assert gate.delay("k", 65.0) == 5.0


def test_gate_quota_left_does_not_block() -> None:
    gate = RateLimitGate()
    headers = {"x-ratelimit-remaining": "1", "x-ratelimit-reset": str(int(NOW) + 20)}
    gate.observe("k", 200, headers, NOW, 0.0)
    assert gate.delay("k", 0.0) == 0.0


def test_gate_exhausted_without_reset_does_not_block() -> None:
    gate = RateLimitGate()
    gate.observe("k", 429, {"x-ratelimit-remaining": "0"}, NOW, 0.0)
    assert gate.delay("k", 0.0) == 0.0


def test_gate_429_without_headers_does_not_block() -> None:
    gate = RateLimitGate()
    gate.observe("k", 429, {}, NOW, 0.0)
    assert gate.delay("k", 0.0) == 0.0


def test_gate_garbage_retry_after_falls_back_to_quota() -> None:
    gate = RateLimitGate()
    headers = {"retry-after": "soon", "ratelimit": "limit=5, remaining=0, reset=12"}
    gate.observe("k", 429, headers, NOW, 0.0)
    assert gate.delay("k", 0.0) == 12.0


def test_gate_block_keeps_the_later_deadline() -> None:
    gate = RateLimitGate()
    gate.block("k", 10.0, 0.0)
    gate.block("k", 5.0, 0.0)
    assert gate.delay("k", 0.0) == 10.0
    gate.block("k", 20.0, 1.0)
    assert gate.delay("k", 1.0) == 20.0


def test_gate_thread_safety_smoke() -> None:
    gate = RateLimitGate()
    errors: list[BaseException] = []
    keys = [f"origin-{i}" for i in range(4)]

    def worker(offset: int) -> None:
        try:
            for i in range(300):
                key = keys[i % len(keys)]
                seconds = str((i + offset) % 50)
                gate.observe(key, 429, {"retry-after": seconds}, NOW, float(i))
                gate.delay(key, float(i))
                gate.block(key, 1.0, float(i))
        except BaseException as exc:  # pragma: no cover - only on failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for key in keys:
        delay = gate.delay(key, 0.0)
        assert 0.0 < delay <= 299.0 + 49.0
