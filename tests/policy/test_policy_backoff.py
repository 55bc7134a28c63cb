"""Backoff schedules: exact values for every jitter kind under a scripted random source."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from restwell.policy import Backoff, Jitter


class Scripted:
    """A random source that returns a fixed sequence and fails if asked for more."""

    def __init__(self, values: Sequence[float]) -> None:
        self._values = list(values)
        self.calls = 0

    def __call__(self) -> float:
        if self.calls >= len(self._values):
            raise AssertionError("random source called more often than scripted")
        value = self._values[self.calls]
        self.calls += 1
        return value


def no_random() -> float:
    raise AssertionError("this schedule must not consult the random source")


def test_defaults() -> None:
    backoff = Backoff()
    assert (backoff.base, backoff.multiplier, backoff.cap, backoff.jitter) == (
        0.5,
        2.0,
        30.0,
        Jitter.FULL,
    )


def test_no_jitter_exact_exponential_schedule_with_cap() -> None:
    backoff = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.NONE)
    schedule = [backoff.delay(n, no_random) for n in range(1, 10)]
    assert schedule == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_multiplier_three() -> None:
    backoff = Backoff(base=1.0, multiplier=3.0, cap=100.0, jitter=Jitter.NONE)
    assert [backoff.delay(n, no_random) for n in range(1, 7)] == [1.0, 3.0, 9.0, 27.0, 81.0, 100.0]


def test_multiplier_one_is_constant() -> None:
    backoff = Backoff(base=2.0, multiplier=1.0, cap=10.0, jitter=Jitter.NONE)
    assert [backoff.delay(n, no_random) for n in range(1, 5)] == [2.0, 2.0, 2.0, 2.0]


def test_ceiling_ignores_jitter_and_clamps_retry_zero() -> None:
    backoff = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.FULL)
    assert backoff.ceiling(0) == 0.5
    assert backoff.ceiling(1) == 0.5
    assert backoff.ceiling(4) == 4.0
    assert backoff.ceiling(7) == 30.0


def test_huge_retry_number_stays_at_cap() -> None:
    backoff = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.NONE)
    assert backoff.delay(10_000, no_random) == 30.0
    assert backoff.ceiling(65) == 30.0
    assert backoff.ceiling(66) == 30.0


def test_huge_multiplier_does_not_overflow() -> None:
    backoff = Backoff(base=1.0, multiplier=1e6, cap=30.0, jitter=Jitter.NONE)
    assert backoff.delay(60, no_random) == 30.0
    assert backoff.ceiling(64) == 30.0


def test_full_jitter_exact_schedule() -> None:
    backoff = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.FULL)
    random = Scripted([0.5, 0.25, 0.75, 0.0, 0.5])
    schedule = [backoff.delay(n, random) for n in range(1, 6)]
    # ceilings 0.5, 1, 2, 4, 8 scaled by the scripted draws
    assert schedule == [0.25, 0.25, 1.5, 0.0, 4.0]
    assert random.calls == 5


def test_full_jitter_is_capped() -> None:
    backoff = Backoff(base=10.0, multiplier=2.0, cap=5.0, jitter=Jitter.FULL)
    assert backoff.delay(1, Scripted([0.5])) == 2.5
    assert backoff.delay(9, Scripted([0.5])) == 2.5


def test_equal_jitter_exact_schedule() -> None:
    backoff = Backoff(base=0.5, multiplier=2.0, cap=30.0, jitter=Jitter.EQUAL)
    random = Scripted([0.0, 0.5, 0.75, 0.5])
    schedule = [backoff.delay(n, random) for n in range(1, 5)]
    # half the ceiling plus a draw over the other half: 0.25+0, 0.5+0.25, 1+0.75, 2+1
    assert schedule == [0.25, 0.75, 1.75, 3.0]


def test_equal_jitter_never_below_half_and_capped() -> None:
    backoff = Backoff(base=1.0, multiplier=2.0, cap=8.0, jitter=Jitter.EQUAL)
    assert backoff.delay(10, Scripted([0.0])) == 4.0
    assert backoff.delay(10, Scripted([0.5])) == 6.0


def test_decorrelated_grows_from_previous_delay() -> None:
    backoff = Backoff(base=1.0, multiplier=2.0, cap=10.0, jitter=Jitter.DECORRELATED)
    random = Scripted([0.5, 0.5, 0.5, 0.5, 0.75])
    schedule: list[float] = []
    previous = 0.0
    for n in range(1, 6):
        previous = backoff.delay(n, random, previous)
        schedule.append(previous)
    # [1, 3] -> 2; [1, 6] -> 3.5; [1, 10.5] -> 5.75; [1, 17.25] -> 9.125;
    # [1, 27.375] at 0.75 -> 20.78125, capped to 10
    assert schedule == [2.0, 3.5, 5.75, 9.125, 10.0]


def test_decorrelated_depends_on_previous_not_retry_number() -> None:
    backoff = Backoff(base=1.0, multiplier=2.0, cap=100.0, jitter=Jitter.DECORRELATED)
    assert backoff.delay(1, Scripted([0.5]), 2.0) == 3.5
    assert backoff.delay(7, Scripted([0.5]), 2.0) == 3.5
    assert backoff.delay(7, Scripted([0.5]), 4.0) == 6.5


def test_decorrelated_first_retry_uses_base_and_never_goes_below_it() -> None:
    backoff = Backoff(base=1.0, multiplier=2.0, cap=100.0, jitter=Jitter.DECORRELATED)
    assert backoff.delay(1, Scripted([0.0])) == 1.0
    assert backoff.delay(1, Scripted([0.5])) == 2.0
    # a tiny previous delay cannot pull the range below base
    assert backoff.delay(3, Scripted([0.5]), 0.1) == 1.0


def test_decorrelated_cap_below_base() -> None:
    backoff = Backoff(base=5.0, multiplier=2.0, cap=2.0, jitter=Jitter.DECORRELATED)
    assert backoff.delay(1, Scripted([0.0])) == 2.0


def test_zero_base_waits_zero() -> None:
    backoff = Backoff(base=0.0, multiplier=2.0, cap=30.0, jitter=Jitter.NONE)
    assert [backoff.delay(n, no_random) for n in (1, 2, 50, 100)] == [0.0, 0.0, 0.0, 0.0]
    full = Backoff(base=0.0, multiplier=1e9, cap=30.0, jitter=Jitter.FULL)
    assert full.delay(40, lambda: 0.5) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base": -0.1},
        {"cap": -1.0},
        {"multiplier": 0.5},
        {"multiplier": 0.0},
        {"base": math.nan},
        {"cap": math.nan},
        {"multiplier": math.nan},
        {"base": math.inf},
        {"multiplier": math.inf},
        {"cap": math.inf},
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**kwargs)  # type: ignore[arg-type]


def test_backoff_is_frozen() -> None:
    backoff = Backoff()
    with pytest.raises(AttributeError):
        backoff.base = 1.0  # type: ignore[misc]
