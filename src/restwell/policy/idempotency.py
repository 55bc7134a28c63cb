"""Idempotency keys: one per logical operation, reused on every retry of it.

A key makes a POST or PATCH safe to repeat only against a server that deduplicates by it
(draft-ietf-httpapi-idempotency-key-header). restwell's reference server does; most servers do
not, so adding keys automatically is an opt-in client option, never a default.
"""

from __future__ import annotations

import uuid

__all__ = ["NEEDS_KEY_METHODS", "new_idempotency_key"]

NEEDS_KEY_METHODS = frozenset({"POST", "PATCH"})
"""Methods that are not idempotent by definition (RFC 9110 §9.2.2) and need a key to retry."""


def new_idempotency_key() -> str:
    """A fresh random key (UUID4, as the draft recommends)."""
    return str(uuid.uuid4())
