"""``@retry``: the same retry policy for any function, sync or async.

::

    @restwell.retry(max_attempts=3, backoff_factor=2,
                    retryable_exceptions=(ConnectionError, TimeoutError))
    def fetch_report() -> bytes: ...

restwell's transport errors subclass the builtin ``ConnectionError`` / ``TimeoutError``, so
the default ``retryable_exceptions`` cover them, and ``socket``/``asyncio`` ones alike.
"""

from __future__ import annotations

import functools
import inspect
import random as _random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec, TypeVar, cast

from restwell._flow import (
    CALL,
    FlowAction,
    FlowConfig,
    RetryHook,
    Sleep,
    SystemClock,
    asleep,
    call_flow,
    run_async,
    run_sync,
    sleep,
)
from restwell._flow._core import Clock
from restwell.policy import Backoff, Jitter, RetryPolicy

__all__ = ["retry"]

P = ParamSpec("P")
R = TypeVar("R")


def retry(
    max_attempts: int = 3,
    backoff_factor: float = 0.5,
    retryable_exceptions: type[Exception] | tuple[type[Exception], ...] = (
        ConnectionError,
        TimeoutError,
    ),
    *,
    max_delay: float = 30.0,
    jitter: Jitter = Jitter.FULL,
    deadline: float | None = None,
    retry_if: Callable[[Exception], bool] | None = None,
    on_retry: RetryHook | Iterable[RetryHook] = (),
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
    random: Callable[[], float] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry a function (sync or ``async def``) when it raises a retryable exception.

    Delays grow as ``backoff_factor * 2**(n-1)`` (``n`` = retry number), capped at
    ``max_delay``, with full jitter by default; the total time is bounded by ``deadline``.
    Waits vanish under :func:`restwell.testing.set_testing`.

    Args:
        max_attempts: Calls in all, the first included.
        backoff_factor: Base delay in seconds.
        retryable_exceptions: Exception types worth another call.
        max_delay: Cap of one delay.
        jitter: Randomisation of delays.
        deadline: Total seconds for all calls and waits (``None``: unbounded).
        retry_if: Extra test an exception must also pass to be retried.
        on_retry: Callables ``(request, record)`` called before each wait; ``request.url`` is
            the function's qualified name and ``record`` says attempt, delay and reason.
        policy: A full :class:`RetryPolicy` instead of the arguments above.
        clock: Time sources (tests).
        random: Jitter source (tests).
    """
    chosen = policy or RetryPolicy(
        max_attempts=max_attempts,
        backoff=Backoff(base=backoff_factor, multiplier=2.0, cap=max_delay, jitter=jitter),
        deadline=deadline,
    )
    kinds = retryable_exceptions

    def retry_on(exc: Exception) -> bool:
        return isinstance(exc, kinds) and (retry_if is None or retry_if(exc))

    hooks = (on_retry,) if callable(on_retry) else tuple(on_retry)

    def config() -> FlowConfig:
        return FlowConfig(
            retry=chosen,
            on_retry=hooks,
            clock=clock or SystemClock(),
            random=random or _random.Random().random,
        )

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        name = getattr(fn, "__qualname__", repr(fn))
        if inspect.iscoroutinefunction(fn):
            afn = cast(Callable[P, Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                async def perform(action: FlowAction) -> Any:
                    if action is CALL:
                        return await afn(*args, **kwargs)
                    assert isinstance(action, Sleep)
                    return await asleep(action.seconds)

                return await run_async(call_flow(chosen, retry_on, config(), name), perform)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            def perform(action: FlowAction) -> Any:
                if action is CALL:
                    return fn(*args, **kwargs)
                assert isinstance(action, Sleep)
                return sleep(action.seconds)

            return cast(R, run_sync(call_flow(chosen, retry_on, config(), name), perform))

        return wrapper

    return decorate
