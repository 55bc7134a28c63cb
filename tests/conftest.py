from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from restwell.testing import FakeClock, set_testing
from tests.drivers import (
    ASYNC_KINDS,
    KINDS,
    REAL_WAIT_KINDS,
    REASONS,
    SYNC_KINDS,
    AsyncDriver,
    AsyncDriverFactory,
    Driver,
    DriverFactory,
    SyncDriverFactory,
    make_async_driver,
    make_driver,
    make_sync_driver,
    missing_capabilities,
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs(*capabilities): skip for drivers without these capabilities "
        "(tests/drivers.py: CAPABILITIES, REASONS)",
    )
    config.addinivalue_line(
        "markers",
        "real_wait: seconds of real waiting; runs for tests/drivers.py REAL_WAIT_KINDS only",
    )


def skip_unless_capable(request: pytest.FixtureRequest, kind: str) -> None:
    """Skip the test for ``kind`` if it lacks a capability the test's ``needs`` marks ask for."""
    needed = {cap for mark in request.node.iter_markers("needs") for cap in mark.args}
    unknown = needed - set(REASONS)
    assert not unknown, f"unknown capabilities {sorted(unknown)} in needs()"
    missing = missing_capabilities(kind, needed)
    if missing:
        pytest.skip(f"{kind}: " + "; ".join(REASONS[cap] for cap in missing))
    if request.node.get_closest_marker("real_wait") is not None and kind not in REAL_WAIT_KINDS:
        pytest.skip(
            f"{kind}: real waits run for {', '.join(REAL_WAIT_KINDS)} only (one shared flow "
            "does the waiting; the fast variants of this test run for every driver)"
        )


@pytest.fixture(params=KINDS)
def make_client(request: pytest.FixtureRequest, origin: Origin) -> Iterator[DriverFactory]:
    """Build a client of every kind against the origin (closed at the end of the test).

    ``base_url=`` overrides the origin's URL; other keywords are client options.
    """
    skip_unless_capable(request, request.param)
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
    """Like ``make_client``, for the blocking kinds only (clients and integrations)."""
    skip_unless_capable(request, request.param)
    made: list[Driver] = []

    def factory(base_url: str | None = None, **options: Any) -> Driver:
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
    """Like ``make_client``, for ``AsyncClient`` kinds (fan-out, cancellation): tests using it
    are marked ``needs("gather")``, so the async integrations are skipped with the reason."""
    skip_unless_capable(request, request.param)
    made: list[AsyncDriver] = []

    def factory(base_url: str | None = None, **options: Any) -> AsyncDriver:
        driver = make_async_driver(request.param, base_url or origin.url, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()
