"""The policy driven end to end, as a client flow would drive it, over a dict and a fake origin.

Each scenario is one of the public cache-tests (https://cache-tests.fyi) shapes, named in its
docstring; the clock is a float and the origin a scripted function, so nothing sleeps and
nothing leaves the process. The driver below follows the recipe in the policy's module
docstring and is the reference for wiring the policy into the real flows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest

from restwell.policy.cache import (
    ERROR_STATUSES,
    CacheAction,
    CacheDecision,
    CachePolicy,
    Freshened,
    StoredResponse,
)
from tests.cache_policy.support import T0, URL, header, http_date

Pairs = list[tuple[str, str]]
Reply = tuple[int, Pairs, bytes]


@dataclass
class Origin:
    """Answers with the scripted replies in order and records what it was sent."""

    replies: list[Reply | type[OSError]]
    received: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __call__(self, method: str, url: str, headers: Mapping[str, str]) -> Reply:
        self.received.append((method, url, dict(headers)))
        reply = self.replies.pop(0)
        if isinstance(reply, type):
            raise reply("origin unreachable")
        return reply


@dataclass
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    how: str


@dataclass
class Harness:
    """A cache: the policy over a dict of ``key -> variant -> (bytes, expiry)``."""

    policy: CachePolicy = field(default_factory=CachePolicy)
    storage: dict[str, dict[str, tuple[bytes, float]]] = field(default_factory=dict)
    background: list[Callable[[], None]] = field(default_factory=list)

    def entries(self, key: str, now: float) -> list[StoredResponse]:
        return [
            StoredResponse.from_bytes(value)
            for value, expires in self.storage.get(key, {}).values()
            if expires > now
        ]

    def put(self, key: str, entry: StoredResponse, ttl: float, now: float) -> None:
        if ttl > 0:
            self.storage.setdefault(key, {})[entry.variant] = (entry.to_bytes(), now + ttl)
        else:
            self.storage.get(key, {}).pop(entry.variant, None)

    def apply(self, key: str, result: Freshened, now: float) -> None:
        for entry in result.removed:
            self.put(key, entry, 0, now)
        for entry in result.updated:
            self.put(key, entry, self.policy.storage_ttl(entry, now), now)

    def fetch(
        self,
        origin: Origin,
        now: float,
        method: str = "GET",
        url: str = URL,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        request = dict(headers or {})
        key = self.policy.cache_key(method, url)
        entries = self.entries(key, now)
        decision = self.policy.lookup(method, url, request, entries, now)
        if decision.response is not None:
            if decision.revalidate_in_background:

                def revalidate() -> None:
                    self._forward(origin, now, method, url, request, key, decision)

                self.background.append(revalidate)
            r = decision.response
            return Answer(r.status, r.headers, r.body, decision.action.value)
        if decision.action is CacheAction.ONLY_IF_CACHED_MISS:
            return Answer(504, (), b"", decision.action.value)
        return self._forward(origin, now, method, url, request, key, decision)

    def _forward(
        self,
        origin: Origin,
        now: float,
        method: str,
        url: str,
        request: dict[str, str],
        key: str,
        decision: CacheDecision,
    ) -> Answer:
        outgoing = dict(request)
        for name, value in decision.conditional_headers:
            outgoing[name.lower()] = value
        try:
            status, headers, body = origin(method, url, outgoing)
        except OSError:
            stale = self.policy.stale_on_error(method, request, decision.entry, now)
            if stale is not None and stale.response is not None:
                return Answer(
                    stale.response.status,
                    stale.response.headers,
                    stale.response.body,
                    "stale-if-error",
                )
            raise
        if status in ERROR_STATUSES:
            stale = self.policy.stale_on_error(method, request, decision.entry, now, status)
            if stale is not None and stale.response is not None:
                r = stale.response
                return Answer(r.status, r.headers, r.body, "stale-if-error")
        if status == 304 and decision.conditional_headers:
            entries = self.entries(key, now)
            result = self.policy.freshen(method, request, headers, entries, now, now)
            self.apply(key, result, now)
            if result.entry is not None:
                r = self.policy.respond(method, request, result.entry, now)
                return Answer(r.status, r.headers, r.body, "revalidated")
            return Answer(status, tuple(headers), body, "304 passed on")
        for stale_key in self.policy.invalidation_keys(method, url, status, headers):
            self.storage.pop(stale_key, None)
        if method == "HEAD":
            result = self.policy.freshen_with_head(
                request, status, headers, self.entries(key, now), now, now
            )
            self.apply(key, result, now)
        stored = self.policy.decide_store(method, url, request, status, headers, body, now, now)
        if stored.store and stored.entry is not None and stored.key is not None:
            self.put(stored.key, stored.entry, stored.ttl, now)
        return Answer(status, tuple(headers), body, "miss")


def ok(*headers: tuple[str, str], body: bytes = b"body", status: int = 200) -> Reply:
    return (status, [("Date", http_date()), *headers], body)


def test_flow_fresh_hit_carries_age_and_stored_date() -> None:
    """cache-tests other-age-gen, other-date-update."""
    cache, origin = Harness(), Origin([ok(("Cache-Control", "max-age=600"))])
    assert cache.fetch(origin, T0).how == "miss"
    hit = cache.fetch(origin, T0 + 3)
    assert hit.how == "fresh"
    assert header(hit.headers, "Age") == ["3"]
    assert header(hit.headers, "Date") == [http_date()]
    assert len(origin.received) == 1


def test_flow_older_response_survives_a_newer_no_store_one() -> None:
    """cache-tests cc-resp-no-store-old-new."""
    cache = Harness()
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=10000"), ("A", "1")),
            ok(("Cache-Control", "no-store"), ("A", "2")),
        ]
    )
    cache.fetch(origin, T0)
    assert cache.fetch(origin, T0 + 1, headers={"cache-control": "no-cache"}).how == "miss"
    third = cache.fetch(origin, T0 + 2)
    assert third.how == "fresh"
    assert header(third.headers, "A") == ["1"]


def test_flow_variants_coexist() -> None:
    """cache-tests vary-invalidate."""
    cache = Harness()
    vary = [("Cache-Control", "max-age=5000"), ("Vary", "Foo")]
    origin = Origin([ok(*vary, body=b"foo_1"), ok(*vary, body=b"foo_2")])
    cache.fetch(origin, T0, headers={"foo": "1"})
    assert cache.fetch(origin, T0 + 1, headers={"foo": "2"}).how == "miss"
    again = cache.fetch(origin, T0 + 2, headers={"foo": "1"})
    assert (again.how, again.body) == ("fresh", b"foo_1")
    other = cache.fetch(origin, T0 + 2, headers={"foo": "2"})
    assert (other.how, other.body) == ("fresh", b"foo_2")


def test_flow_304_updates_the_returned_and_the_stored_response() -> None:
    """cache-tests 304-etag-update-response-*, 304-etag-update-stored-*."""
    cache = Harness()
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=1"), ("ETag", '"e1"'), ("Test-Header", "A")),
            (304, [("Cache-Control", "max-age=3600"), ("ETag", '"e1"'), ("Test-Header", "B")], b""),
        ]
    )
    cache.fetch(origin, T0)
    validated = cache.fetch(origin, T0 + 5)
    assert origin.received[1][2] == {"if-none-match": '"e1"'}
    assert (validated.how, validated.status, validated.body) == ("revalidated", 200, b"body")
    assert header(validated.headers, "Test-Header") == ["B"]
    cached = cache.fetch(origin, T0 + 10)
    assert cached.how == "fresh"
    assert header(cached.headers, "Test-Header") == ["B"]


def test_flow_a_stale_conditional_request_is_validated_then_answered_304() -> None:
    """cache-tests conditional-lm-stale."""
    lm = http_date(-3000)
    cache = Harness()
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=2"), ("Last-Modified", lm)),
            (304, [("Last-Modified", lm)], b""),
        ]
    )
    cache.fetch(origin, T0)
    answer = cache.fetch(origin, T0 + 10, headers={"if-modified-since": lm})
    assert origin.received[1][2] == {"if-modified-since": lm}
    assert (answer.how, answer.status, answer.body) == ("revalidated", 304, b"")


def test_flow_stale_while_revalidate_serves_then_refreshes() -> None:
    """cache-tests stale-while-revalidate."""
    cache = Harness()
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=0, stale-while-revalidate=3600"), ("ETag", '"abc"')),
            ok(("Cache-Control", "max-age=3600"), ("ETag", '"def"')),
        ]
    )
    cache.fetch(origin, T0)
    stale = cache.fetch(origin, T0 + 1)
    assert stale.how == "stale"
    assert header(stale.headers, "ETag") == ['"abc"']
    assert len(cache.background) == 1
    cache.background.pop()()
    assert origin.received[1][2] == {"if-none-match": '"abc"'}
    fresh = cache.fetch(origin, T0 + 2)
    assert fresh.how == "fresh"
    assert header(fresh.headers, "ETag") == ['"def"']
    assert header(fresh.headers, "Cache-Control") == ["max-age=3600"]


@pytest.mark.parametrize("failure", [OSError, 500, 503])
def test_flow_stale_if_error(failure: type[OSError] | int) -> None:
    """cache-tests stale-if-error-cc-response, stale-sie-close, stale-sie-503."""
    reply: Reply | type[OSError] = failure if isinstance(failure, type) else (failure, [], b"x")
    cache = Harness()
    origin = Origin([ok(("Cache-Control", "max-age=1, stale-if-error=60")), reply, reply])
    cache.fetch(origin, T0)
    served = cache.fetch(origin, T0 + 5)
    assert (served.how, served.status, served.body) == ("stale-if-error", 200, b"body")
    if isinstance(failure, type):
        with pytest.raises(OSError, match="origin unreachable"):
            cache.fetch(origin, T0 + 100)
    else:
        assert cache.fetch(origin, T0 + 100).status == failure


@pytest.mark.parametrize("directive", ["must-revalidate", "no-cache"])
def test_flow_nothing_stale_when_disconnected_and_forbidden(directive: str) -> None:
    """cache-tests stale-close-must-revalidate, stale-close-no-cache."""
    cache = Harness(policy=CachePolicy(stale_if_error=3600))
    origin = Origin([ok(("Cache-Control", f"max-age=2, {directive}"), ("ETag", '"e"')), OSError])
    cache.fetch(origin, T0)
    with pytest.raises(OSError, match="origin unreachable"):
        cache.fetch(origin, T0 + 10)


def test_flow_unsafe_methods_invalidate() -> None:
    """cache-tests invalidate-POST, invalidate-POST-location."""
    cache = Harness()
    target = "https://api.example.com/items/2"
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=100000")),
            ok(("Cache-Control", "max-age=100000"), body=b"two"),
            ok(("Location", "/items/2"), status=201),
            ok(("Cache-Control", "max-age=100000"), body=b"new"),
        ]
    )
    cache.fetch(origin, T0)
    cache.fetch(origin, T0, url=target)
    assert cache.fetch(origin, T0 + 1, method="POST").how == "miss"
    assert cache.fetch(origin, T0 + 2, url=target).body == b"new"
    assert len(origin.received) == 4


def test_flow_failed_unsafe_request_does_not_invalidate() -> None:
    """cache-tests invalidate-POST-failed."""
    cache = Harness()
    origin = Origin([ok(("Cache-Control", "max-age=100000")), ok(status=500)])
    cache.fetch(origin, T0)
    cache.fetch(origin, T0 + 1, method="POST")
    assert cache.fetch(origin, T0 + 2).how == "fresh"


def test_flow_post_response_with_content_location_answers_a_get() -> None:
    """cache-tests method-POST."""
    cache = Harness()
    origin = Origin([ok(("Expires", http_date(30 * 86400)), ("Content-Location", URL))])
    cache.fetch(origin, T0, method="POST")
    assert cache.fetch(origin, T0 + 1).how == "fresh"


def test_flow_head_freshens_the_stored_get() -> None:
    """cache-tests head-200-freshness-update, head-200-update."""
    cache = Harness()
    origin = Origin(
        [
            ok(("Cache-Control", "max-age=2"), ("Template-A", "1")),
            ok(("Cache-Control", "max-age=1000"), ("Template-A", "2"), body=b""),
        ]
    )
    cache.fetch(origin, T0)
    head = cache.fetch(origin, T0 + 5, method="HEAD")
    assert origin.received[1][0] == "HEAD"
    assert head.how == "miss"
    get = cache.fetch(origin, T0 + 6)
    assert (get.how, get.body) == ("fresh", b"body")
    assert header(get.headers, "Template-A") == ["2"]


def test_flow_only_if_cached_answers_504() -> None:
    """cache-tests ccreq-oic."""
    answer = Harness().fetch(Origin([]), T0, headers={"cache-control": "only-if-cached"})
    assert (answer.status, answer.how) == (504, "only_if_cached_miss")


def test_flow_shared_cache_never_reuses_an_authorized_response_without_permission() -> None:
    """cache-tests other-authorization, other-authorization-public."""
    cache = Harness(policy=CachePolicy(shared=True))
    origin = Origin(
        [
            ok(("Expires", http_date(30 * 86400))),
            ok(("Expires", http_date(30 * 86400))),
            ok(("Cache-Control", "max-age=3600, public"), body=b"public"),
        ]
    )
    auth = {"authorization": "FOO"}
    cache.fetch(origin, T0, headers=auth)
    assert cache.fetch(origin, T0 + 1).how == "miss"
    cache.fetch(origin, T0 + 2, url=URL + "?p", headers=auth)
    assert cache.fetch(origin, T0 + 3, url=URL + "?p").how == "fresh"
