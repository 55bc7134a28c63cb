"""The sans-I/O core: every decision restwell makes, as pure functions and small state machines.

Standard library only; no sockets, no clocks, no global randomness. Time and random sources are
arguments, so every rule here is tested exactly, and the same decisions drive the sync client,
the async client, every backend and every integration.
"""

from restwell.policy.backoff import Backoff, Jitter
from restwell.policy.breaker import BreakerState, CircuitBreaker
from restwell.policy.budget import BudgetState, MemoryBudgetState, RetryBudget
from restwell.policy.cache import (
    CacheAction,
    CacheControl,
    CacheDecision,
    CachedResponse,
    CachePolicy,
    Freshened,
    StoreDecision,
    StoredResponse,
    current_age,
    parse_cache_control,
)
from restwell.policy.idempotency import NEEDS_KEY_METHODS, new_idempotency_key
from restwell.policy.ratelimit import (
    HeaderLookup,
    RateLimitGate,
    RateLimitInfo,
    is_rate_limited,
    rate_limit_wait,
    read_rate_limit,
    read_retry_after,
)
from restwell.policy.redirect import (
    REDIRECT_STATUSES,
    SENSITIVE_HEADERS,
    OriginCache,
    Redirect,
    origin_of,
    plan_redirect,
)
from restwell.policy.retry import (
    IDEMPOTENT_METHODS,
    Action,
    ErrorKind,
    RetryDecision,
    RetryPolicy,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "NEEDS_KEY_METHODS",
    "REDIRECT_STATUSES",
    "SENSITIVE_HEADERS",
    "Action",
    "Backoff",
    "BreakerState",
    "BudgetState",
    "CacheAction",
    "CacheControl",
    "CacheDecision",
    "CachePolicy",
    "CachedResponse",
    "CircuitBreaker",
    "ErrorKind",
    "Freshened",
    "HeaderLookup",
    "Jitter",
    "MemoryBudgetState",
    "OriginCache",
    "RateLimitGate",
    "RateLimitInfo",
    "Redirect",
    "RetryBudget",
    "RetryDecision",
    "RetryPolicy",
    "StoreDecision",
    "StoredResponse",
    "current_age",
    "is_rate_limited",
    "new_idempotency_key",
    "origin_of",
    "parse_cache_control",
    "plan_redirect",
    "rate_limit_wait",
    "read_rate_limit",
    "read_retry_after",
]
