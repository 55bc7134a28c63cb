"""Shared values of the client integration tests."""

from __future__ import annotations

import logging
from typing import Any

from restwell import Backoff, Jitter, RetryPolicy

TINY = Backoff(base=0.01, multiplier=1.0, cap=0.01, jitter=Jitter.NONE)
"""A fixed 10 ms backoff: fast, and exact when asserted."""


def fast(max_attempts: int = 4, **options: Any) -> RetryPolicy:
    """A retry policy with the tiny backoff."""
    return RetryPolicy(max_attempts=max_attempts, backoff=TINY, **options)


def extra(record: logging.LogRecord, name: str) -> Any:
    """A structured extra of a log record (``restwell_*``)."""
    return record.__dict__[name]


def half() -> float:
    """A jitter source that always draws 0.5 (full jitter gives half the ceiling)."""
    return 0.5
