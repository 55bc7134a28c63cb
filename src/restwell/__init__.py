"""restwell: REST API clients the way production systems need them.

Pooled connections, a timeout on every call, retries that respect idempotency and
``Retry-After``, rate limits obeyed, a retry budget and a circuit breaker, typed errors; the
same policies for sync and async code, on urllib3 and aiohttp by default.
"""

from importlib.metadata import PackageNotFoundError, version

from restwell import errors
from restwell._models import Headers, Request, Response, RetryRecord, Timeout
from restwell.cache import CacheStorage, MemoryCache, RedisCache, SQLiteCache
from restwell.client import AsyncClient, BlockingCallError, Client, Result
from restwell.errors import (
    CircuitOpenError,
    ConnectError,
    ConnectionDropped,
    ConnectTimeout,
    DeadlineExceeded,
    DecodeError,
    HTTPStatusError,
    RateLimitExceeded,
    ReadTimeout,
    RestwellError,
    TimeoutException,
    TransportError,
)
from restwell.policy import (
    Backoff,
    CircuitBreaker,
    Jitter,
    RateLimitGate,
    RetryBudget,
    RetryPolicy,
)
from restwell.policy.cache import CachePolicy
from restwell.retry import retry

try:
    __version__ = version("restwell")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0"

__all__ = [
    "AsyncClient",
    "Backoff",
    "BlockingCallError",
    "CachePolicy",
    "CacheStorage",
    "CircuitBreaker",
    "CircuitOpenError",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionDropped",
    "DeadlineExceeded",
    "DecodeError",
    "HTTPStatusError",
    "Headers",
    "Jitter",
    "MemoryCache",
    "RateLimitExceeded",
    "RateLimitGate",
    "ReadTimeout",
    "RedisCache",
    "Request",
    "Response",
    "RestwellError",
    "Result",
    "RetryBudget",
    "RetryPolicy",
    "RetryRecord",
    "SQLiteCache",
    "Timeout",
    "TimeoutException",
    "TransportError",
    "__version__",
    "errors",
    "retry",
]
