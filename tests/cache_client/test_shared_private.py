"""Private (default) and shared caches: ``private``, ``s-maxage``, ``Authorization`` (§3.5),
and the guarantee that an answer cached for one credential never reaches another.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from restwell.cache import CacheStorage
from restwell.policy.cache import CachePolicy
from restwell.testing import FakeClock
from tests.cache_client.conftest import ClientFactory
from tests.cache_client.origin import CacheOrigin
from tests.cache_client.support import Driver

MODES = [pytest.param(False, id="private"), pytest.param(True, id="shared")]


@pytest.fixture(params=MODES)
def shared(request: pytest.FixtureRequest) -> bool:
    value: bool = request.param
    return value


@pytest.fixture
def moded(make_client: ClientFactory, storage: CacheStorage, shared: bool) -> Driver:
    """A client whose cache is private or shared, as parametrised."""
    return make_client(storage, cache_policy=CachePolicy(shared=shared))


def with_cc(url: str, value: str) -> str:
    return f"{url}?cc={quote(value)}"


def test_private_responses_are_kept_only_by_a_private_cache(
    moded: Driver, shared: bool, origin: CacheOrigin, key: str, url: str
) -> None:
    target = with_cc(url, "private, max-age=60")
    moded.get(target)
    assert moded.get(target).cache_status == ("miss" if shared else "hit")
    assert origin.hits(key) == (2 if shared else 1)


def test_s_maxage_is_for_shared_caches(
    moded: Driver, shared: bool, origin: CacheOrigin, key: str, url: str, fake_clock: FakeClock
) -> None:
    target = with_cc(url, "max-age=10, s-maxage=100")
    moded.get(target)
    fake_clock.advance(50)
    assert moded.get(target).cache_status == ("hit" if shared else "miss")


@pytest.mark.parametrize(
    ("directives", "shared_stores"),
    [
        ("max-age=60", False),
        ("public, max-age=60", True),
        ("s-maxage=60", True),
        ("must-revalidate, max-age=60", True),
    ],
)
def test_authorization_in_a_shared_cache(
    moded: Driver,
    shared: bool,
    origin: CacheOrigin,
    key: str,
    url: str,
    directives: str,
    shared_stores: bool,
) -> None:
    target = with_cc(url, directives)
    auth = {"Authorization": "Bearer alice"}
    moded.get(target, headers=auth)
    again = moded.get(target, headers=auth)
    stores = shared_stores or not shared  # a private cache keeps them all (§3.5 is for shared)
    if directives == "s-maxage=60" and not shared:
        stores = False  # s-maxage gives a private cache no freshness: nothing to reuse
    assert again.cache_status == ("hit" if stores else "miss")


@pytest.mark.parametrize(
    "scheme",
    [
        pytest.param(("Authorization", "Bearer alice", "Bearer bob"), id="bearer"),
        pytest.param(("Authorization", "Basic YTpi", "Basic YzpkZA=="), id="basic"),
        pytest.param(("Cookie", "session=alice", "session=bob"), id="cookie"),
    ],
)
def test_an_answer_for_one_credential_never_reaches_another(
    moded: Driver, origin: CacheOrigin, key: str, url: str, scheme: tuple[str, str, str]
) -> None:
    name, alice, bob = scheme
    field = name.lower()
    target = with_cc(url, "public, max-age=600")
    assert moded.get(target, headers={name: alice}).json()[field] == alice
    served = moded.get(target, headers={name: bob})
    assert (served.cache_status, served.json()[field]) == ("miss", bob)
    anonymous = moded.get(target, headers={name: None})
    assert (anonymous.cache_status, anonymous.json()[field]) == ("miss", None)
    for value in (alice, bob):
        hit = moded.get(target, headers={name: value})
        assert (hit.cache_status, hit.json()[field]) == ("hit", value)
    assert origin.hits(key) == 3


def test_the_clients_token_is_a_credential_too(
    make_client: ClientFactory,
    storage: CacheStorage,
    shared: bool,
    origin: CacheOrigin,
    key: str,
    url: str,
) -> None:
    policy = CachePolicy(shared=shared)
    alice = make_client(storage, token="alice", cache_policy=policy)
    bob = make_client(storage, token="bob", cache_policy=policy)
    target = with_cc(url, "public, max-age=600")
    alice.get(target)
    assert alice.get(target).cache_status == "hit"
    answer = bob.get(target)
    assert (answer.cache_status, answer.json()["authorization"]) == ("miss", "Bearer bob")


def test_another_cookie_with_the_same_authorization_is_another_credential(
    moded: Driver, origin: CacheOrigin, key: str, url: str
) -> None:
    target = with_cc(url, "public, max-age=600")
    moded.get(target, headers={"Authorization": "Bearer app", "Cookie": "session=alice"})
    answer = moded.get(target, headers={"Authorization": "Bearer app", "Cookie": "session=bob"})
    assert (answer.cache_status, answer.json()["cookie"]) == ("miss", "session=bob")
