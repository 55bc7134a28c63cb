"""Targeted cache control (RFC 9213): ``CDN-Cache-Control`` and fields like it.

A cache configured with a target list (``CachePolicy(targeted=("CDN-Cache-Control",))``) reads
the first field of that list that a response carries with a valid, non-empty value, and then
takes its caching policy from that field alone: ``Cache-Control`` and ``Expires`` of that
response are ignored for the cache's own decisions (RFC 9213 §2.1). A targeted field is a
Structured Field Dictionary (RFC 8941 §3.2); one that fails to parse is ignored as if absent,
and the next field of the list (or, at the end, ``Cache-Control``) applies (§2.1). The fields
themselves are stored and forwarded as received: RFC 9213 leaves their removal to the cache's
own configuration, and a cache further on may be a target too.

Pure functions; results are memoised per field value (parsing is a pure function of it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from restwell.policy._cache._directives import MAX_DELTA, CacheControl

__all__ = ["parse_dictionary", "targeted_directives", "to_cache_control"]

_LCALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")
_KEY_FIRST = _LCALPHA | {"*"}
_KEY_REST = _LCALPHA | frozenset("0123456789_-.*")
_DIGITS = frozenset("0123456789")
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN_REST = _TCHAR | {":", "/"}
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class _Token(str):
    """An sf-token, told apart from an sf-string."""

    __slots__ = ()


class _Invalid(Exception):
    pass


Item = int | float | str | bytes | bool | list[object]
"""A bare item, or (for an inner list) the list of its items; parameters are dropped."""


class _Parser:
    """RFC 8941 §4.2 parsing, reduced to what a Dictionary needs (parameters are read, dropped)."""

    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip(self, chars: str) -> None:
        while self.i < len(self.s) and self.s[self.i] in chars:
            self.i += 1

    def key(self) -> str:
        if self.peek() not in _KEY_FIRST or not self.peek():
            raise _Invalid("key")
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _KEY_REST:
            self.i += 1
        return self.s[start : self.i]

    def parameters(self) -> None:
        while self.peek() == ";":
            self.i += 1
            self.skip(" ")
            self.key()
            if self.peek() == "=":
                self.i += 1
                self.bare_item()

    def item_or_inner_list(self) -> Item:
        if self.peek() == "(":
            self.i += 1
            items: list[object] = []
            while True:
                self.skip(" ")
                if self.peek() == ")":
                    self.i += 1
                    self.parameters()
                    return items
                items.append(self.bare_item())
                self.parameters()
                if self.peek() not in (" ", ")"):
                    raise _Invalid("inner list")
        value = self.bare_item()
        self.parameters()
        return value

    def bare_item(self) -> Item:
        c = self.peek()
        if c == "-" or (c and c in _DIGITS):
            return self.number()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        if c and ((c.isascii() and c.isalpha()) or c == "*"):
            return self.token()
        raise _Invalid("bare item")

    def number(self) -> int | float:
        sign = 1
        if self.peek() == "-":
            sign, self.i = -1, self.i + 1
        start, dot = self.i, -1
        while self.peek() and (self.peek() in _DIGITS or (self.peek() == "." and dot < 0)):
            if self.peek() == ".":
                if self.i - start > 12:
                    raise _Invalid("decimal")
                dot = self.i
            self.i += 1
        text = self.s[start : self.i]
        if not text or not text[0].isdigit():
            raise _Invalid("number")
        if dot < 0:
            if len(text) > 15:
                raise _Invalid("integer")
            return sign * int(text)
        fraction = self.i - dot - 1
        if len(text) > 16 or not 1 <= fraction <= 3:
            raise _Invalid("decimal")
        return sign * float(text)

    def string(self) -> str:
        self.i += 1
        out: list[str] = []
        while self.i < len(self.s):
            c = self.s[self.i]
            self.i += 1
            if c == "\\":
                nxt = self.peek()
                if nxt not in ('"', "\\") or not nxt:
                    raise _Invalid("escape")
                out.append(nxt)
                self.i += 1
            elif c == '"':
                return "".join(out)
            elif not " " <= c <= "~":
                raise _Invalid("string character")
            else:
                out.append(c)
        raise _Invalid("unterminated string")

    def token(self) -> str:
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _TOKEN_REST:
            self.i += 1
        return _Token(self.s[start : self.i])

    def byte_sequence(self) -> bytes:
        end = self.s.find(":", self.i + 1)
        if end < 0 or not _BASE64.issuperset(self.s[self.i + 1 : end]):
            raise _Invalid("byte sequence")
        self.i = end + 1
        return b""  # the content is of no use to cache directives

    def boolean(self) -> bool:
        flag = self.s[self.i + 1 : self.i + 2]
        if flag not in ("0", "1"):
            raise _Invalid("boolean")
        self.i += 2
        return flag == "1"


@functools.lru_cache(maxsize=512)
def parse_dictionary(value: str) -> tuple[tuple[str, Item], ...] | None:
    """An RFC 8941 Dictionary as ``(key, value)`` members, or ``None`` when it is not one.

    Keys are lower case by the grammar; a repeated key keeps its last value, in the place of
    the first (§4.2.2). A member without ``=`` is Boolean true. Parameters are parsed (a bad
    one fails the whole field) and then dropped, as RFC 9213 §2.1 ignores them.
    """
    p = _Parser(value.strip(" "))
    members: dict[str, Item] = {}
    if not p.s:
        return ()
    try:
        while True:
            name = p.key()
            if p.peek() == "=":
                p.i += 1
                members[name] = p.item_or_inner_list()
            else:
                members[name] = True
                p.parameters()
            p.skip(" \t")
            if p.i >= len(p.s):
                return tuple(members.items())
            if p.peek() != ",":
                return None
            p.i += 1
            p.skip(" \t")
            if p.i >= len(p.s):
                return None  # a trailing comma
    except _Invalid:
        return None


_FLAGS = {
    "no-store": "no_store",
    "no-transform": "no_transform",
    "must-revalidate": "must_revalidate",
    "proxy-revalidate": "proxy_revalidate",
    "must-understand": "must_understand",
    "public": "public",
    "immutable": "immutable",
}
_SECONDS = {
    "max-age": "max_age",
    "s-maxage": "s_maxage",
    "stale-while-revalidate": "stale_while_revalidate",
    "stale-if-error": "stale_if_error",
}


def _field_names(value: Item) -> frozenset[str] | None:
    # A qualified no-cache / private names fields: a String of comma-separated names, or an
    # Inner List of them; anything else is of the wrong type.
    if isinstance(value, str):
        return frozenset(n.strip().lower() for n in value.split(",") if n.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(str(v).lower() for v in value)
    return None


def to_cache_control(members: Iterable[tuple[str, Item]]) -> CacheControl:
    """The response directives of a targeted field's Dictionary (RFC 9213 §2.1).

    The directives and their meaning are those of ``Cache-Control`` (RFC 9111 §5.2.2,
    RFC 5861); a value of a type the directive does not take (``max-age="60"``, a negative or
    decimal number of seconds, ``public=3``) is not consumed (§2.1: implementations SHOULD NOT
    consume values that violate the inferred constraints), and ``?0`` means the directive is
    absent. Unknown directives are ignored.
    """
    out: dict[str, object] = {}
    no_cache_fields: set[str] = set()
    private_fields: set[str] = set()
    for name, value in members:
        if value is False:
            continue
        if name in _FLAGS:
            if value is True:
                out[_FLAGS[name]] = True
        elif name in _SECONDS:
            if type(value) is int and value >= 0:
                out[_SECONDS[name]] = min(value, MAX_DELTA)
        elif name in ("no-cache", "private"):
            fields = frozenset() if value is True else _field_names(value)
            if fields is None:
                continue
            if name == "no-cache":
                out["no_cache"] = out.get("no_cache", False) or not fields
                no_cache_fields |= fields
            else:
                out["private"] = out.get("private", False) or not fields
                private_fields |= fields
    out["no_cache_fields"] = frozenset(no_cache_fields)
    out["private_fields"] = frozenset(private_fields)
    return CacheControl(**out)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=512)
def _directives_of(value: str) -> CacheControl | None:
    members = parse_dictionary(value)
    if not members:  # invalid, or empty: ignored (RFC 9213 §2.1)
        return None
    return to_cache_control(members)


def targeted_directives(
    get: Callable[[str], str | None], targets: tuple[str, ...]
) -> CacheControl | None:
    """The directives of the first target field with a valid, non-empty value, or ``None``.

    Args:
        get: The response's field lookup by lower-case name (lines joined with ``", "``).
        targets: The cache's target list, lower case, in order of precedence.

    ``None`` means no target field applies: the response's ``Cache-Control`` and ``Expires``
    do, as for any cache (RFC 9213 §2.1).
    """
    for name in targets:
        value = get(name)
        if value is None:
            continue
        found = _directives_of(value)
        if found is not None:
            return found
    return None
