"""Fixtures: one fake GitHub on 127.0.0.1 for the session, reset before each test; clients of
every kind against it, on a fake clock shared with the server (testing mode: no real waits)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from restwell.server.github import FakeGitHub, GitHubSettings, serve_github_in_thread
from restwell.testing import FakeClock
from tests.github.drivers import DEFAULT_KINDS, GH, KINDS, make_gh

TOKEN = "ghp_test_0123456789abcdef"
"""The token the clients send (it must never show in reprs, errors or logs)."""


@pytest.fixture(scope="session")
def github_server() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub()
    with serve_github_in_thread(fake=fake) as url:
        yield fake, url


@pytest.fixture(autouse=True)
def _no_token_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)


@pytest.fixture
def settings(fake_clock: FakeClock) -> GitHubSettings:
    """Small data, a 50-request window of 60 s, on the test's fake clock."""
    return GitHubSettings(
        users=12,
        repos_per_user=14,
        rate_limit=50,
        anonymous_rate_limit=50,
        window=60.0,
        clock=fake_clock.time,
    )


@pytest.fixture
def fake(github_server: tuple[FakeGitHub, str], settings: GitHubSettings) -> FakeGitHub:
    state, _ = github_server
    state.reset(settings)
    return state


@pytest.fixture
def configure(fake: FakeGitHub) -> Callable[..., FakeGitHub]:
    """Change the fake's settings for this test (``configure(rate_limit=5)``)."""

    def change(**changes: Any) -> FakeGitHub:
        fake.reset(dataclasses.replace(fake.settings, **changes))
        return fake

    return change


@pytest.fixture
def url(github_server: tuple[FakeGitHub, str]) -> str:
    return github_server[1]


def _factory(kind: str, url: str, clock: FakeClock, made: list[GH]) -> Callable[..., GH]:
    def make(**options: Any) -> GH:
        options.setdefault("token", TOKEN)
        options.setdefault("base_url", url)
        options.setdefault("clock", clock)
        gh = make_gh(kind, **options)
        made.append(gh)
        return gh

    return make


@pytest.fixture(params=KINDS)
def make(
    request: pytest.FixtureRequest, fake: FakeGitHub, url: str, fake_clock: FakeClock
) -> Iterator[Callable[..., GH]]:
    """Build a client of every kind against the fake (closed after the test)."""
    made: list[GH] = []
    yield _factory(request.param, url, fake_clock, made)
    for gh in made:
        gh.close()


@pytest.fixture(params=DEFAULT_KINDS)
def make_default(
    request: pytest.FixtureRequest, fake: FakeGitHub, url: str, fake_clock: FakeClock
) -> Iterator[Callable[..., GH]]:
    """Like ``make``, for the default backend of each client (sync urllib3, async aiohttp)."""
    made: list[GH] = []
    yield _factory(request.param, url, fake_clock, made)
    for gh in made:
        gh.close()
