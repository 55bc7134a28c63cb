"""The aiohttp backend's own connections: socket reads of 64 KiB, on every one it opens.

(Its ISO-8859-1 reading of field values is checked by the conformance suite's obs-text
scenarios, run through ``AsyncClient``.)

asyncio reads up to 256 KiB per ``recv``; depending on the allocator's history each such
read can cost an mmap, an mremap and a munmap. The backend's connector lowers the read size
of each new connection; these tests check it does, and that bodies of every size still
arrive whole.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import restwell
from restwell.backends._aiohttp import _READ_SIZE
from tests.origin import Origin


def _expected(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


@pytest.mark.parametrize("size", [0, 1, _READ_SIZE - 1, _READ_SIZE, 3 * _READ_SIZE + 17])
def test_bodies_arrive_whole_over_small_reads(origin: Origin, size: int) -> None:
    async def main() -> bytes:
        async with restwell.AsyncClient(origin.url) as client:
            return (await client.get(f"/bytes?n={size}")).content

    assert asyncio.run(main()) == _expected(size)


def test_each_new_connection_reads_64_kib_at_a_time(origin: Origin) -> None:
    async def main() -> list[Any]:
        sizes = []
        # Streamed large bodies keep their connections, so each of these is a new one.
        async with (
            restwell.AsyncClient(origin.url) as client,
            client.stream("GET", "/bytes?n=2000000") as first,
            client.stream("GET", "/bytes?n=2000000") as second,
        ):
            for response in (first, second):
                raw = response._stream._raw  # type: ignore[union-attr]
                sizes.append(raw.connection.transport.max_size)
        return sizes

    assert asyncio.run(main()) == [_READ_SIZE, _READ_SIZE]


def test_a_session_given_by_the_user_keeps_its_connector(origin: Origin) -> None:
    import aiohttp

    async def main() -> int:
        async with (
            aiohttp.ClientSession() as session,
            restwell.AsyncClient(origin.url, session=session) as client,
            client.stream("GET", "/bytes?n=2000000") as response,
        ):
            raw = response._stream._raw  # type: ignore[union-attr]
            return int(raw.connection.transport.max_size)

    assert asyncio.run(main()) == 256 * 1024
