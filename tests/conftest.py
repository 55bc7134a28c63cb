from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from restwell.testing import set_testing
from tests.drivers import KINDS, Driver, DriverFactory, make_driver
from tests.origin import Origin, running_origin


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


@pytest.fixture(params=KINDS)
def make_client(request: pytest.FixtureRequest, origin: Origin) -> Iterator[DriverFactory]:
    """Build a client of every kind against the origin (closed at the end of the test)."""
    made: list[Driver] = []

    def factory(**options: Any) -> Driver:
        driver = make_driver(request.param, origin.url, **options)
        made.append(driver)
        return driver

    yield factory
    for driver in made:
        driver.close()
