"""The target URI as a cache key compares it (RFC 9111 §4.1, RFC 9110 §4.2.3, RFC 3986 §6)."""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

__all__ = ["normalize_url"]

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _percent(match: re.Match[str]) -> str:
    # RFC 3986 §6.2.2.1-2: hex digits in upper case; unreserved characters decoded.
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 §5.2.4.
    if "." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


# An http(s) URL already in normal form: lower-case scheme and host name, no port or a
# non-default one without leading zeros, a path none of whose segments starts with "." (no dot
# segments), an optional non-empty query, and nothing normalisation would change (no
# percent-encoding, fragment, whitespace, non-ASCII, brackets or backslash). A client sends
# mostly such URLs, each query its own (?page=2, ?n=17): they skip the parse and the memo below,
# which unique URLs would only churn. One match decides, as cheaply as a look at the URL can.
_PLAIN = re.compile(
    r"(?:http://[a-z0-9.\-]+(?::(?!80/)[1-9][0-9]{0,4})?"
    r"|https://[a-z0-9.\-]+(?::(?!443/)[1-9][0-9]{0,4})?)"
    r"(?:/(?!\.)[!$&-.0-;=@-Z^_a-z|~]*)+"
    r"(?:\?[!$&-/0-;=?-Z^_a-z|~]+)?"
).fullmatch


def normalize_url(url: str) -> str:
    """``url`` normalised so equivalent URIs give one cache key; never raises.

    Scheme and host are lower-cased, a default port is dropped, an empty path becomes ``/``
    (RFC 9110 §4.2.3), percent-encodings are upper-cased and unreserved characters decoded, dot
    segments are removed (RFC 3986 §6.2.2) and the fragment, never sent to a server, is
    dropped. The query is kept as it is otherwise: different queries are different resources.
    A URL ``urllib`` cannot split is returned unchanged.
    """
    if type(url) is str and _PLAIN(url) is not None:
        return url
    return _normalize(url)


@functools.lru_cache(maxsize=4096)
def _normalize(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):
        end = hostport.find("]")
        host, rest = (hostport, "") if end < 0 else (hostport[: end + 1], hostport[end + 1 :])
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower()
    if port.isdigit() and port.isascii():
        port = str(int(port))
    if port == _DEFAULT_PORTS.get(scheme):
        port = ""
    netloc = f"{userinfo}{at}{host}{':' + port if port else ''}"
    path = _remove_dot_segments(_PERCENT.sub(_percent, parts.path))
    if not path and netloc and scheme in _DEFAULT_PORTS:
        path = "/"
    query = _PERCENT.sub(_percent, parts.query)
    prefix = f"{scheme}:" if scheme else ""
    authority = f"//{netloc}" if netloc or scheme in _DEFAULT_PORTS else ""
    return f"{prefix}{authority}{path}{'?' + query if query else ''}"
