"""The seam between restwell and an HTTP library: send one request, close.

A backend does no retrying, no redirect following and no decoding of JSON: it sends the
request once, returns a :class:`~restwell.Response` (body read in full unless ``stream``), and
translates its library's exceptions into restwell's :class:`~restwell.errors.TransportError`
family, keeping the original as ``__cause__``. Everything else lives above it, so a new backend
gets every feature for free.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Protocol, runtime_checkable

from restwell._models import Request, Response, Timeout
from restwell.errors import BodyTooLarge

__all__ = ["AsyncBackend", "SyncBackend", "aread_limited", "read_limited"]


def _too_large(limit: int, request: Request) -> BodyTooLarge:
    return BodyTooLarge(f"response body over {limit} bytes for {request!r}")


def read_limited(chunks: Iterable[bytes], limit: int | None, request: Request) -> bytes:
    """Join body chunks, refusing to hold more than ``limit`` bytes."""
    if limit is None:
        return b"".join(chunks)
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise _too_large(limit, request)
    return bytes(buffer)


async def aread_limited(chunks: AsyncIterable[bytes], limit: int, request: Request) -> bytes:
    """Join body chunks from an async source, refusing to hold more than ``limit`` bytes."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise _too_large(limit, request)
    return bytes(buffer)


@runtime_checkable
class SyncBackend(Protocol):
    """A blocking HTTP library behind restwell."""

    def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once."""
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


@runtime_checkable
class AsyncBackend(Protocol):
    """An asyncio HTTP library behind restwell."""

    async def send(self, request: Request, timeout: Timeout, stream: bool) -> Response:
        """Send ``request`` once."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
