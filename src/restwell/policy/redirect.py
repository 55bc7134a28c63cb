"""Redirect rules (RFC 9110 §15.4), followed by restwell itself for every backend.

Backends never follow redirects, so these rules, and the credential stripping in particular,
hold the same whichever HTTP library is underneath.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from restwell.policy._parse import malformed

__all__ = [
    "REDIRECT_STATUSES",
    "SENSITIVE_HEADERS",
    "OriginCache",
    "Redirect",
    "origin_of",
    "plan_redirect",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
"""Request headers dropped when a redirect leaves the origin (or downgrades to http)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (RFC 6454 origin), lower-cased, default port explicit.

    A URL ``urllib`` cannot split (a stray ``[``, a host that changes under NFKC) has no origin;
    it is returned as it is, so it never equals the origin of a valid URL.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS.get(scheme, 0)}"


class OriginCache:
    """:func:`origin_of` remembered per ``scheme://authority`` prefix (bounded).

    Parsing a URL costs microseconds; a client talks to a handful of origins, so each request
    pays one string search and one dict lookup instead.
    """

    __slots__ = ("_known", "_limit")

    def __init__(self, limit: int = 256) -> None:
        self._known: dict[str, str] = {}
        self._limit = limit

    def __call__(self, url: str) -> str:
        """The origin of the absolute ``url``."""
        start = url.find("://")
        end = url.find("/", start + 3) if start >= 0 else -1
        prefix = url if end < 0 else url[:end]
        origin = self._known.get(prefix)
        if origin is None:
            origin = origin_of(prefix)
            if len(self._known) < self._limit:
                self._known[prefix] = origin
        return origin


@dataclass(frozen=True, slots=True)
class Redirect:
    """How to follow one redirect.

    Attributes:
        method: Method of the next request.
        url: Absolute URL of the next request.
        keep_body: Whether the request body (and its content headers) is sent again.
        strip_credentials: Whether :data:`SENSITIVE_HEADERS` must be removed.
    """

    method: str
    url: str
    keep_body: bool
    strip_credentials: bool


def plan_redirect(method: str, url: str, status: int, location: str | None) -> Redirect | None:
    """The request that follows a redirect response, or ``None`` if it is not one to follow.

    Args:
        method: Method of the request that was redirected.
        url: Absolute URL of that request.
        status: Response status.
        location: The response's ``Location`` header.
    """
    # A field value's surrounding whitespace is not part of it (RFC 9110 §5.5).
    location = location.strip() if location else None
    if status not in REDIRECT_STATUSES or not location:
        return None
    try:
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme.lower()
    except ValueError:  # e.g. "http://[::1" or a host that changes under NFKC
        malformed("Location", location)
        return None
    if scheme not in _DEFAULT_PORTS:
        return None
    new_method = method
    # §15.4.4: 303 turns everything but HEAD into GET; §15.4.2/§15.4.3: user agents
    # historically turn POST into GET on 301/302, and clients rely on that.
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        new_method = "GET"
    keep_body = new_method == method
    strip = origin_of(url) != origin_of(target)
    return Redirect(new_method, target, keep_body, strip)
