"""One synchronous face over the GitHub clients, so every test runs on every kind of client.

Kinds: ``GitHubClient`` on urllib3 (default) and on a ``requests.Session``;
``AsyncGitHubClient`` on aiohttp (default), on an ``httpx.AsyncClient`` and on an
``httpx2.AsyncClient``. Async clients run on a private event loop driven from the test's thread;
``concurrently`` runs calls at once (threads for the sync client, ``asyncio.gather`` for the
async one) against one client, so its rate limiter is shared as in real use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import httpx2
import requests

from restwell import Response
from restwell.github import AsyncGitHubClient, GitHubClient, RateLimit, Repo, User

T = TypeVar("T")

SYNC_KINDS = ["urllib3", "requests"]
ASYNC_KINDS = ["aiohttp", "httpx-async", "httpx2-async"]
KINDS = SYNC_KINDS + ASYNC_KINDS
DEFAULT_KINDS = ["urllib3", "aiohttp"]
"""The default backends of each client: rate-limit paths run on these (the limiter sits above
the backend, so the session kinds add nothing there but time)."""

Call = tuple[str, tuple[Any, ...], dict[str, Any]]
Drained = tuple[list[Any], BaseException | None, int | None, int]


def call(name: str, *args: Any, **kwargs: Any) -> Call:
    """A client call to run with :meth:`GH.concurrently`."""
    return name, args, kwargs


class GH:
    """A GitHub client of some kind behind one blocking interface."""

    kind: str
    client: GitHubClient | AsyncGitHubClient

    def get_user(self, username: str) -> User:
        return self._run("get_user", username)  # type: ignore[no-any-return]

    def list_repos(self, username: str, **kwargs: Any) -> list[Repo]:
        return self._run("list_repos", username, **kwargs)  # type: ignore[no-any-return]

    def get_repo_languages(self, owner: str, repo: str) -> dict[str, int]:
        return self._run("get_repo_languages", owner, repo)  # type: ignore[no-any-return]

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._run("get", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        return self._run("request", method, path, **kwargs)  # type: ignore[no-any-return]

    def get_rate_limit(self) -> dict[str, RateLimit]:
        return self._run("get_rate_limit")  # type: ignore[no-any-return]

    def paginate(self, path: str, **kwargs: Any) -> list[Any]:
        items, error, _, _ = self.drain("paginate", path, **kwargs)
        if error is not None:
            raise error
        return items

    def drain(self, method: str, *args: Any, **kwargs: Any) -> Drained:
        """Iterate ``method(*args)`` (``iter_repos`` or ``paginate``) until it ends or fails.

        Returns:
            ``(items, error or None, paginator.next_page, paginator.pages)``.
        """
        raise NotImplementedError

    def concurrently(self, calls: list[Call]) -> list[Any]:
        """Run ``calls`` at once on this one client; each result is a value or an exception."""
        raise NotImplementedError

    def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SyncGH(GH):
    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self._session = requests.Session() if kind == "requests" else None
        self.client = self.sync = GitHubClient(session=self._session, **options)

    def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.sync, name)(*args, **kwargs)

    def drain(self, method: str, *args: Any, **kwargs: Any) -> Drained:
        pages = getattr(self.sync, method)(*args, **kwargs)
        items: list[Any] = []
        try:
            for item in pages:
                items.append(item)
        except Exception as exc:
            return items, exc, pages.next_page, pages.pages
        return items, None, pages.next_page, pages.pages

    def concurrently(self, calls: list[Call]) -> list[Any]:
        def one(c: Call) -> Any:
            name, args, kwargs = c
            try:
                return self._run(name, *args, **kwargs)
            except Exception as exc:
                return exc

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(one, calls))

    def close(self) -> None:
        self.sync.close()
        if self._session is not None:
            self._session.close()


class AsyncGH(GH):
    def __init__(self, kind: str, **options: Any) -> None:
        self.kind = kind
        self._loop = asyncio.new_event_loop()
        self._session: Any = None

        async def make() -> AsyncGitHubClient:
            if kind == "httpx-async":
                self._session = httpx.AsyncClient()
            elif kind == "httpx2-async":
                self._session = httpx2.AsyncClient()
            return AsyncGitHubClient(session=self._session, **options)

        self.client = self.aclient = self._wait(make())

    def _wait(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(asyncio.wait_for(coro, 60))

    def _run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.aclient, name)(*args, **kwargs)
        return self._wait(result)

    def drain(self, method: str, *args: Any, **kwargs: Any) -> Drained:
        pages = getattr(self.aclient, method)(*args, **kwargs)

        async def go() -> Drained:
            items: list[Any] = []
            try:
                async for item in pages:
                    items.append(item)
            except Exception as exc:
                return items, exc, pages.next_page, pages.pages
            return items, None, pages.next_page, pages.pages

        return self._wait(go())

    def concurrently(self, calls: list[Call]) -> list[Any]:
        async def go() -> list[Any]:
            awaitables: list[Awaitable[Any]] = [
                getattr(self.aclient, name)(*args, **kwargs) for name, args, kwargs in calls
            ]
            return await asyncio.gather(*awaitables, return_exceptions=True)

        return self._wait(go())

    def close(self) -> None:
        try:
            self._wait(self.aclient.aclose())
            if self._session is not None:
                self._wait(self._session.aclose())
        finally:
            self._loop.close()


def make_gh(kind: str, **options: Any) -> GH:
    """A client of ``kind`` (see :data:`KINDS`) with GitHub client ``options``."""
    if kind in SYNC_KINDS:
        return SyncGH(kind, **options)
    if kind in ASYNC_KINDS:
        return AsyncGH(kind, **options)
    raise ValueError(f"unknown kind {kind!r}")


GHFactory = Callable[..., GH]
