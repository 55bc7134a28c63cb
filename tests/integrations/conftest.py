from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def key() -> str:
    """A fresh path key, so the origin's per-key state belongs to this test alone."""
    return uuid.uuid4().hex
