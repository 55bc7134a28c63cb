"""Validating what a user gives the checker: the URL, a sample body, extra headers."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

__all__ = ["parse_body", "parse_header", "validate_url"]

# RFC 9110 §5.1: field-name = token; §5.5: no CR, LF or NUL in a value.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


def validate_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL with a host (and a valid port).

    Raises:
        ValueError: Saying what is wrong with it.
    """
    if not url or any(ch.isspace() for ch in url):
        raise ValueError(f"invalid URL {url!r}: it must not be empty or contain spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"invalid URL {url!r}: it must start with http:// or https://")
    if not parts.hostname:
        raise ValueError(f"invalid URL {url!r}: it has no host")
    return url


def parse_header(text: str) -> tuple[str, str]:
    """Parse ``"Name: value"`` into ``(name, value)``.

    Raises:
        ValueError: Not of that form, or not a valid header.
    """
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _TOKEN.match(name):
        raise ValueError(f"invalid header {text!r}: use 'Name: value'")
    if _BAD_VALUE.search(value):
        raise ValueError(f"invalid header {name!r}: the value contains a line break or NUL")
    return name, value


def parse_body(text: str) -> dict[str, Any]:
    """Parse a sample body: a JSON object.

    Raises:
        ValueError: Not JSON, or JSON but not an object.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the body must be a JSON object, got {type(value).__name__}")
    return value
