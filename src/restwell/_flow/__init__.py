"""Flows and runners (see :mod:`restwell._flow._core`), and the sleepers they use."""

from restwell._flow._config import build_config, coerce_policy
from restwell._flow._core import (
    CALL,
    Clock,
    Close,
    Flow,
    FlowAction,
    FlowConfig,
    RetryHook,
    Send,
    Sleep,
    SystemClock,
    call_flow,
    request_flow,
    run_async,
    run_sync,
)
from restwell._flow._sleep import asleep, sleep, testing_state

__all__ = [
    "CALL",
    "Clock",
    "Close",
    "Flow",
    "FlowAction",
    "FlowConfig",
    "RetryHook",
    "Send",
    "Sleep",
    "SystemClock",
    "asleep",
    "build_config",
    "call_flow",
    "coerce_policy",
    "request_flow",
    "run_async",
    "run_sync",
    "sleep",
    "testing_state",
]
