"""The fake GitHub itself, checked with a plain HTTP client (not restwell's), so a mistake
shared by the fake and the client cannot hide."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from restwell.server.github import FakeGitHub
from restwell.testing import FakeClock

T0 = 1_700_000_000


@pytest.fixture
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as client:
        yield client


def test_repos_pages_link_like_github(http: httpx.Client, fake: FakeGitHub, url: str) -> None:
    first = http.get("/users/user2/repos", params={"per_page": 5, "type": "owner"})
    assert first.status_code == 200
    assert len(first.json()) == 5
    assert first.links["next"]["url"] == f"{url}/user/1002/repos?type=owner&per_page=5&page=2"
    assert first.links["last"]["url"].endswith("page=3")
    assert "prev" not in first.links
    middle = http.get(first.links["next"]["url"])
    assert set(middle.links) == {"prev", "next", "last", "first"}
    last = http.get(first.links["last"]["url"])
    assert [r["name"] for r in last.json()] == [f"repo-{j:03d}" for j in range(11, 15)]
    assert set(last.links) == {"prev", "first"}


def test_quota_headers_count_down_and_reset(
    http: httpx.Client, fake: FakeGitHub, fake_clock: FakeClock
) -> None:
    first = http.get("/users/user1")
    assert {k: first.headers[f"x-ratelimit-{k}"] for k in ("limit", "remaining", "used")} == {
        "limit": "50",
        "remaining": "49",
        "used": "1",
    }
    assert first.headers["x-ratelimit-reset"] == str(T0 + 60)
    assert first.headers["x-ratelimit-resource"] == "core"
    assert first.headers["date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert http.get("/rate_limit").json()["resources"]["core"]["remaining"] == 49  # free
    fake.set_remaining(0, token="t")
    refused = http.get("/users/user1")
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["message"].startswith("API rate limit exceeded")
    fake_clock.advance(60)
    again = http.get("/users/user1")
    assert again.status_code == 200
    assert again.headers["x-ratelimit-remaining"] == "49"


def test_a_304_does_not_count(http: httpx.Client, fake: FakeGitHub) -> None:
    first = http.get("/users/user1")
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"].startswith("private")
    again = http.get("/users/user1", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["x-ratelimit-remaining"] == "49"
    assert [(r.status, r.counted) for r in fake.requests] == [(200, True), (304, False)]


def test_secondary_limits_and_failures_on_demand(http: httpx.Client, fake: FakeGitHub) -> None:
    fake.trigger_secondary(1, status=429, retry_after=9, message=False)
    fake.trigger_secondary(1)
    fake.fail_next(502, path_contains="/repos")
    bare = http.get("/users/user1")
    assert (bare.status_code, bare.headers["retry-after"], bare.json()["message"]) == (
        429,
        "9",
        "Forbidden",
    )
    told = http.get("/users/user1")
    assert told.status_code == 403
    assert "retry-after" not in told.headers
    assert "You have exceeded a secondary rate limit" in told.json()["message"]
    assert told.headers["x-ratelimit-remaining"] == "50"  # secondary refusals spend nothing
    assert http.get("/users/user1").status_code == 200
    assert http.get("/users/user1/repos").status_code == 502


def test_credentials_and_identities(url: str, fake: FakeGitHub) -> None:
    anonymous = httpx.get(f"{url}/users/user1")
    assert anonymous.status_code == 200
    fake.reset(fake.settings.__class__(tokens=frozenset({"good"}), clock=fake.settings.clock))
    bad = httpx.get(f"{url}/users/user1", headers={"Authorization": "token nope"})
    assert bad.status_code == 401
    assert bad.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
    }
    assert httpx.get(f"{url}/nothing/here").json()["message"] == "Not Found"
