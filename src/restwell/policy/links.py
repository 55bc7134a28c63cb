"""``Link`` header parsing (RFC 8288): pagination links for the checker and API clients."""

from __future__ import annotations

from collections.abc import Iterable

from restwell.policy._parse import unquote

__all__ = ["Link", "find_rel", "parse_links"]

Link = tuple[str, dict[str, str]]
"""A link: its target (as written, maybe relative) and its parameters (names lower-cased)."""


def _split(value: str, sep: str) -> list[str]:
    """Split ``value`` on ``sep`` outside ``<...>`` and double quotes."""
    parts: list[str] = []
    current: list[str] = []
    in_uri = in_quote = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif in_quote and char == "\\":
            escaped = True
        elif char == '"' and not in_uri:
            in_quote = not in_quote
        elif char == "<" and not in_quote:
            in_uri = True
        elif char == ">" and not in_quote:
            in_uri = False
        elif char == sep and not in_uri and not in_quote:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_links(values: Iterable[str]) -> list[Link]:
    """Parse ``Link`` field values (RFC 8288 §3); malformed members are ignored.

    Args:
        values: Each ``Link`` field received (repeated fields are separate values).

    Returns:
        ``(target, params)`` pairs in order.
    """
    links: list[Link] = []
    for value in values:
        for member in _split(value, ","):
            member = member.strip()
            if not member.startswith("<") or ">" not in member:
                continue
            target, _, rest = member[1:].partition(">")
            params: dict[str, str] = {}
            for param in _split(rest, ";"):
                name, eq, raw = param.partition("=")
                name = name.strip().lower()
                # RFC 8288 §3.3: only the first occurrence of rel counts.
                if name and name not in params:
                    params[name] = unquote(raw.strip()) if eq else ""
            links.append((target.strip(), params))
    return links


def find_rel(links: Iterable[Link], rel: str) -> str | None:
    """The target of the first link whose ``rel`` lists ``rel`` (case-insensitive)."""
    wanted = rel.lower()
    for target, params in links:
        if wanted in params.get("rel", "").lower().split():
            return target
    return None
