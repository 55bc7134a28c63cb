"""The envelope around values kept outside the process (SQLite, Redis).

``MAGIC (4 bytes) | CRC-32 of the value (4 bytes, big-endian) | value``. Transactions and Lua
scripts already keep writes whole; the envelope is what lets a reader tell a value this module
wrote from anything else found under the same name (another program's data, a damaged file, an
older format) and turn it into a miss instead of handing garbage to the policy.
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = ["HEADER_BYTES", "decode", "encode", "why_undecodable"]

# The last byte is the format version: a new layout gets a new magic, and old values read as
# undecodable misses rather than being misparsed.
MAGIC: Final = b"rwc\x01"
HEADER_BYTES: Final = 8


def encode(value: bytes) -> bytes:
    """``value`` wrapped in the envelope."""
    return MAGIC + zlib.crc32(value).to_bytes(4, "big") + value


def decode(blob: object) -> bytes | None:
    """The value inside ``blob``, or ``None`` when ``blob`` is not an intact envelope."""
    if not isinstance(blob, bytes) or len(blob) < HEADER_BYTES or blob[:4] != MAGIC:
        return None
    value = blob[HEADER_BYTES:]
    if zlib.crc32(value) != int.from_bytes(blob[4:HEADER_BYTES], "big"):
        return None
    return value


def why_undecodable(blob: object) -> str:
    """A short reason for a log line, for a ``blob`` that :func:`decode` rejected."""
    if not isinstance(blob, bytes):
        return f"stored as {type(blob).__name__}, not bytes"
    if len(blob) < HEADER_BYTES or blob[:4] != MAGIC:
        return "not a restwell cache value"
    return "checksum mismatch"
