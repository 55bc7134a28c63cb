"""Idempotency keys."""

from __future__ import annotations

import re
import uuid

from restwell.policy import NEEDS_KEY_METHODS, new_idempotency_key

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_key_is_a_uuid4_string() -> None:
    key = new_idempotency_key()
    assert isinstance(key, str)
    assert UUID4.fullmatch(key)
    parsed = uuid.UUID(key)
    assert parsed.version == 4
    assert str(parsed) == key


def test_keys_are_distinct() -> None:
    keys = {new_idempotency_key() for _ in range(1000)}
    assert len(keys) == 1000


def test_needs_key_methods() -> None:
    assert frozenset({"POST", "PATCH"}) == NEEDS_KEY_METHODS
