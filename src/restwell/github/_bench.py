"""Sequential (sync client) against concurrent (async client): the founding document's timing.

Lists each user's repositories with :class:`GitHubClient`, one user after the other, and with
:class:`AsyncGitHubClient` and ``asyncio.gather``, all at once, against the same API (the fake
GitHub, with its latency), and reports both times and the speedup. With N users whose listings
take one round trip each, the ideal speedup is N; the server's own work per request (which a
single-process fake does one request at a time) and opening the concurrent connections keep
the measured one below it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from restwell.github._client import AsyncGitHubClient, GitHubClient
from restwell.github._models import Repo

__all__ = ["BenchResult", "run_bench"]


@dataclass(frozen=True, slots=True)
class BenchResult:
    """What :func:`run_bench` measured.

    Attributes:
        base_url: The API measured.
        users: The users whose repositories were listed.
        repos: Repositories listed per run (both modes must agree).
        pages: Pages fetched per run.
        sequential_runs: Seconds of each sequential run (sync client, one user at a time).
        concurrent_runs: Seconds of each concurrent run (async client, all users at once).
    """

    base_url: str
    users: tuple[str, ...]
    repos: int
    pages: int
    sequential_runs: tuple[float, ...]
    concurrent_runs: tuple[float, ...]

    @property
    def sequential(self) -> float:
        """The median sequential run, in seconds."""
        return statistics.median(self.sequential_runs)

    @property
    def concurrent(self) -> float:
        """The median concurrent run, in seconds."""
        return statistics.median(self.concurrent_runs)

    @property
    def speedup(self) -> float:
        """``sequential / concurrent`` (medians)."""
        return self.sequential / self.concurrent if self.concurrent > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "base_url": self.base_url,
            "users": len(self.users),
            "repos": self.repos,
            "pages": self.pages,
            "rounds": len(self.sequential_runs),
            "sequential_seconds": round(self.sequential, 6),
            "concurrent_seconds": round(self.concurrent, 6),
            "speedup": round(self.speedup, 3),
            "sequential_runs": [round(s, 6) for s in self.sequential_runs],
            "concurrent_runs": [round(s, 6) for s in self.concurrent_runs],
        }


def _sequential(
    base_url: str, users: Sequence[str], token: str | None, per_page: int
) -> tuple[float, list[list[Repo]], int]:
    with GitHubClient(token, base_url=base_url) as gh:
        gh.get_rate_limit()  # warm-up: a connection and the quota, not timed
        started = time.perf_counter()
        found, pages = [], 0
        for user in users:
            listing = gh.iter_repos(user, per_page=per_page)
            found.append(list(listing))
            pages += listing.pages
        return time.perf_counter() - started, found, pages


async def _concurrent(
    base_url: str, users: Sequence[str], token: str | None, per_page: int
) -> tuple[float, list[list[Repo]]]:
    async with AsyncGitHubClient(token, base_url=base_url) as gh:
        await gh.get_rate_limit()  # warm-up, as for the sync client
        started = time.perf_counter()
        found = await asyncio.gather(*(gh.list_repos(u, per_page=per_page) for u in users))
        return time.perf_counter() - started, list(found)


def run_bench(
    base_url: str,
    users: Sequence[str],
    *,
    token: str | None = None,
    per_page: int = 100,
    rounds: int = 3,
) -> BenchResult:
    """List every user's repositories sequentially (sync), then concurrently (async).

    Each round uses new clients (so nothing is served from a cache), and each client first
    makes one untimed ``GET /rate_limit`` (free: it counts against no limit), so both timings
    start with one connection open and the quota known.

    Args:
        base_url: The API (the fake GitHub's URL: never point a benchmark at api.github.com).
        users: Logins to list.
        token: The token to send.
        per_page: Repositories per page.
        rounds: Runs of each mode; the medians are compared.

    Raises:
        RuntimeError: The two modes did not list the same repositories.
    """
    if not users:
        raise ValueError("the benchmark needs at least one user")
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    sequential: list[float] = []
    concurrent: list[float] = []
    repos = pages = 0
    for _ in range(rounds):
        seconds, seq_found, pages = _sequential(base_url, users, token, per_page)
        sequential.append(seconds)
        seconds, con_found = asyncio.run(_concurrent(base_url, users, token, per_page))
        concurrent.append(seconds)
        if seq_found != con_found:
            raise RuntimeError("the sync and async clients listed different repositories")
        repos = sum(len(r) for r in seq_found)
    return BenchResult(
        base_url=base_url,
        users=tuple(users),
        repos=repos,
        pages=pages,
        sequential_runs=tuple(sequential),
        concurrent_runs=tuple(concurrent),
    )
