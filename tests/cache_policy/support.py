"""Shared helpers for the cache policy tests: a fixed clock and short ways to store and look up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.utils import formatdate

from restwell.policy.cache import CacheDecision, CachePolicy, StoreDecision, StoredResponse

T0 = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
URL = "https://api.example.com/items/1"
KEY = "GET https://api.example.com/items/1"

PRIVATE = CachePolicy()
SHARED = CachePolicy(shared=True)

Headers = Sequence[tuple[str, str]]


def http_date(offset: float = 0.0) -> str:
    """The IMF-fixdate ``offset`` seconds after T0 (formatted independently of the policy)."""
    return formatdate(T0 + offset, usegmt=True)


def decide(
    headers: Headers,
    *,
    policy: CachePolicy = PRIVATE,
    status: int = 200,
    body: bytes = b"body",
    request: Mapping[str, str] | None = None,
    method: str = "GET",
    url: str = URL,
    sent: float = T0,
    received: float = T0,
) -> StoreDecision:
    return policy.decide_store(
        method, url, dict(request or {}), status, headers, body, sent, received
    )


def store(
    headers: Headers,
    *,
    policy: CachePolicy = PRIVATE,
    status: int = 200,
    body: bytes = b"body",
    request: Mapping[str, str] | None = None,
    method: str = "GET",
    url: str = URL,
    sent: float = T0,
    received: float = T0,
) -> StoredResponse:
    """Store a response through the policy and return the entry (the test fails if refused)."""
    decision = decide(
        headers,
        policy=policy,
        status=status,
        body=body,
        request=request,
        method=method,
        url=url,
        sent=sent,
        received=received,
    )
    assert decision.store, decision.reason
    assert decision.entry is not None
    return decision.entry


def entry(
    headers: Headers,
    *,
    status: int = 200,
    body: bytes = b"body",
    sent: float = T0,
    received: float = T0,
    vary: Sequence[tuple[str, str | None]] = (),
    method: str = "GET",
) -> StoredResponse:
    """A stored response made directly, headers exactly as given."""
    return StoredResponse(
        method=method,
        url=URL,
        status=status,
        headers=tuple(headers),
        body=body,
        request_time=sent,
        response_time=received,
        vary_headers=tuple(vary),
    )


def lookup(
    entries: Sequence[StoredResponse] | StoredResponse,
    now: float,
    *,
    policy: CachePolicy = PRIVATE,
    request: Mapping[str, str] | None = None,
    method: str = "GET",
    url: str = URL,
) -> CacheDecision:
    if isinstance(entries, StoredResponse):
        entries = [entries]
    return policy.lookup(method, url, dict(request or {}), entries, now)


def header(headers: Headers, name: str) -> list[str]:
    """Every value of field ``name`` (case-insensitive) in ``headers``."""
    return [v for n, v in headers if n.lower() == name.lower()]
