"""RFC 9111 HTTP caching as pure decisions: what to store, when to reuse, how to validate.

Standard library only, no clock: every function takes the time it needs. The rules and the
flow that drives them are described in :mod:`restwell.policy._cache._policy`; in short,
:meth:`CachePolicy.lookup` decides before a request is sent, :meth:`CachePolicy.decide_store`,
:meth:`CachePolicy.freshen` (304), :meth:`CachePolicy.freshen_with_head`,
:meth:`CachePolicy.invalidation_keys` and :meth:`CachePolicy.stale_on_error` after, and
:class:`StoredResponse` is what storages keep (``to_bytes`` / ``from_bytes``).
"""

from restwell.policy._cache import (
    ERROR_STATUSES,
    HEURISTICALLY_CACHEABLE_STATUSES,
    SAFE_METHODS,
    UNDERSTOOD_STATUSES,
    CacheAction,
    CacheControl,
    CacheDecision,
    CachedResponse,
    CachePolicy,
    Freshened,
    StoreDecision,
    StoredResponse,
    current_age,
    normalize_field_value,
    normalize_url,
    parse_cache_control,
)

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
