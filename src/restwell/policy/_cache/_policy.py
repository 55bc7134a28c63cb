"""RFC 9111 cache decisions as pure functions of (request, stored responses, response, time).

:class:`CachePolicy` holds the configuration (private or shared cache, heuristics, the opt-in
default TTL) and decides; the caller does the I/O. How a flow drives it::

    key = policy.cache_key(method, url)                      # or the caller's custom key
    entries = [StoredResponse.from_bytes(v) for _, v in storage.get(key)]  # ValueError: skip
    decision = policy.lookup(method, url, request_headers, entries, now)
    FRESH / STALE          -> answer with decision.response (and, when
                              decision.revalidate_in_background, revalidate as below, later)
    ONLY_IF_CACHED_MISS    -> answer 504 Gateway Timeout (§5.2.1.7)
    BYPASS                 -> send the request as it is
    REVALIDATE             -> send it with decision.conditional_headers set (replacing any
                              field of the same name)
    MISS                   -> send it as it is

    after a response (request_time: when sent, response_time: when received):
    transport error, or status 500/502/503/504, with decision.entry set
                           -> policy.stale_on_error(...) answers, or the error goes through
                              (a 504 when the origin is unreachable and the entry has
                              must-revalidate, §5.2.2.2)
    304 to REVALIDATE      -> f = policy.freshen(...); write f.updated, remove f.removed;
                              answer policy.respond(method, request_headers, f.entry, now)
                              (f.entry None: pass the 304 on if the request was conditional
                              itself, else repeat the request without conditional headers)
    200 to HEAD            -> policy.freshen_with_head(...), write / remove the same way
    any response           -> delete policy.invalidation_keys(...), then
                              s = policy.decide_store(...); if s.store:
                              storage.put(s.key, s.entry.variant, s.entry.to_bytes(), s.ttl)

Write an updated entry back with ``storage.put(key, e.variant, e.to_bytes(),
policy.storage_ttl(e, now))``; remove one with ``storage.put(key, e.variant, b"", 0)``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from math import isfinite
from urllib.parse import urljoin

from restwell.policy._cache import _ranges, _targeted
from restwell.policy._cache._directives import (
    MAX_DELTA,
    CacheControl,
    etag_for_request,
    format_http_date,
    parse_cache_control,
    parse_etag,
    parse_http_date,
    split_members,
    strong_match,
    weak_match,
)
from restwell.policy._cache._stored import (
    HOP_BY_HOP_FIELDS,
    FieldIndex,
    StoredResponse,
    draft_of,
    join_lines,
    make_entry,
    scan_fields,
    scan_fields_general,
)
from restwell.policy._cache._uri import normalize_url
from restwell.policy._parse import parse_delta_seconds
from restwell.policy.ratelimit import HeaderLookup
from restwell.policy.redirect import origin_of

__all__ = [
    "ERROR_STATUSES",
    "HEURISTICALLY_CACHEABLE_STATUSES",
    "SAFE_METHODS",
    "UNDERSTOOD_STATUSES",
    "CacheAction",
    "CacheDecision",
    "CachePolicy",
    "CachedResponse",
    "Freshened",
    "StoreDecision",
    "current_age",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""RFC 9110 §9.2.1. Any other method, known or not, invalidates on success (§4.4)."""

HEURISTICALLY_CACHEABLE_STATUSES = frozenset(
    {200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501}
)
"""RFC 9110 §15.1: statuses a cache may store and give a heuristic lifetime (§4.2.2)."""

UNDERSTOOD_STATUSES = frozenset(
    {200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 305, 307, 308}
    | set(range(400, 418))
    | {421, 422, 426, 500, 501, 502, 503, 504, 505}
)
"""Final statuses of RFC 9110 whose caching rules this cache implements (§5.2.2.3).

206 and 304 are absent: partial content is not stored, and a 304 only freshens.
"""

ERROR_STATUSES = frozenset({500, 502, 503, 504})
"""RFC 5861 §4: the statuses ``stale-if-error`` treats as the origin failing."""

_UNSAFE_KNOWN = frozenset({"POST", "PUT", "DELETE", "PATCH", "CONNECT"})
_NOT_MODIFIED_FIELDS = frozenset(
    # RFC 9110 §15.4.5: what a 304 carries of the response it stands for.
    {"cache-control", "content-location", "date", "etag", "expires", "vary"}
)
_PRECONDITIONS = ("if-none-match", "if-modified-since")  # those a 304 can answer
# What nearly every response's Connection says: it names only fields already never stored.
_USUAL_CONNECTION = frozenset({"keep-alive", "close"})


_MAX_DELTA = float(MAX_DELTA)


def _clamp(value: float) -> float:
    """``value`` within ``[0, 2**31]``; NaN reads as 0 (§1.2.2: overflow is taken as 2**31)."""
    if value != value or value <= 0.0:
        return 0.0
    return value if value <= _MAX_DELTA else _MAX_DELTA


def _finite(value: float) -> float:
    if type(value) is float:  # the common case, checked for less
        return value if isfinite(value) else 0.0
    return value if isinstance(value, int | float) and isfinite(value) else 0.0


def _pairs(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    pairs = tuple(headers)
    for pair in pairs:
        # Backends hand over (str, str) tuples already: keep them rather than rebuild each.
        if type(pair) is not tuple or len(pair) != 2 or type(pair[0]) is not str:
            break
        if type(pair[1]) is not str:
            break
    else:
        return pairs
    return tuple((str(name), str(value)) for name, value in pairs)


def _g(seconds: float) -> str:
    return f"{seconds:.6g}s"


def current_age(entry: StoredResponse, now: float) -> float:
    """The stored response's current age in seconds at ``now`` (RFC 9111 §4.2.3).

    ``apparent_age = max(0, response_time - date_value)``;
    ``corrected_age_value = age_value + (response_time - request_time)``;
    ``current_age = max(apparent_age, corrected_age_value) + (now - response_time)``.
    Always finite, within ``[0, 2**31]``.
    """
    return _current_age(entry, _finite(now))


def _current_age(entry: StoredResponse, now: float) -> float:
    # current_age with a finite now. The entry's slots rather than its properties, and no
    # max(): this runs for every response stored and every stored response looked at.
    response_time = entry.response_time
    date = entry._date
    apparent_age = response_time - date if date is not None and date < response_time else 0.0
    response_delay = response_time - entry.request_time
    if response_delay < 0.0:
        response_delay = 0.0
    corrected_age_value = entry._age + response_delay
    corrected_initial_age = (
        corrected_age_value if corrected_age_value > apparent_age else apparent_age
    )
    resident_time = now - response_time
    if resident_time > 0.0:
        corrected_initial_age += resident_time
    return _clamp(corrected_initial_age)


class CacheAction(enum.Enum):
    """What to do with a request, as far as the cache is concerned."""

    FRESH = "fresh"
    """Answer with the stored response (``decision.response``); it is fresh."""
    STALE = "stale"
    """Answer with the stored response although it is stale, as the client (``max-stale``) or
    the origin (``stale-while-revalidate``, ``stale-if-error``) allows; revalidate in the
    background when ``revalidate_in_background`` is set."""
    REVALIDATE = "revalidate"
    """Send the request with ``conditional_headers``; a 304 freshens ``decision.entry``."""
    MISS = "miss"
    """Send the request as it is (``decision.entry``, when set, can still be served if the
    origin fails and ``stale-if-error`` allows)."""
    BYPASS = "bypass"
    """The cache is not involved: send the request as it is (then invalidate on success)."""
    ONLY_IF_CACHED_MISS = "only_if_cached_miss"
    """``only-if-cached`` and nothing servable: answer 504 Gateway Timeout (§5.2.1.7)."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A response the cache answers with, built from a stored one.

    Attributes:
        status: The stored status, or 304 when the request's own ``If-None-Match`` /
            ``If-Modified-Since`` holds for the stored response (§4.3.2).
        headers: The stored headers with ``Age`` replaced by the current age (§4, §5.1); a
            304 carries only the fields RFC 9110 §15.4.5 lists.
        body: The stored content (empty for HEAD and 304).
        age: The ``Age`` value sent, in whole seconds.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    age: int


@dataclass(frozen=True, slots=True)
class CacheDecision:
    """The policy's verdict on a request before anything is sent.

    Attributes:
        action: What to do.
        reason: Why, in a few words with the RFC section, for logs and the response.
        entry: The stored response chosen for the request: served (FRESH, STALE), validated
            (REVALIDATE) or kept in reserve for ``stale-if-error`` (MISS, ONLY_IF_CACHED_MISS).
        response: What to answer with (FRESH, STALE), else ``None``.
        conditional_headers: Fields to set on the request sent to validate ``entry``
            (REVALIDATE, and STALE with ``revalidate_in_background``), replacing any of the
            same name.
        revalidate_in_background: The stale response is served under
            ``stale-while-revalidate``; validate it without making the caller wait.
    """

    action: CacheAction
    reason: str
    entry: StoredResponse | None = None
    response: CachedResponse | None = None
    conditional_headers: tuple[tuple[str, str], ...] = ()
    revalidate_in_background: bool = False

    @property
    def hit(self) -> bool:
        """True when the cache answers (FRESH or STALE) without waiting on the origin."""
        return self.response is not None


@dataclass(frozen=True, slots=True)
class StoreDecision:
    """Whether and how to store a response (RFC 9111 §3).

    Attributes:
        store: Whether to store it.
        reason: Why (not), with the RFC section.
        key: Primary key to store it under (the caller's custom key when given).
        entry: What to store (headers filtered, times set); its ``variant`` is the variant id.
        ttl: Seconds the storage should keep it: the rest of its freshness plus the time it
            stays useful stale (for revalidation, ``max-stale``, ``stale-if-error``).
    """

    store: bool
    reason: str
    key: str | None = None
    entry: StoredResponse | None = None
    ttl: float = 0.0


@dataclass(frozen=True, slots=True)
class Freshened:
    """Stored responses updated by a 304 (§4.3.4) or a 200 to HEAD (§4.3.5).

    Attributes:
        reason: What was updated, or why nothing was.
        entry: The updated response to answer the request with, or ``None`` when the response
            identified none.
        updated: Updated responses to write back (each under its ``variant``).
        removed: Responses to remove (no longer storable, superseded, or contradicted).
    """

    reason: str
    entry: StoredResponse | None = None
    updated: tuple[StoredResponse, ...] = ()
    removed: tuple[StoredResponse, ...] = ()


# The decisions on a request with nothing stored under its key: always the same two.
_NOTHING_STORED = CacheDecision(CacheAction.MISS, "nothing stored")
_NOTHING_STORED_ONLY_IF_CACHED = CacheDecision(
    CacheAction.ONLY_IF_CACHED_MISS, "nothing stored; only-if-cached (§5.2.1.7)"
)
_StoreDecisionDraft = draft_of(StoreDecision)
# "stored: fresh for 60s" and the like, by lifetime: the same few come back again and again.
_FRESH_FOR: dict[float, str] = {}


def _stored(reason: str, key: str, entry: StoredResponse, ttl: float) -> StoreDecision:
    # StoreDecision(True, reason, key, entry, ttl), made for less (see draft_of).
    decision = _StoreDecisionDraft()
    decision.store = True
    decision.reason = reason
    decision.key = key
    decision.entry = entry
    decision.ttl = ttl
    decision.__class__ = StoreDecision
    return decision  # type: ignore[no-any-return]


def _usable_for(method: str, entry: StoredResponse) -> bool:
    # §4: the stored method must allow the presented one. A stored GET answers GET and HEAD
    # (RFC 9110 §9.3.2); so does a POST response kept under RFC 9110 §9.3.3.
    if method in ("GET", "HEAD"):
        return entry.method in ("GET", "POST")
    return entry.method == method


def _not_modified(entry: StoredResponse, request_headers: HeaderLookup, now: float) -> bool:
    """Whether the request's own preconditions make the answer a 304 (§4.3.2).

    ``If-None-Match`` (weak comparison) takes precedence; without it ``If-Modified-Since`` is
    compared with ``Last-Modified``, or ``Date`` when there is none. An invalid date is ignored.
    """
    inm = request_headers.get("if-none-match")
    if inm is not None:
        if inm.strip() == "*":
            return True
        if entry.etag is None:
            return False
        return any(weak_match(tag, entry.etag) for tag in split_members(inm))
    ims = parse_http_date(request_headers.get("if-modified-since"), now)
    if ims is None:
        return False
    modified = entry.last_modified if entry.last_modified is not None else entry.date_value
    return modified <= ims


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How the cache decides (RFC 9111, with RFC 5861's stale extensions), immutable.

    Attributes:
        shared: A shared cache (proxy, CDN, a gateway in front of an origin) honours
            ``s-maxage``, ``proxy-revalidate`` and ``private``, and keeps responses to requests
            with ``Authorization`` only as §3.5 allows. The default is a private cache (one
            user's client).
        default_ttl: Freshness lifetime, in seconds, for responses with no freshness information
            and no ``Last-Modified``, where RFC 9111 allows a heuristic lifetime (a status code
            that is heuristically cacheable, or ``public``). Off (``None``) by default.
        heuristic_fraction: The heuristic lifetime as a fraction of the time since
            ``Last-Modified`` (§4.2.2); 0 turns heuristic freshness off.
        heuristic_max: Cap of a heuristic lifetime, in seconds.
        cacheable_methods: Methods answered from the cache. HEAD is answered from stored GET
            responses; HEAD responses are not stored but freshen them (§4.3.5). Unsafe methods
            cannot be listed: they are always written through (§4).
        stale_if_error: Seconds of staleness allowed when the origin fails, for responses that
            do not say (an out-of-band allowance, §4.2.4); ``None``: only ``stale-if-error``
            directives allow it.
        keep_stale: Seconds a stored response is kept after it became stale, for validation or
            to be served stale where allowed; part of :attr:`StoreDecision.ttl`.
        targeted: The cache's target list of RFC 9213 targeted fields, in order of precedence,
            e.g. ``("CDN-Cache-Control",)`` for a CDN. The first of them a response carries
            with a valid value decides this cache's storing and freshness instead of that
            response's ``Cache-Control`` and ``Expires`` (RFC 9213 §2.1); the fields are kept
            and forwarded as received. Empty (off) by default.
    """

    shared: bool = False
    default_ttl: float | None = None
    heuristic_fraction: float = 0.1
    heuristic_max: float = 86400.0
    cacheable_methods: frozenset[str] = frozenset({"GET", "HEAD"})
    stale_if_error: float | None = None
    keep_stale: float = 86400.0
    targeted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("heuristic_fraction", "heuristic_max", "keep_stale"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        for name in ("default_ttl", "stale_if_error"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int | float) or not math.isfinite(value) or value < 0
            ):
                raise ValueError(f"{name} must be None or a finite number >= 0, not {value!r}")
        if self.heuristic_fraction > 1:
            raise ValueError("heuristic_fraction must be at most 1")
        methods = frozenset(m.upper() for m in self.cacheable_methods)
        unsafe = methods & _UNSAFE_KNOWN
        if unsafe:
            raise ValueError(
                f"{', '.join(sorted(unsafe))} cannot be cacheable: unsafe methods are written "
                "through to the origin (RFC 9111 §4)"
            )
        object.__setattr__(self, "cacheable_methods", methods)
        targets = (self.targeted,) if isinstance(self.targeted, str) else tuple(self.targeted)
        if not all(isinstance(name, str) and name.strip() for name in targets):
            raise ValueError(f"targeted must be field names, not {self.targeted!r}")
        object.__setattr__(self, "targeted", tuple(name.strip().lower() for name in targets))

    def _cc(self, entry: StoredResponse) -> CacheControl:
        # The directives this cache follows for entry: its first valid targeted field's
        # (RFC 9213 §2.1), else its Cache-Control.
        if self.targeted:
            found = _targeted.targeted_directives(entry.header, self.targeted)
            if found is not None:
                return found
        return entry.cache_control

    # ------------------------------------------------------------------ keys (§4.1)

    def cache_key(self, method: str, url: str) -> str:
        """The primary cache key: method and normalised target URI (§4.1).

        GET and HEAD share one key, so a HEAD is answered from the stored GET response.
        Example: ``"GET https://api.example.com/items?page=2"``.
        """
        if method != "GET":  # the usual method needs neither
            method = method.upper()
            if method == "HEAD":
                method = "GET"
        return f"{method} {normalize_url(url)}"

    def select(
        self, method: str, request_headers: HeaderLookup, entries: Iterable[StoredResponse]
    ) -> StoredResponse | None:
        """The stored response to use for a request, or ``None`` (§4, §4.1).

        Among entries whose method allows the request's and whose ``Vary``-named fields match,
        the most recent (by ``Date``, then time of receipt) is chosen.
        """
        method = method.upper()
        best: StoredResponse | None = None
        for entry in entries:
            if not _usable_for(method, entry) or not entry.matches(request_headers):
                continue
            if best is None or entry.recency > best.recency:
                best = entry
        return best

    # ------------------------------------------------------------------ freshness (§4.2)

    def freshness_lifetime(self, entry: StoredResponse) -> float:
        """Seconds the stored response stays fresh (§4.2.1), within ``[0, 2**31]``.

        The first that applies: ``s-maxage`` (shared cache), ``max-age``, ``Expires`` minus
        ``Date`` (an invalid ``Expires`` means already stale), a heuristic (§4.2.2) where
        allowed, :attr:`default_ttl`; otherwise 0. A freshness directive with an invalid value
        counts as 0.
        """
        cc = entry._cc if not self.targeted else self._cc(entry)
        if self.shared and cc.s_maxage is not None:
            return float(cc.s_maxage)
        if cc.max_age is not None:
            return float(cc.max_age)
        # RFC 9213 §2.1: a targeted field in force makes Expires ignored too.
        if entry._has_expires and cc is entry._cc:
            if entry._expires is None:
                return 0.0  # §5.3: an invalid date, "0" included, is in the past
            return _clamp(entry._expires - entry.date_value)
        return self._heuristic_lifetime(entry)

    def _heuristic_lifetime(self, entry: StoredResponse) -> float:
        # §4.2.2: only for heuristically cacheable statuses or responses marked public.
        if entry.status not in HEURISTICALLY_CACHEABLE_STATUSES and not self._cc(entry).public:
            return 0.0
        last_modified = entry._last_modified
        if last_modified is not None and last_modified <= entry.date_value:
            interval = entry.date_value - last_modified
            return _clamp(min(self.heuristic_fraction * interval, self.heuristic_max))
        if self.default_ttl is not None:
            return _clamp(self.default_ttl)
        return 0.0

    def is_fresh(self, entry: StoredResponse, now: float) -> bool:
        """Whether the freshness lifetime exceeds the current age (§4.2)."""
        return self.freshness_lifetime(entry) > current_age(entry, now)

    def _stale_forbidden(self, entry: StoredResponse) -> str | None:
        # §4.2.4: directives that forbid serving a stale response without validation.
        cc = entry._cc if not self.targeted else self._cc(entry)
        if cc.must_revalidate:
            return "must-revalidate (§5.2.2.2)"
        if self.shared and cc.proxy_revalidate:
            return "proxy-revalidate (§5.2.2.8)"
        if self.shared and cc.s_maxage is not None:
            return "s-maxage (§5.2.2.10)"
        return None

    # ------------------------------------------------------------------ requests (§4, §5.2.1)

    @staticmethod
    def request_directives(request_headers: HeaderLookup) -> CacheControl:
        """The request's ``Cache-Control``; without one, ``Pragma: no-cache`` (§5.4)."""
        value = request_headers.get("cache-control")
        if value is not None:
            return parse_cache_control(value)
        pragma = request_headers.get("pragma")
        if pragma and any(m.strip().lower() == "no-cache" for m in split_members(pragma)):
            return CacheControl(no_cache=True)
        return parse_cache_control(None)

    def lookup(
        self,
        method: str,
        url: str,
        request_headers: HeaderLookup,
        entries: Iterable[StoredResponse],
        now: float,
    ) -> CacheDecision:
        """Decide what to do with a request, given the responses stored under its key.

        Args:
            method: Request method.
            url: Absolute target URI.
            request_headers: Request fields; ``get`` is asked with lower-case names.
            entries: The stored responses under the request's key (any order).
            now: Current wall-clock time, epoch seconds.
        """
        method = method.upper()
        if method not in self.cacheable_methods:
            if method in SAFE_METHODS:
                return CacheDecision(CacheAction.BYPASS, f"{method} is not cached")
            return CacheDecision(
                CacheAction.BYPASS,
                f"{method} is unsafe: written through (§4); success invalidates the URI (§4.4)",
            )
        # Only a GET's Range means anything (RFC 9110 §14.2), so only a GET looks for one.
        if method == "GET" and request_headers.get("range") is not None:
            # One byte range is cut from a stored complete response in respond(); what the
            # cache cannot answer itself goes to the origin (RFC 9110 §14.2).
            forwarded = _ranges.forwarded(method, request_headers)
            if forwarded is not None:
                return CacheDecision(CacheAction.BYPASS, forwarded)
        entries = tuple(entries)
        if not entries:
            # The usual miss. Of the request's directives only only-if-cached matters, and
            # only Cache-Control can say it (Pragma means no-cache, §5.4): request_directives
            # without the Pragma lookup.
            value = request_headers.get("cache-control")
            if value is not None and parse_cache_control(value).only_if_cached:
                return _NOTHING_STORED_ONLY_IF_CACHED
            return _NOTHING_STORED
        req = self.request_directives(request_headers)
        entry = self.select(method, request_headers, entries)
        if entry is None:
            why = "no stored response matches the method and Vary (§4.1)"
            if req.only_if_cached:
                return CacheDecision(
                    CacheAction.ONLY_IF_CACHED_MISS, f"{why}; only-if-cached (§5.2.1.7)"
                )
            return CacheDecision(CacheAction.MISS, why)
        now = _finite(now)
        lifetime = self.freshness_lifetime(entry)
        age = _current_age(entry, now)
        cc = entry.cache_control if not self.targeted else self._cc(entry)
        if cc.no_cache:
            return self._validate(entry, request_headers, req, "stored no-cache (§5.2.2.4)")
        if req.no_cache:
            why = (
                "request no-cache (§5.2.1.4)"
                if request_headers.get("cache-control") is not None
                else "Pragma: no-cache (§5.4)"
            )
            return self._validate(entry, request_headers, req, why)
        if lifetime > age:
            if req.max_age is not None and age > req.max_age:
                why = f"age {_g(age)} over request max-age={req.max_age} (§5.2.1.1)"
                return self._validate(entry, request_headers, req, why)
            if req.min_fresh is not None and lifetime - age < req.min_fresh:
                why = f"fresh for {_g(lifetime - age)} only, min-fresh={req.min_fresh} (§5.2.1.3)"
                return self._validate(entry, request_headers, req, why)
            return CacheDecision(
                CacheAction.FRESH,
                f"fresh: age {_g(age)} of {_g(lifetime)} (§4.2)",
                entry,
                self.respond(method, request_headers, entry, now),
            )
        staleness = age - lifetime
        forbidden = self._stale_forbidden(entry)
        if forbidden is not None:
            why = f"stale by {_g(staleness)}; {forbidden} requires validation"
            return self._validate(entry, request_headers, req, why)
        if (
            req.max_stale is not None
            and staleness <= req.max_stale
            and (req.max_age is None or age <= req.max_age)
            and req.min_fresh is None
        ):
            return CacheDecision(
                CacheAction.STALE,
                f"stale by {_g(staleness)}, within request max-stale (§5.2.1.2)",
                entry,
                self.respond(method, request_headers, entry, now),
            )
        swr = cc.stale_while_revalidate
        if swr is not None and staleness <= swr and req.max_age is None and req.min_fresh is None:
            return CacheDecision(
                CacheAction.STALE,
                f"stale by {_g(staleness)}, within stale-while-revalidate={swr}: "
                "revalidate in the background (RFC 5861 §3)",
                entry,
                self.respond(method, request_headers, entry, now),
                self.conditional_headers(entry, request_headers),
                revalidate_in_background=True,
            )
        why = f"stale: age {_g(age)} over lifetime {_g(lifetime)} (§4.2)"
        return self._validate(entry, request_headers, req, why)

    def _validate(
        self,
        entry: StoredResponse,
        request_headers: HeaderLookup,
        req: CacheControl,
        why: str,
    ) -> CacheDecision:
        if req.only_if_cached:
            return CacheDecision(
                CacheAction.ONLY_IF_CACHED_MISS,
                f"{why}; only-if-cached forbids asking the origin (§5.2.1.7)",
                entry,
            )
        conditional = self.conditional_headers(entry, request_headers)
        if conditional:
            names = " and ".join(name for name, _ in conditional)
            return CacheDecision(
                CacheAction.REVALIDATE,
                f"{why}: validate with {names} (§4.3.1)",
                entry,
                conditional_headers=conditional,
            )
        return CacheDecision(CacheAction.MISS, f"{why}; no validator to send (§4.3.1)", entry)

    def conditional_headers(
        self, entry: StoredResponse, request_headers: HeaderLookup
    ) -> tuple[tuple[str, str], ...]:
        """Precondition fields that validate ``entry`` (§4.3.1).

        ``If-None-Match`` carries the stored ``ETag`` (quoted as a precondition requires), after
        any entity-tags of the request's own ``If-None-Match``; ``If-Modified-Since`` carries the
        stored ``Last-Modified`` exactly as received. A request's ``If-None-Match: *`` is left
        alone. Empty when ``entry`` has no validator.
        """
        out: list[tuple[str, str]] = []
        own = request_headers.get("if-none-match")
        if entry.etag is not None and not (own is not None and own.strip() == "*"):
            tags = [etag_for_request(entry.etag)]
            if own:
                for tag in split_members(own):
                    if tag not in tags:
                        tags.append(tag)
            out.append(("If-None-Match", ", ".join(tags)))
        if entry.last_modified is not None:
            lines = entry.header_lines("last-modified")
            if lines:
                out.append(("If-Modified-Since", lines[0].strip()))
        return tuple(out)

    def respond(
        self,
        method: str,
        request_headers: HeaderLookup,
        entry: StoredResponse,
        now: float,
    ) -> CachedResponse:
        """The response to answer a request with from ``entry`` (§4, §4.3.2, §5.1).

        ``Age`` is replaced by the current age; ``Date`` and every other stored field are sent
        as stored. When the request's own ``If-None-Match`` (or, without it,
        ``If-Modified-Since``) holds for a stored 2xx, the answer is a 304. Otherwise a GET's
        single byte ``Range`` is answered from a stored 200 with a 206 (or a 416 when it is
        unsatisfiable), as ``If-Range`` allows (RFC 9110 §14.2, §13.1.5; see ``_ranges``).
        """
        age = int(current_age(entry, now))
        age_field = ("Age", str(age))
        method = method.upper()
        if (
            method in ("GET", "HEAD")
            and 200 <= entry.status < 300
            and _not_modified(entry, request_headers, now)
        ):
            keep = set(_NOT_MODIFIED_FIELDS)
            if entry.etag is None:
                keep.add("last-modified")
            headers = tuple(p for p in entry.headers if p[0].lower() in keep)
            return CachedResponse(304, (*headers, age_field), b"", age)
        headers = tuple(p for p in entry.headers if p[0].lower() != "age")
        if method == "GET" and entry.status == 200 and request_headers.get("range") is not None:
            # RFC 9110 §14.2, §13.1.5: one byte range of the stored representation.
            part = _ranges.cut(request_headers, entry.status, headers, entry.body, now)
            if part is not None:
                return CachedResponse(part.status, (*part.headers, age_field), part.body, age)
        body = b"" if method == "HEAD" else entry.body
        return CachedResponse(entry.status, (*headers, age_field), body, age)

    # ------------------------------------------------------------------ storing (§3)

    def decide_store(
        self,
        method: str,
        url: str,
        request_headers: HeaderLookup,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        body: bytes,
        request_time: float,
        response_time: float,
        *,
        key: str | None = None,
        complete: bool = True,
    ) -> StoreDecision:
        """Whether a response may be stored, and the entry to store (§3).

        Args:
            method: Request method.
            url: Absolute target URI.
            request_headers: Request fields (``Cache-Control``, ``Authorization``, the fields
                ``Vary`` names).
            status: Response status.
            response_headers: Response fields as received, ``(name, value)`` pairs in order.
            body: The response content as it will be served.
            request_time: Epoch seconds when the request was sent.
            response_time: Epoch seconds when the response was received.
            key: The caller's custom primary key, if any.
            complete: False when the body was cut short (§3.3): it is then not stored.
        """
        method = method.upper()
        if type(request_time) is not float or not isfinite(request_time):
            request_time = float(_finite(request_time))
        if type(response_time) is not float or not isfinite(response_time):
            response_time = float(_finite(response_time))
        pairs = tuple(response_headers)
        # One pass over the fields collects all that deciding and the stored entry read.
        scanned = scan_fields(pairs)
        if scanned is None:
            pairs = _pairs(pairs)
            scanned = scan_fields(pairs) or scan_fields_general(pairs)
        found, hop = scanned
        cc = parse_cache_control(join_lines(found.get("cache-control")))
        stored_cc: CacheControl | None = cc
        targeted = (
            _targeted.targeted_directives(FieldIndex(pairs).get, self.targeted)
            if self.targeted
            else None
        )
        if targeted is not None:  # RFC 9213 §2.1: instead of Cache-Control and Expires
            cc = targeted

        if method == "HEAD":
            return StoreDecision(
                False, "HEAD responses are not stored; they freshen stored GETs (§4.3.5)"
            )
        stored_method = method
        # The primary key is computed last, and only without the caller's: normalising the
        # URI again is a good part of what deciding costs.
        if method in self.cacheable_methods:
            key_method = method
        elif method == "POST" and status in (200, 203) and self._post_reusable(url, found, cc):
            key_method = "GET"
        else:
            return StoreDecision(False, f"{method} responses are not stored (§3)")
        if not 200 <= status <= 999:
            return StoreDecision(False, f"{status} is not a final response (§3)")
        if status == 206:
            return StoreDecision(False, "partial content is not stored (§3.3, §3.4)")
        if status == 304:
            return StoreDecision(
                False, "a 304 is not stored; it freshens stored responses (§4.3.4)"
            )
        understood = status in UNDERSTOOD_STATUSES
        if cc.must_understand and not understood:
            return StoreDecision(
                False, f"must-understand and status {status} is not understood (§5.2.2.3)"
            )
        if cc.no_store and not (cc.must_understand and understood):
            return StoreDecision(False, "response no-store (§5.2.2.5)")
        # Of the request's directives only no-store matters here, and only Cache-Control can
        # say it (Pragma means no-cache, §5.4): request_directives without the Pragma lookup.
        request_cc = request_headers.get("cache-control")
        if request_cc is not None and parse_cache_control(request_cc).no_store:
            return StoreDecision(False, "request no-store (§5.2.1.5)")
        if self.shared and cc.private:
            return StoreDecision(False, "private response in a shared cache (§5.2.2.7)")
        if (
            self.shared
            and request_headers.get("authorization") is not None
            and not (cc.public or cc.s_maxage is not None or cc.must_revalidate)
        ):
            return StoreDecision(
                False,
                "request had Authorization; a shared cache needs public, s-maxage or "
                "must-revalidate (§3.5)",
            )
        lines = found.get("vary")
        vary = _vary_members(join_lines(lines)) if lines else []
        if "*" in vary:
            return StoreDecision(False, "Vary: * never matches a later request (§4.1)")
        if not (
            cc.public
            or (cc.private and not self.shared)
            or ("expires" in found and targeted is None)
            or cc.max_age is not None
            or (self.shared and cc.s_maxage is not None)
            or status in HEURISTICALLY_CACHEABLE_STATUSES
        ):
            return StoreDecision(
                False, f"status {status} with no explicit freshness or public is not storable (§3)"
            )
        if not complete or not self._complete(status, found, body):
            return StoreDecision(False, "incomplete response (§3.3)")
        has_date = "date" in found
        unstored = self._unstored(join_lines(found.get("connection")), cc)
        if unstored is HOP_BY_HOP_FIELDS:
            # The usual case: of the fields never stored, only hop-by-hop ones, which the scan
            # has picked out (none of them is one the entry derives anything from).
            headers = pairs
            if hop:
                kept = list(pairs)
                for pair in hop:
                    kept.remove(pair)
                headers = tuple(kept)
        else:
            headers = tuple([p for p in pairs if p[0].lower() not in unstored])
            for name in [name for name in found if name in unstored]:
                del found[name]
            stored_cc = None  # Cache-Control itself may be gone: the entry parses what is left
        if not has_date:
            date = format_http_date(response_time)
            if date is not None:
                headers = (*headers, ("Date", date))  # RFC 9110 §6.6.1
                found["date"] = [date]
        entry = make_entry(
            StoredResponse,
            stored_method,
            url,
            status,
            headers,
            bytes(body),
            request_time,
            response_time,
            tuple([(name, request_headers.get(name)) for name in vary]) if vary else (),
            found,
            stored_cc,
        )
        lifetime = self.freshness_lifetime(entry)
        age = _current_age(entry, response_time)
        ttl = self._ttl(entry, lifetime, age)
        if ttl <= 0:
            return StoreDecision(
                False,
                "never reusable: needs validation (stale or no-cache) but has no validator, "
                "and may not be served stale (§3, §4.2.4)",
            )
        if lifetime > age:
            why = _FRESH_FOR.get(lifetime)
            if why is None:
                why = f"stored: fresh for {_g(lifetime)}"
                if len(_FRESH_FOR) < 1024:
                    _FRESH_FOR[lifetime] = why
        else:
            why = "stored stale: reusable after validation or where stale is allowed"
        primary = key if key is not None else self.cache_key(key_method, url)
        return _stored(why, primary, entry, ttl)

    def _post_reusable(self, url: str, found: dict[str, list[str]], cc: CacheControl) -> bool:
        # RFC 9110 §9.3.3: a POST response with explicit freshness and a Content-Location equal
        # to the target URI may answer a later GET of that URI (only a 200 or 203 is kept: a
        # 201 or 202 describes the POST, not the resource a GET would fetch).
        if "GET" not in self.cacheable_methods:
            return False
        lines = found.get("content-location")
        if lines is None:
            return False
        explicit = (
            cc.max_age is not None
            or "expires" in found
            or (self.shared and cc.s_maxage is not None)
        )
        if not explicit:
            return False
        try:
            target = urljoin(url, lines[0].strip())
        except ValueError:
            return False
        return normalize_url(target) == normalize_url(url)

    @staticmethod
    def _complete(status: int, found: dict[str, list[str]], body: bytes) -> bool:
        # §3.3: a body shorter (or longer) than its Content-Length is incomplete. Skipped when
        # a content coding is present: the body may have been decoded on the way in.
        lines = found.get("content-length")
        if lines is None or status in (204, 304):
            return True
        coding = join_lines(found.get("content-encoding"))
        if coding is not None and coding.strip().lower() not in ("", "identity"):
            return True
        size = len(body)
        if lines[0] == str(size) and size < MAX_DELTA:
            return True  # the usual value, which parse_delta_seconds reads as size, for less
        expected = parse_delta_seconds(lines[0])
        return expected is None or expected == size

    def _storable_fields(
        self, pairs: tuple[tuple[str, str], ...], fields: FieldIndex, cc: CacheControl
    ) -> tuple[tuple[str, str], ...]:
        drop = self._unstored(fields.get("connection"), cc)
        return tuple(p for p in pairs if p[0].lower() not in drop)

    def _unstored(self, connection: str | None, cc: CacheControl) -> frozenset[str]:
        # §3.1: not stored: Connection and the fields it names, other hop-by-hop and
        # proxy-specific fields, fields named by a qualified no-cache (all caches, §5.2.2.4)
        # or a qualified private (shared caches, §5.2.2.7).
        drop: frozenset[str] = HOP_BY_HOP_FIELDS
        if connection and connection.lower() not in _USUAL_CONNECTION:
            named = {name.strip().lower() for name in split_members(connection)}
            if not named <= drop:
                drop = drop | named
        if cc.no_cache_fields:
            drop = drop | cc.no_cache_fields
        if self.shared and cc.private_fields:
            drop = drop | cc.private_fields
        return drop

    def storage_ttl(self, entry: StoredResponse, now: float) -> float:
        """Seconds from ``now`` a storage should keep ``entry`` (0: it is useless, drop it).

        ``freshness lifetime + stale allowance - current age``, where the stale allowance is
        the longest of ``stale-while-revalidate``, ``stale-if-error`` and
        :attr:`stale_if_error` (where serving stale is allowed at all), raised to
        :attr:`keep_stale` when the entry can be validated, or served stale on request
        (``max-stale``). A response that is stale, cannot be validated and may not be served
        stale is useless.
        """
        return self._ttl(entry, self.freshness_lifetime(entry), current_age(entry, now))

    def _ttl(self, entry: StoredResponse, lifetime: float, age: float) -> float:
        # storage_ttl with the lifetime and current age already known (decide_store has both).
        cc = entry._cc if not self.targeted else self._cc(entry)
        has_validator = entry._etag is not None or entry._last_modified is not None
        if cc.no_cache and not has_validator:
            return 0.0  # every use needs a validation it cannot have (§5.2.2.4)
        stale_ok = not cc.no_cache and self._stale_forbidden(entry) is None
        window = 0.0
        swr, sie, own = cc.stale_while_revalidate, cc.stale_if_error, self.stale_if_error
        if stale_ok and (swr is not None or sie is not None or own is not None):
            window = float(max(swr or 0, sie or 0, own or 0))
        extra = window
        if has_validator or (stale_ok and (lifetime > 0 or window > 0)):
            keep = self.keep_stale
            extra = window if window >= keep else keep
        return _clamp(lifetime + extra - age)

    # ------------------------------------------------------------------ validation (§4.3)

    def freshen(
        self,
        method: str,
        request_headers: HeaderLookup,
        response_headers: Iterable[tuple[str, str]],
        entries: Iterable[StoredResponse],
        request_time: float,
        response_time: float,
    ) -> Freshened:
        """Apply a 304 (Not Modified) to the stored responses it validates (§4.3.3, §4.3.4).

        Of the responses that could have been chosen for the request, the first rule that
        applies picks those to update: all with the 304's strong ``ETag``; else the most recent
        matching its weak ``ETag`` / ``Last-Modified``; else, for a 304 without validators, the
        only candidate, provided the request carried none of the client's own preconditions
        (the 304 then answers the cache's). Each is updated as §3.2 says: every field of the 304
        replaces the stored lines of that name, except hop-by-hop fields and Content-Length; a
        stored ``Age`` the 304 does not repeat is dropped, and the times become those of the
        validation, so the age starts again from the 304 (§4.2.3).

        Args:
            method: Method of the request that was validated.
            request_headers: The request as the caller received it, before
                :attr:`CacheDecision.conditional_headers` were added.
            response_headers: Fields of the 304.
            entries: The stored responses under the request's key.
            request_time: When the validation request was sent.
            response_time: When the 304 was received.
        """
        method = method.upper()
        pairs = _pairs(response_headers)
        fields = FieldIndex(pairs)
        candidates = [e for e in entries if _usable_for(method, e) and e.matches(request_headers)]
        if not candidates:
            return Freshened("no stored response could have been chosen (§4.3.4)")
        etag = (fields.first("etag") or "").strip() or None
        last_modified = parse_http_date(fields.first("last-modified"))
        if etag is not None and not parse_etag(etag)[0]:
            chosen = [e for e in candidates if e.etag is not None and strong_match(e.etag, etag)]
            if not chosen:
                return Freshened("the 304's strong ETag matches no stored response (§4.3.4)")
            how = "304 with a matching strong ETag"
        elif etag is not None or last_modified is not None:
            matching = [e for e in candidates if _weakly_matches(e, etag, last_modified)]
            if not matching:
                return Freshened("the 304's validators match no stored response (§4.3.4)")
            chosen = [max(matching, key=lambda e: e.recency)]
            how = "304 with a matching weak validator"
        else:
            if len(candidates) != 1:
                return Freshened(
                    f"a 304 without validators cannot identify one of {len(candidates)} "
                    "stored responses (§4.3.4)"
                )
            only = candidates[0]
            if only.has_validator and any(
                request_headers.get(name) is not None for name in _PRECONDITIONS
            ):
                return Freshened(
                    "a 304 without validators to the client's own conditional request: it may "
                    "validate the client's copy, not the stored one (§4.3.4)"
                )
            chosen = [only]
            how = "304 without validators, one candidate"
        return self._apply_update(chosen, pairs, request_headers, request_time, response_time, how)

    def freshen_with_head(
        self,
        request_headers: HeaderLookup,
        status: int,
        response_headers: Iterable[tuple[str, str]],
        entries: Iterable[StoredResponse],
        request_time: float,
        response_time: float,
    ) -> Freshened:
        """Apply a response to HEAD to the stored GET responses it describes (§4.3.5).

        Only a 200 counts. A stored response whose ``ETag`` / ``Last-Modified`` (those the HEAD
        response carries) and ``Content-Length`` (when the HEAD response has one) agree is
        updated as a 304 would update it (§3.2); one that disagrees is out of date and removed.
        """
        if status != 200:
            return Freshened(f"a {status} to HEAD does not update stored responses (§4.3.5)")
        pairs = _pairs(response_headers)
        fields = FieldIndex(pairs)
        candidates = [e for e in entries if _usable_for("HEAD", e) and e.matches(request_headers)]
        if not candidates:
            return Freshened("no stored GET response to update (§4.3.5)")
        etag = (fields.first("etag") or "").strip() or None
        lm_raw = fields.first("last-modified")
        length = parse_delta_seconds(fields.first("content-length"))
        same: list[StoredResponse] = []
        differ: list[StoredResponse] = []
        for entry in candidates:
            ok = True
            if etag is not None and (
                entry.etag is None or parse_etag(entry.etag) != parse_etag(etag)
            ):
                ok = False
            if lm_raw is not None:
                lines = entry.header_lines("last-modified")
                stored_lm = lines[0] if lines else None
                new_lm = parse_http_date(lm_raw)
                if stored_lm is None or (
                    entry.last_modified != new_lm
                    if new_lm is not None
                    else stored_lm.strip() != lm_raw.strip()
                ):
                    ok = False
            if length is not None:
                stored_length = parse_delta_seconds(entry.header("content-length"))
                if (stored_length if stored_length is not None else len(entry.body)) != length:
                    ok = False
            (same if ok else differ).append(entry)
        result = self._apply_update(
            same, pairs, request_headers, request_time, response_time, "HEAD 200 (§4.3.5)"
        )
        if not differ:
            return result
        return replace(
            result,
            reason=f"{result.reason}; {len(differ)} out of date, removed (§4.3.5)",
            removed=(*result.removed, *differ),
        )

    def _apply_update(
        self,
        chosen: list[StoredResponse],
        pairs: tuple[tuple[str, str], ...],
        request_headers: HeaderLookup,
        request_time: float,
        response_time: float,
        how: str,
    ) -> Freshened:
        if not chosen:
            return Freshened(f"{how}: nothing to update")
        updated: list[StoredResponse] = []
        removed: list[StoredResponse] = []
        served: list[StoredResponse] = []
        for entry in chosen:
            new = self._update(entry, pairs, request_headers, request_time, response_time)
            served.append(new)
            if new.variant != entry.variant:
                removed.append(entry)
            cc = self._cc(new)
            if cc.no_store or (self.shared and cc.private) or "*" in new.vary:
                removed.append(entry)  # no longer storable: serve this once, then forget
            else:
                updated.append(new)
        best = max(served, key=lambda e: e.recency)
        return Freshened(
            f"{how}: {len(chosen)} stored response(s) updated (§3.2, §4.3.4)",
            best,
            tuple(updated),
            tuple(_unique(removed)),
        )

    def _update(
        self,
        entry: StoredResponse,
        pairs: tuple[tuple[str, str], ...],
        request_headers: HeaderLookup,
        request_time: float,
        response_time: float,
    ) -> StoredResponse:
        # §3.2: every field of the new response replaces the stored lines of that name, except
        # the fields §3.1 does not store and Content-Length (the stored content is unchanged).
        fields = FieldIndex(pairs)
        drop = set(HOP_BY_HOP_FIELDS) | {"content-length"}
        connection = fields.get("connection")
        if connection:
            drop.update(name.strip().lower() for name in split_members(connection))
        incoming = [p for p in pairs if p[0].lower() not in drop]
        response_time = _finite(response_time)
        if "date" not in fields:
            date = format_http_date(response_time)
            if date is not None:
                incoming.append(("Date", date))  # RFC 9110 §6.6.1
        replaced = {name.lower() for name, _ in incoming} | {"age"}
        merged = [p for p in entry.headers if p[0].lower() not in replaced] + incoming
        merged_fields = FieldIndex(merged)
        merged_cc = parse_cache_control(merged_fields.get("cache-control"))
        if self.targeted:
            merged_cc = _targeted.targeted_directives(merged_fields.get, self.targeted) or merged_cc
        headers = self._storable_fields(tuple(merged), merged_fields, merged_cc)
        vary = [name for name in _vary_members(merged_fields.get("vary")) if name != "*"]
        return replace(
            entry,
            headers=headers,
            request_time=_finite(request_time),
            response_time=response_time,
            vary_headers=tuple((name, request_headers.get(name)) for name in vary),
        )

    # ------------------------------------------------------------------ invalidation (§4.4)

    def invalidation_keys(
        self,
        method: str,
        url: str,
        status: int,
        response_headers: Iterable[tuple[str, str]],
    ) -> tuple[str, ...]:
        """Primary keys to invalidate after a response (§4.4); empty when there are none.

        An unsafe method (any but GET, HEAD, OPTIONS, TRACE) answered with a 2xx or 3xx
        invalidates its target URI and the ``Location`` and ``Content-Location`` URIs of the
        response when they share its origin. Custom keys are the caller's to invalidate.
        """
        if method.upper() in SAFE_METHODS or not 200 <= status < 400:
            return ()
        fields = FieldIndex(_pairs(response_headers))
        targets = [url]
        own_origin = origin_of(url)
        for name in ("location", "content-location"):
            value = fields.first(name)
            if not value or not value.strip():
                continue
            try:
                target = urljoin(url, value.strip())
            except ValueError:
                continue
            if origin_of(target) == own_origin:
                targets.append(target)
        keys: list[str] = []
        methods = sorted(self.cacheable_methods | {"GET"})
        for target in targets:
            for m in methods:
                k = self.cache_key(m, target)
                if k not in keys:
                    keys.append(k)
        return tuple(keys)

    # ------------------------------------------------------------------ errors (RFC 5861)

    def stale_on_error(
        self,
        method: str,
        request_headers: HeaderLookup,
        entry: StoredResponse | None,
        now: float,
        status: int | None = None,
    ) -> CacheDecision | None:
        """A stored response to answer with because the origin failed, or ``None``.

        The origin failed when it could not be reached (``status=None``) or answered 500, 502,
        503 or 504 (RFC 5861 §4). The stored response may stand in when its staleness is within
        ``stale-if-error`` of the response or of the request, or :attr:`stale_if_error`, and
        nothing forbids serving it stale: ``no-cache``, ``must-revalidate``, and in a shared
        cache ``proxy-revalidate`` and ``s-maxage`` (§4.2.4). When it returns ``None`` for a
        response with ``must-revalidate``, RFC 9111 §5.2.2.2 has the caller answer with an error
        (504) rather than anything stale.
        """
        if entry is None:
            return None
        if status is not None and status not in ERROR_STATUSES:
            return None
        cc = self._cc(entry)
        if cc.no_cache:
            return None
        if self._stale_forbidden(entry) is not None:
            return None
        req = self.request_directives(request_headers)
        allowances = [
            a for a in (cc.stale_if_error, req.stale_if_error, self.stale_if_error) if a is not None
        ]
        if not allowances:
            return None
        allowance = max(allowances)
        staleness = max(0.0, current_age(entry, now) - self.freshness_lifetime(entry))
        if staleness > allowance:
            return None
        failure = "unreachable" if status is None else f"answered {status}"
        return CacheDecision(
            CacheAction.STALE,
            f"origin {failure}; stale by {_g(staleness)}, within stale-if-error={allowance:g} "
            "(RFC 5861 §4)",
            entry,
            self.respond(method, request_headers, entry, now),
        )


def _vary_members(value: str | None) -> list[str]:
    if not value:
        return []
    out: list[str] = []
    for member in split_members(value):
        name = member.strip().lower()
        if name and name not in out:
            out.append(name)
    return out


def _weakly_matches(entry: StoredResponse, etag: str | None, last_modified: float | None) -> bool:
    matched = False
    if etag is not None:
        if entry.etag is None or not weak_match(entry.etag, etag):
            return False
        matched = True
    if last_modified is not None and entry.last_modified is not None:
        if entry.last_modified != last_modified:
            return False
        matched = True
    return matched


def _unique(entries: list[StoredResponse]) -> list[StoredResponse]:
    out: list[StoredResponse] = []
    for entry in entries:
        if not any(entry is seen for seen in out):
            out.append(entry)
    return out
