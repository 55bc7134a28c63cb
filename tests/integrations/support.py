"""Shared helpers of the integration-specific tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore2

from restwell import RetryPolicy
from tests.client.support import fast

THREE = fast(3)
"""Three attempts, 10 ms apart: the policy most tests count server hits against."""

BODY = b"0123456789abcdef" * 4
"""A small request body (64 bytes), sent in chunks by the generators below."""


def chunks(data: bytes = BODY, size: int = 16) -> Iterator[bytes]:
    """A one-shot generator body."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def achunks(data: bytes = BODY, size: int = 16) -> AsyncIterator[bytes]:
    """A one-shot async generator body."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def policy(attempts: int = 3, **options: Any) -> RetryPolicy:
    """``fast(attempts)``: a tiny fixed backoff."""
    return fast(attempts, **options)


class CountingBackend(httpcore2.SyncBackend):
    """httpcore2's network backend, counting connect attempts and skipping its retry sleeps.

    A refused connect reaches no server, so this is where connect retries are counted.
    """

    def __init__(self) -> None:
        self.connects = 0

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        self.connects += 1
        return super().connect_tcp(host, port, timeout, local_address, socket_options)

    def sleep(self, seconds: float) -> None:
        return None


class AsyncCountingBackend(httpcore2.AnyIOBackend):
    """The async twin of :class:`CountingBackend`."""

    def __init__(self) -> None:
        self.connects = 0

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        self.connects += 1
        return await super().connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        return None


def count_connects(transport: Any) -> CountingBackend:
    """Count the connect attempts of an ``httpx2.HTTPTransport`` (its pool's backend)."""
    backend = CountingBackend()
    transport._pool._network_backend = backend
    return backend


def acount_connects(transport: Any) -> AsyncCountingBackend:
    """Count the connect attempts of an ``httpx2.AsyncHTTPTransport``."""
    backend = AsyncCountingBackend()
    transport._pool._network_backend = backend
    return backend
