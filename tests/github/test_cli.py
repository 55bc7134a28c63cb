"""``restwell github ...`` and ``restwell bench github`` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from restwell.cli import app
from restwell.server.github import FakeGitHub, GitHubSettings

runner = CliRunner()


@pytest.fixture
def cli_fake(github_server: tuple[FakeGitHub, str]) -> str:
    """The shared fake GitHub on the real clock (the CLI's clients use the real one)."""
    fake, url = github_server
    fake.reset(GitHubSettings(users=3, repos_per_user=5))
    return url


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_user_as_a_table_and_as_json(cli_fake: str) -> None:
    code, out, _ = run("github", "user", "user2", "--base-url", cli_fake)
    assert code == 0
    assert "user2 (User)" in out
    assert "public_repos" in out
    code, out, _ = run("github", "user", "user2", "--base-url", cli_fake, "--json")
    data = json.loads(out)
    assert code == 0
    assert data["login"] == "user2"
    assert data["created_at"] == "2015-03-23T00:00:00Z"
    assert "raw" not in data


def test_repos_as_a_table_and_as_json(cli_fake: str) -> None:
    code, out, _ = run("github", "repos", "user1", "--base-url", cli_fake, "--per-page", "2")
    assert code == 0
    assert "repositories of user1 (5)" in out
    assert "repo-005" in out
    code, out, _ = run("github", "repos", "user1", "--base-url", cli_fake, "--json")
    assert code == 0
    assert [r["name"] for r in json.loads(out)] == [f"repo-00{j}" for j in range(1, 6)]


def test_languages_as_a_table_and_as_json(
    cli_fake: str, github_server: tuple[FakeGitHub, str]
) -> None:
    code, out, _ = run("github", "languages", "user1/repo-002", "--base-url", cli_fake)
    assert code == 0
    assert "languages of user1/repo-002" in out
    assert "%" in out
    code, out, _ = run("github", "languages", "user1/repo-002", "--base-url", cli_fake, "--json")
    assert code == 0
    assert json.loads(out) == github_server[0].languages("user1", "repo-002")


def test_the_token_comes_from_the_option_or_github_token(
    github_server: tuple[FakeGitHub, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = github_server
    fake.reset(GitHubSettings(users=3, tokens=frozenset({"good"})))
    code, _, err = run("github", "user", "user1", "--base-url", url, "--token", "bad")
    assert code == 1
    assert "401 Bad credentials" in err
    assert "bad" not in err.replace("Bad", "")
    monkeypatch.setenv("GITHUB_TOKEN", "good")
    code, _, _ = run("github", "user", "user1", "--base-url", url)
    assert code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("github", "user", "nobody"), 1, "error: 404 Not Found for GET http://127.0.0.1:"),
        (("github", "languages", "user1/nothing"), 1, "error: 404 Not Found"),
        (("github", "languages", "no-slash"), 2, "error: expected OWNER/REPO, got 'no-slash'"),
        (("github", "user", "a/b"), 2, "error: username must be a single name"),
        (("github", "user", "blocked"), 1, "error: 403 Forbidden"),
    ],
)
def test_errors_are_one_line_and_an_exit_code(
    cli_fake: str, args: tuple[str, ...], code: int, message: str
) -> None:
    got, out, err = run(*args, "--base-url", cli_fake)
    assert got == code
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_a_bad_base_url_is_a_usage_error() -> None:
    code, _, err = run("github", "user", "x", "--base-url", "ftp://example")
    assert code == 2
    assert err.startswith("error: base_url must be an absolute http(s) URL")


def test_an_unreachable_api_is_one_line(dead_url: str, no_sleep: list[float]) -> None:
    code, _, err = run("github", "user", "x", "--base-url", dead_url)
    assert code == 1
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_a_rate_limit_wait_is_shown(
    github_server: tuple[FakeGitHub, str], no_sleep: list[float]
) -> None:
    fake, url = github_server
    fake.reset(GitHubSettings(users=3))
    fake.trigger_secondary(1, retry_after=5)
    code, out, err = run("github", "user", "user1", "--base-url", url, "--json")
    assert code == 0
    assert json.loads(out)["login"] == "user1"
    assert "rate limit: 403 with Retry-After: 5; waiting 5s until" in err
    assert no_sleep == [pytest.approx(5.0, abs=0.5)]  # the real clock moved a little


def test_bench_github_json() -> None:
    code, out, err = run("bench", "github", "--users", "3", "--latency", "20ms", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {
        "benchmark",
        "base_url",
        "users",
        "repos",
        "pages",
        "rounds",
        "sequential_seconds",
        "concurrent_seconds",
        "speedup",
        "sequential_runs",
        "concurrent_runs",
        "latency_seconds",
        "ideal_speedup",
    }
    assert (data["users"], data["repos"], data["pages"], data["latency_seconds"]) == (
        3,
        90,
        3,
        0.02,
    )
    assert data["base_url"].startswith("http://127.0.0.1:")
    assert data["concurrent_seconds"] < data["sequential_seconds"]
    assert data["sequential_seconds"] >= 3 * 0.02
    assert data["speedup"] == pytest.approx(
        data["sequential_seconds"] / data["concurrent_seconds"], rel=1e-3
    )


def test_bench_github_table_against_a_running_fake(cli_fake: str) -> None:
    code, out, _ = run("bench", "github", "--users", "2", "--base-url", cli_fake, "--rounds", "1")
    assert code == 0
    assert "sequential" in out
    assert "concurrent" in out
    assert "█" in out
    assert "speedup" in out


@pytest.mark.parametrize("latency", ["fast", "-5ms", "2h"])
def test_bench_refuses_a_bad_latency(latency: str) -> None:
    code, _, err = run("bench", "github", "--latency", latency)
    assert code == 2
    assert err.startswith("error: ")
