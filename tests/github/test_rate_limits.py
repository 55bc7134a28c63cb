"""Every rate-limit path against the fake GitHub, sync and async, on a fake clock.

The fake's rate-limit windows, ``Date`` and resets follow the same :class:`FakeClock` as the
client, and testing mode turns each wait into a record (``no_sleep``) that moves the clock: so
the exact waits are asserted, and the fake's log shows when each request arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from restwell.github import RateLimitExceeded, RateLimitWait, Repo
from restwell.server.github import FakeGitHub
from restwell.testing import FakeClock
from tests.github.conftest import TOKEN
from tests.github.drivers import GH, call

Make = Callable[..., GH]
T0 = 1_700_000_000.0  # the fake clock's start: the fake's windows start here


def outcomes(fake: FakeGitHub) -> list[tuple[int, str, float]]:
    """``(status, outcome, seconds after T0)`` of every counted-resource request."""
    return [(r.status, r.outcome, r.at - T0) for r in fake.requests if r.resource is not None]


# -- primary limit: wait ----------------------------------------------------------------------


def test_a_spent_quota_found_by_a_refusal_is_waited_for_until_its_reset(
    make_default: Make,
    fake: FakeGitHub,
    no_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.set_remaining(0, token=TOKEN)  # spent elsewhere: the client cannot know
    told: list[RateLimitWait] = []
    gh = make_default(on_rate_limit_wait=told.append)
    with caplog.at_level(logging.WARNING, logger="restwell.github"):
        assert gh.get_user("user1").login == "user1"
    assert no_sleep == [61.0]  # until X-RateLimit-Reset (60 s on), plus the 1 s skew
    assert outcomes(fake) == [(403, "primary", 0.0), (200, "ok", 61.0)]
    (wait,) = told
    assert (wait.kind, wait.resource, wait.seconds, wait.reset_at) == (
        "primary",
        "core",
        61.0,
        T0 + 61,
    )
    assert gh.client.rate_limit_waits == told
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "GitHub primary rate limit (quota of 'core' spent): waiting 61.0s, until "
        "2023-11-14 22:14:21Z"
    )


def test_a_quota_known_to_be_spent_is_waited_for_without_a_refused_request(
    make_default: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(rate_limit=2)
    gh = make_default()
    gh.get_user("user1")
    gh.get_user("user2")  # X-RateLimit-Remaining: 0
    gh.get_user("user3")
    assert no_sleep == [61.0]
    assert outcomes(fake) == [(200, "ok", 0.0), (200, "ok", 0.0), (200, "ok", 61.0)]


def test_quotas_are_per_resource(
    make_default: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(search_rate_limit=1)
    gh = make_default()
    gh.get("/search/repositories", params={"q": "repo-001"})  # spends search
    gh.get_user("user1")  # core is not held
    assert no_sleep == []
    gh.get("/search/repositories", params={"q": "repo-002"})
    assert no_sleep == [61.0]
    assert [(r.resource, r.at - T0) for r in fake.requests] == [
        ("search", 0.0),
        ("core", 0.0),
        ("search", 61.0),
    ]


# -- primary limit: raise, and the cap ---------------------------------------------------------


@pytest.mark.parametrize("known", [False, True], ids=["refused", "known"])
def test_on_rate_limit_raise_raises_with_the_reset_time(
    make_default: Make,
    configure: Callable[..., FakeGitHub],
    no_sleep: list[float],
    known: bool,
) -> None:
    fake = configure(rate_limit=1)
    gh = make_default(on_rate_limit="raise")
    if known:
        gh.get_user("user1")  # spends the only request: the client knows
    else:
        fake.set_remaining(0, token=TOKEN)
    sent = len(fake.requests)
    with pytest.raises(RateLimitExceeded) as info:
        gh.get_user("user2")
    error = info.value
    assert (error.kind, error.resource, error.retry_after, error.reset_at, error.limit) == (
        "primary",
        "core",
        61.0,
        T0 + 61,
        1,
    )
    assert "on_rate_limit='raise'" in str(error)
    assert "2023-11-14 22:14:21Z" in str(error)
    assert error.request is not None
    assert error.request.url.endswith("/users/user2")
    if known:  # nothing sent: the client knew the quota was spent
        assert len(fake.requests) == sent
        assert error.response is None
    else:
        assert len(fake.requests) == sent + 1
        assert error.response is not None
        assert error.response.status_code == 403
    assert no_sleep == []


@pytest.mark.parametrize("known", [False, True], ids=["refused", "known"])
def test_a_wait_over_max_rate_limit_wait_raises(
    make_default: Make,
    configure: Callable[..., FakeGitHub],
    no_sleep: list[float],
    known: bool,
) -> None:
    fake = configure(rate_limit=1)
    gh = make_default(max_rate_limit_wait=30)
    if known:
        gh.get_user("user1")
    else:
        fake.set_remaining(0, token=TOKEN)
    with pytest.raises(RateLimitExceeded, match=r"over max_rate_limit_wait=30s") as info:
        gh.get_user("user2")
    assert (info.value.retry_after, info.value.reset_at) == (61.0, T0 + 61)
    assert no_sleep == []
    assert [o for o in outcomes(fake) if o[1] == "primary"] == (
        [] if known else [(403, "primary", 0.0)]
    )


def test_the_primary_limit_may_answer_429(
    make_default: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(primary_status=429)
    fake.set_remaining(0, token=TOKEN)
    gh = make_default()
    gh.get_user("user1")
    assert no_sleep == [61.0]
    assert outcomes(fake) == [(429, "primary", 0.0), (200, "ok", 61.0)]


# -- secondary limits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "message", "waits"),
    [
        (403, None, True, [60.0, 120.0, 240.0]),  # told by GitHub's message only
        (429, None, True, [60.0, 120.0, 240.0]),
        (429, None, False, [60.0, 120.0, 240.0]),  # told by headers: a 429, requests left
        (403, 30, True, [30.0, 30.0, 30.0]),  # Retry-After wins
        (429, 7, False, [7.0, 7.0, 7.0]),
    ],
    ids=["403-message", "429-message", "429-bare", "403-retry-after", "429-retry-after"],
)
def test_a_secondary_limit_waits_retry_after_or_60s_then_doubles(
    make_default: Make,
    fake: FakeGitHub,
    no_sleep: list[float],
    status: int,
    retry_after: int | None,
    message: bool,
    waits: list[float],
) -> None:
    told: list[RateLimitWait] = []
    gh = make_default(on_rate_limit_wait=told.append)
    fake.trigger_secondary(3, status=status, retry_after=retry_after, message=message)
    assert gh.get_user("user1").login == "user1"
    assert no_sleep == waits
    assert {(w.kind, w.resource) for w in told} == {("secondary", "*")}
    arrivals = [0.0, waits[0], waits[0] + waits[1], sum(waits)]
    assert outcomes(fake) == [(status, "secondary", t) for t in arrivals[:3]] + [
        (200, "ok", arrivals[3])
    ]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_that_persists_raises_after_every_attempt(
    make_default: Make, fake: FakeGitHub, no_sleep: list[float], status: int
) -> None:
    gh = make_default()
    fake.trigger_secondary(10, status=status)
    with pytest.raises(RateLimitExceeded, match="still refused after 4 attempt") as info:
        gh.get_user("user1")
    assert info.value.kind == "secondary"
    assert info.value.retry_after == 480.0
    assert no_sleep == [60.0, 120.0, 240.0]
    assert len(fake.requests) == 4


def test_a_secondary_backoff_over_the_cap_raises(
    make_default: Make, fake: FakeGitHub, no_sleep: list[float]
) -> None:
    gh = make_default(max_rate_limit_wait=100)
    fake.trigger_secondary(3)
    with pytest.raises(RateLimitExceeded, match="over max_rate_limit_wait=100s") as info:
        gh.get_user("user1")
    assert (info.value.kind, info.value.resource, info.value.retry_after) == (
        "secondary",
        "*",
        120.0,
    )
    assert no_sleep == [60.0]
    assert len(fake.requests) == 2


# -- concurrent requests share one limiter ----------------------------------------------------


def _repos(results: list[object]) -> list[list[Repo]]:
    for result in results:
        assert isinstance(result, list), result
    return results  # type: ignore[return-value]


def test_tasks_that_meet_a_known_limit_wait_once_and_send_nothing_meanwhile(
    make: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(rate_limit=10)
    fake.set_remaining(3, token=TOKEN)
    gh = make()
    assert gh.get_rate_limit()["core"].remaining == 3  # free, and the limiter learns it
    users = [f"user{n}" for n in range(2, 12)]
    found = _repos(gh.concurrently([call("list_repos", u) for u in users]))
    assert [len(r) for r in found] == [14] * 10
    assert no_sleep == [61.0]  # exactly one wait, for all ten
    assert len(gh.client.rate_limit_waits) == 1
    # 3 sent at once, then nothing until the reset, then the other 7; none refused.
    assert sorted(outcomes(fake)) == [(200, "ok", 0.0)] * 3 + [(200, "ok", 61.0)] * 7


def test_tasks_that_meet_an_unknown_limit_find_it_once(
    make: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(rate_limit=10)
    fake.set_remaining(0, token=TOKEN)  # spent elsewhere
    gh = make()
    users = [f"user{n}" for n in range(1, 11)]
    found = gh.concurrently([call("get_user", u) for u in users])
    assert sorted(u.login for u in found) == sorted(users)
    assert no_sleep == [61.0]
    # One request found the limit; the other nine waited for what it found, then all went.
    assert outcomes(fake) == [(403, "primary", 0.0)] + [(200, "ok", 61.0)] * 10


def test_tasks_that_meet_a_known_limit_in_raise_mode_send_nothing(
    make: Make, configure: Callable[..., FakeGitHub], no_sleep: list[float]
) -> None:
    fake = configure(rate_limit=1)
    gh = make(on_rate_limit="raise")
    gh.get_user("user1")
    results = gh.concurrently([call("get_user", f"user{n}") for n in range(2, 7)])
    assert all(isinstance(r, RateLimitExceeded) for r in results)
    assert len(fake.requests) == 1
    assert no_sleep == []


def test_a_secondary_limit_holds_the_other_tasks_too(
    make: Make, fake: FakeGitHub, fake_clock: FakeClock, no_sleep: list[float]
) -> None:
    gh = make()
    gh.get_user("user1")
    fake.trigger_secondary(1, status=429, retry_after=20)
    gh.get_user("user2")  # refused once, waited 20 s
    assert no_sleep == [20.0]
    fake.trigger_secondary(1, status=403)  # the message only: 60 s for everyone
    found = gh.concurrently([call("get_user", f"user{n}") for n in range(3, 8)])
    assert all(getattr(u, "login", None) for u in found), found
    assert no_sleep == [20.0, 60.0]
    refused_at = next(r.at for r in reversed(fake.requests) if r.outcome == "secondary")
    assert all(
        r.at >= refused_at + 60 for r in fake.requests if r.at > refused_at and r.outcome == "ok"
    )
