"""Values that prove their own integrity: a torn or misplaced entry is detectable on read.

``header | body | sha256(header + body)[:16] | len(header + body) (4 bytes)`` where the header
names the key and variant the value was written for, so a value served for the wrong key (or a
mix of two writes) fails the check as surely as a truncated one.
"""

from __future__ import annotations

import hashlib
import random

TRAILER = 20


def make(key: str, variant: str, writer: str, seq: int, size: int, rng: random.Random) -> bytes:
    head = f"{key}\0{variant}\0{writer}\0{seq}\0".encode()
    data = head + rng.randbytes(size)
    return data + hashlib.sha256(data).digest()[:16] + len(data).to_bytes(4, "big")


def problem(key: str, variant: str, value: bytes) -> str | None:
    """Why ``value`` is not an intact value written for (key, variant), or None if it is."""
    if len(value) < TRAILER:
        return f"too short ({len(value)} bytes)"
    data, digest, length = value[:-TRAILER], value[-TRAILER:-4], value[-4:]
    if int.from_bytes(length, "big") != len(data):
        return f"length {int.from_bytes(length, 'big')} != {len(data)}"
    if hashlib.sha256(data).digest()[:16] != digest:
        return "checksum mismatch"
    parts = data.split(b"\0", 4)
    if len(parts) < 5 or parts[0] != key.encode() or parts[1] != variant.encode():
        return f"written for another entry: {parts[:2]!r}"
    return None
