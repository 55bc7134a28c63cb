from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from restwell.testing import FakeClock, set_testing
from tests.drivers import (
    ASYNC_KINDS,
    KINDS,
    SYNC_KINDS,
    AsyncDriver,
    AsyncDriverFactory,
    Driver,
    DriverFactory,
    SyncDriver,
    SyncDriverFactory,
    make_async_driver,
    make_driver,
    make_sync_driver,
)
from tests.origin import Origin, closed_port, running_origin


@pytest.fixture(scope="session")
def origin() -> Iterator[Origin]:
    with running_origin() as server:
        yield server


@pytest.fixture
def no_sleep() -> Iterator[list[float]]:
    """Testing mode: restwell's waits return at once and are recorded."""
    from restwell._flow import testing_state

    set_testing(True)
    try:
        yield testing_state.slept
    finally:
        set_testing(False)


@pytest.fixture
def fake_clock(no_sleep: list[float]) -> FakeClock:
    """Testing mode on a :class:`FakeClock` that each skipped wait moves forward.

    Pass it to clients as ``clock=`` so deadlines, breakers and rate-limit resets see the waits
    as if they had happened; the waits are still recorded in ``no_sleep``.
    """
    clock = FakeClock()
    set_testing(True, clock=clock)
    return clock


@pytest.fixture
def dead_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{closed_port()}"


@pytest.fixture(params=KINDS)
def make_client(request: pytest.FixtureRequest, origin: Origin) -> Iterator[DriverFactory]:
    """Build a client of every kind against the origin (closed at the end of the test).

    ``base_url=`` overrides the origin's URL; other keywords are client options.
    """
    made: list[Driver] = []

    def factory(base_url: str | None = None, **options: Any) -> Driver:
        driver = make_driver(request.param, base_url or origin.url, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()


@pytest.fixture(params=SYNC_KINDS)
def make_sync_client(request: pytest.FixtureRequest, origin: Origin) -> Iterator[SyncDriverFactory]:
    """Like ``make_client``, for the blocking ``Client`` only."""
    made: list[SyncDriver] = []

    def factory(base_url: str | None = None, **options: Any) -> SyncDriver:
        driver = make_sync_driver(request.param, base_url or origin.url, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()


@pytest.fixture(params=ASYNC_KINDS)
def make_async_client(
    request: pytest.FixtureRequest, origin: Origin
) -> Iterator[AsyncDriverFactory]:
    """Like ``make_client``, for ``AsyncClient`` only (fan-out, cancellation)."""
    made: list[AsyncDriver] = []

    def factory(base_url: str | None = None, **options: Any) -> AsyncDriver:
        driver = make_async_driver(request.param, base_url or origin.url, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()
