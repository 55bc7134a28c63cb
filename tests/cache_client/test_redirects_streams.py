"""Where the cache meets the rest of the client: redirects (followed below the cache), streamed
bodies, hop-by-hop fields, and forwarding verbatim as a reverse proxy's cache.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import urllib3

from restwell import Timeout
from restwell.cache import CacheStorage
from restwell.policy.cache import CachePolicy
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver, stored, wait_until

V1 = '"v1"'


# -- redirects -----------------------------------------------------------------------------


def test_an_answer_reached_through_a_redirect_is_not_stored_as_the_redirects(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Location": f"/r/{key}-b"}, status=302)  # no freshness: not reusable
    for name in ("b", "c"):
        origin.set(f"{key}-{name}", {"Cache-Control": "max-age=600"})
    first = client.get(url)
    assert (first.json()["key"], len(first.history)) == (f"{key}-b", 1)
    origin.set(key, {"Location": f"/r/{key}-c"}, status=302)
    moved = client.get(url)
    assert (moved.cache_status, moved.json()["key"]) == ("miss", f"{key}-c")


def test_a_redirect_that_is_not_followed_is_cached_itself(
    make_client: ClientFactory, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    client = make_client(storage, follow_redirects=False)
    origin.set(key, {"Location": "/elsewhere", "Cache-Control": "max-age=600"}, status=301)
    assert client.get(url).status_code == 301
    again = client.get(url)
    assert (again.status_code, again.cache_status) == (301, "hit")
    assert origin.hits(key) == 1


def test_a_303_answering_a_post_invalidates_its_location(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    assert client.get(url).json()["version"] == 1
    origin.update(key)
    posted = client.post(f"{url}-form?status=303&location=" + quote(f"/r/{key}"))
    assert [r.status_code for r in posted.history] == [303]
    assert posted.json()["version"] == 2  # the client has seen the new version...
    after = client.get(url)  # ... so the cache must not answer with the old one
    assert (after.cache_status, after.json()["version"]) == ("miss", 2)


def test_a_307_redirected_put_invalidates_both_uris(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    a, b = f"{url}-a", f"{url}-b"
    for target in (a, b):
        origin.set(target.rsplit("/", 1)[1], {"Cache-Control": "max-age=600"})
        client.get(target)
    origin.on_write(f"{key}-a", 307, {"Location": f"/r/{key}-b"})
    written = client.put(a, json={"x": 1})
    assert (written.status_code, len(written.history)) == (200, 1)
    assert client.get(a).cache_status == "miss"
    assert client.get(b).cache_status == "miss"


# -- streamed bodies -----------------------------------------------------------------------


def test_streamed_requests_and_the_cache(
    client: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(key, {"Cache-Control": "max-age=600"})
    response, body = client.stream_get(url)
    assert (response.cache_status, json.loads(body)["hit"]) == ("miss", 1)
    assert client.get(url).cache_status == "miss"  # the streamed one was not stored
    response, body = client.stream_get(url)
    assert (response.cache_status, json.loads(body)["hit"]) == ("hit", 2)


def _one_connection(make_client: ClientFactory, kind: str, storage: CacheStorage) -> Driver:
    """A client with a single pooled connection that waits at most 2 s for it.

    The sync one runs over a blocking urllib3 pool: a connection that is never given back
    fails the next request (EmptyPoolError) instead of quietly opening another.
    """
    limits = Timeout(connect=5, read=5, pool=2)
    if kind == "sync":
        pool = urllib3.PoolManager(maxsize=1, block=True, retries=False)
        return make_client(storage, session=pool, timeout=limits)
    return make_client(storage, connections=1, timeout=limits)


def test_a_streamed_revalidation_gives_its_connection_back(
    make_client: ClientFactory,
    kind: str,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    client = _one_connection(make_client, kind, storage)
    origin.set(key, {"Cache-Control": "max-age=10", "ETag": V1})
    client.get(url)
    for _ in range(3):
        fake_clock.advance(20)
        response, body = client.stream_get(url)
        assert (response.cache_status, json.loads(body)["hit"]) == ("revalidated", 1)
    assert client.get(url, cache_mode="skip").status_code == 200
    assert origin.hits(key) == 5


def test_stale_while_revalidate_from_a_stream_stores_the_new_answer(
    make_client: ClientFactory,
    kind: str,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    client = _one_connection(make_client, kind, storage)
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    origin.update(key, ETag='"v2"')
    fake_clock.advance(20)
    response, body = client.stream_get(url)
    assert (response.cache_status, json.loads(body)["version"]) == ("stale", 1)

    def version() -> int | None:
        entries = stored(storage, url)
        return json.loads(entries[0].body)["version"] if len(entries) == 1 else None

    assert wait_until(lambda: version() == 2)
    assert client.settle()
    assert client.get(url).json()["version"] == 2
    assert client.get(url, cache_mode="skip").status_code == 200  # the connection is free


def test_one_background_revalidation_per_entry_at_a_time(
    client: Driver, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    origin.set(key, {"Cache-Control": "max-age=10, stale-while-revalidate=60", "ETag": V1})
    client.get(url)
    origin.slow(key, 0.3)
    fake_clock.advance(20)
    for _ in range(4):
        assert client.get(url).cache_status == "stale"
    assert origin.wait_hits(key, 2)
    assert client.settle()
    time.sleep(0.4)
    assert origin.hits(key) == 2


# -- fields --------------------------------------------------------------------------------


def test_hop_by_hop_fields_are_not_stored(
    client: Driver, storage: CacheStorage, origin: CacheOrigin, key: str, url: str
) -> None:
    origin.set(
        key,
        {
            "Cache-Control": "max-age=600",
            "Connection": "X-Hop",
            "X-Hop": "1",
            "Keep-Alive": "timeout=30",
            "X-Kept": "yes",
        },
    )
    client.get(url)
    hit = client.get(url)
    assert hit.cache_status == "hit"
    assert hit.headers["X-Kept"] == "yes"
    for name in ("Connection", "X-Hop", "Keep-Alive"):
        assert name not in hit.headers, name
    [entry] = stored(storage, url)
    assert entry.header("x-hop") is None


def test_as_a_reverse_proxy_cache_only_age_changes(
    make_client: ClientFactory,
    storage: CacheStorage,
    origin: CacheOrigin,
    key: str,
    url: str,
    fake_clock: FakeClock,
) -> None:
    client = make_client(
        storage, cache_policy=CachePolicy(shared=True), follow_redirects=False, retry=None
    )
    for name in list(client.client.headers):
        client.client.headers.remove(name)
    origin.set(
        key,
        {
            "Cache-Control": "public, s-maxage=600",
            "ETag": V1,
            "X-Multi": "a",
            "Last-Modified": "Tue, 14 Nov 2023 22:00:00 GMT",
        },
    )
    miss = client.get(url)
    fake_clock.advance(7)
    hit = client.get(url)
    assert hit.cache_status == "hit"

    def fields(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n.lower(), v) for n, v in headers if n.lower() != "age"]

    assert fields(hit.headers.raw()) == fields(miss.headers.raw())
    assert hit.headers["Age"] == "7"
    assert hit.content == miss.content
