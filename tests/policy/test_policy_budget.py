"""RetryBudget: gRPC-style retry throttling over a pluggable token store."""

from __future__ import annotations

import threading

import pytest

from restwell.policy import BudgetState, MemoryBudgetState, RetryBudget


def test_defaults_start_full() -> None:
    budget = RetryBudget()
    assert (budget.max_tokens, budget.token_ratio) == (100.0, 0.2)
    assert budget.tokens == 100.0
    assert budget.can_retry()
    assert isinstance(budget.state, MemoryBudgetState)


def test_retries_stop_at_half_the_bucket() -> None:
    budget = RetryBudget(max_tokens=10.0, token_ratio=0.1)
    allowed: list[bool] = []
    for _ in range(6):
        budget.record_failure()
        allowed.append(budget.can_retry())
    # 9, 8, 7, 6 are above half; 5 is not (retries need strictly more than half)
    assert allowed == [True, True, True, True, False, False]
    assert budget.tokens == 4.0


def test_successes_refill_by_token_ratio() -> None:
    budget = RetryBudget(max_tokens=4.0, token_ratio=0.25)
    budget.record_failure()
    budget.record_failure()
    assert budget.tokens == 2.0
    assert not budget.can_retry()
    budget.record_success()
    assert budget.tokens == 2.25
    assert budget.can_retry()
    budget.record_success()
    assert budget.tokens == 2.5


def test_ratio_of_a_tenth_ten_successes_buy_one_retry() -> None:
    budget = RetryBudget(max_tokens=10.0, token_ratio=0.1)
    for _ in range(5):
        budget.record_failure()
    assert not budget.can_retry()
    budget.record_success()
    assert budget.tokens == pytest.approx(5.1, abs=1e-12)
    assert budget.can_retry()
    budget.record_failure()
    assert not budget.can_retry()
    for _ in range(10):
        budget.record_success()
    assert budget.tokens == pytest.approx(5.1, abs=1e-9)
    assert budget.can_retry()


def test_tokens_clamp_at_zero() -> None:
    budget = RetryBudget(max_tokens=4.0, token_ratio=0.5)
    for _ in range(20):
        budget.record_failure()
    assert budget.tokens == 0.0
    budget.record_success()
    assert budget.tokens == 0.5


def test_tokens_clamp_at_max() -> None:
    budget = RetryBudget(max_tokens=4.0, token_ratio=0.75)
    budget.record_success()
    assert budget.tokens == 4.0
    budget.record_failure()
    assert budget.tokens == 3.0
    budget.record_success()
    assert budget.tokens == 3.75
    budget.record_success()
    assert budget.tokens == 4.0  # not 4.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_tokens": 0.0},
        {"max_tokens": -1.0},
        {"token_ratio": 0.0},
        {"token_ratio": -0.1},
    ],
)
def test_invalid_budget_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="retry budget needs"):
        RetryBudget(**kwargs)  # type: ignore[arg-type]


class RecordingState:
    """A BudgetState standing in for a shared store; logs every call."""

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens
        self.calls: list[tuple[str, float, float, float]] = []

    def add(self, delta: float, low: float, high: float) -> float:
        self.calls.append(("add", delta, low, high))
        self.tokens = min(high, max(low, self.tokens + delta))
        return self.tokens

    def get(self) -> float:
        return self.tokens


def test_custom_state_is_used() -> None:
    state = RecordingState(7.0)
    store: BudgetState = state
    budget = RetryBudget(max_tokens=10.0, token_ratio=0.5, state=store)
    assert budget.state is state
    assert budget.tokens == 7.0  # the store's count, not a fresh full bucket
    budget.record_failure()
    budget.record_failure()
    assert state.tokens == 5.0
    assert not budget.can_retry()
    budget.record_success()
    assert state.tokens == 5.5
    assert state.calls == [
        ("add", -1.0, 0.0, 10.0),
        ("add", -1.0, 0.0, 10.0),
        ("add", 0.5, 0.0, 10.0),
    ]


def test_success_at_full_bucket_does_not_touch_the_store() -> None:
    state = RecordingState(10.0)
    budget = RetryBudget(max_tokens=10.0, token_ratio=0.5, state=state)
    budget.record_success()
    assert state.calls == []


def test_budgets_sharing_a_state_share_tokens() -> None:
    shared = MemoryBudgetState(10.0)
    first = RetryBudget(state=shared)
    second = RetryBudget(state=shared)
    for _ in range(3):
        first.record_failure()
    for _ in range(2):
        second.record_failure()
    assert first.tokens == second.tokens == 5.0
    assert not first.can_retry()
    assert not second.can_retry()


def test_memory_state_add_clamps_and_returns() -> None:
    state = MemoryBudgetState(3.0)
    assert state.add(5.0, 0.0, 4.0) == 4.0
    assert state.add(-10.0, 0.0, 4.0) == 0.0
    assert state.add(1.5, 0.0, 4.0) == 1.5
    assert state.get() == 1.5


def test_memory_state_is_atomic_under_threads() -> None:
    state = MemoryBudgetState(0.0)

    def worker() -> None:
        for _ in range(1000):
            state.add(1.0, 0.0, 1e9)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state.get() == 8000.0
