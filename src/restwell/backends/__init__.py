"""Backends: the HTTP libraries restwell drives (see :mod:`restwell.backends._base`)."""

from restwell.backends._aiohttp import AiohttpBackend
from restwell.backends._base import AsyncBackend, SyncBackend
from restwell.backends._urllib3 import Urllib3Backend

__all__ = [
    "AiohttpBackend",
    "AsyncBackend",
    "SyncBackend",
    "Urllib3Backend",
    "async_backend_for",
    "sync_backend_for",
]


def sync_backend_for(session: object, *, max_body_size: int | None = None) -> SyncBackend:
    """The sync backend that drives a session the user already has.

    Accepts a ``requests.Session``, an ``httpx2.Client`` / ``httpx.Client`` or a
    ``urllib3.PoolManager``; the session keeps its own settings.
    """
    library = type(session).__module__.split(".")[0]
    if library == "requests":
        from restwell.backends._requests import RequestsBackend

        return RequestsBackend(session, max_body_size=max_body_size)  # type: ignore[arg-type]
    if library in ("httpx", "httpx2"):
        from restwell.backends._httpx import HttpxBackend

        return HttpxBackend(session, max_body_size=max_body_size)
    if library == "urllib3":
        return Urllib3Backend(pool=session, max_body_size=max_body_size)  # type: ignore[arg-type]
    raise TypeError(
        f"restwell.Client cannot drive a {type(session).__qualname__}: pass a requests.Session, "
        "an httpx2/httpx Client or a urllib3.PoolManager (an async session goes to AsyncClient)"
    )


def async_backend_for(session: object, *, max_body_size: int | None = None) -> AsyncBackend:
    """The async backend that drives a session the user already has.

    Accepts an ``aiohttp.ClientSession`` or an ``httpx2.AsyncClient`` / ``httpx.AsyncClient``.
    """
    library = type(session).__module__.split(".")[0]
    if library in ("httpx", "httpx2"):
        from restwell.backends._httpx import AsyncHttpxBackend

        return AsyncHttpxBackend(session, max_body_size=max_body_size)
    if library == "aiohttp":
        return AiohttpBackend(session=session, max_body_size=max_body_size)  # type: ignore[arg-type]
    raise TypeError(
        f"restwell.AsyncClient cannot drive a {type(session).__qualname__}: pass an "
        "aiohttp.ClientSession or an httpx2/httpx AsyncClient (a sync session goes to Client)"
    )
