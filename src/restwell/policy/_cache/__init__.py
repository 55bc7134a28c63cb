"""RFC 9111 HTTP caching, sans I/O; :mod:`restwell.policy.cache` re-exports the public names."""

from restwell.policy._cache._directives import CacheControl, parse_cache_control
from restwell.policy._cache._policy import (
    ERROR_STATUSES,
    HEURISTICALLY_CACHEABLE_STATUSES,
    SAFE_METHODS,
    UNDERSTOOD_STATUSES,
    CacheAction,
    CacheDecision,
    CachedResponse,
    CachePolicy,
    Freshened,
    StoreDecision,
    current_age,
)
from restwell.policy._cache._stored import StoredResponse, normalize_field_value
from restwell.policy._cache._uri import normalize_url

__all__ = [
    "ERROR_STATUSES",
    "HEURISTICALLY_CACHEABLE_STATUSES",
    "SAFE_METHODS",
    "UNDERSTOOD_STATUSES",
    "CacheAction",
    "CacheControl",
    "CacheDecision",
    "CachePolicy",
    "CachedResponse",
    "Freshened",
    "StoreDecision",
    "StoredResponse",
    "current_age",
    "normalize_field_value",
    "normalize_url",
    "parse_cache_control",
]
