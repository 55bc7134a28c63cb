"""RFC 9213 targeted cache control: ``CDN-Cache-Control`` and the target list of a policy."""

from __future__ import annotations

import pytest

from restwell.policy._cache._targeted import parse_dictionary, targeted_directives
from restwell.policy.cache import CacheAction, CachePolicy
from restwell.testing import FakeClock
from tests.cache_policy.support import SHARED, T0, decide, http_date, lookup, store

CDN = CachePolicy(shared=True, targeted=("CDN-Cache-Control",))


def _fields(**values: str) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in values.items()}


# ------------------------------------------------------------------ RFC 8941 §4.2.2 parsing


@pytest.mark.parametrize(
    ("value", "members"),
    [
        ("max-age=60", (("max-age", 60),)),
        ("foobar, max-age=60", (("foobar", True), ("max-age", 60))),
        ('private="set-cookie"', (("private", "set-cookie"),)),
        ("no-cache=(a b)", (("no-cache", ["a", "b"]),)),
        ("max-age=60;x=1", (("max-age", 60),)),  # parameters are dropped
        ("max-age=1, max-age=2", (("max-age", 2),)),  # the last value of a key wins
        ("public=?0", (("public", False),)),
        ("max-age=1.5", (("max-age", 1.5),)),
    ],
)
def test_dictionary(value: str, members: object) -> None:
    assert parse_dictionary(value) == members


@pytest.mark.parametrize(
    "value",
    ["max-age =100", "max-age= 100", "MaX-aGe=1", "max-age=10000, &&&&&", "a,", '"x"', "a=1.2345"],
)
def test_invalid_dictionary(value: str) -> None:
    assert parse_dictionary(value) is None


def test_first_valid_target_wins() -> None:
    targets = ("a-cache-control", "cdn-cache-control")
    fields = _fields(a_cache_control="max-age=bad here", cdn_cache_control="max-age=5")
    found = targeted_directives(fields.get, targets)
    assert found is not None
    assert found.max_age == 5
    empty: dict[str, str] = {}
    assert targeted_directives(empty.get, targets) is None
    assert targeted_directives(_fields(cdn_cache_control="").get, targets) is None  # empty


def test_wrongly_typed_values_are_not_consumed() -> None:
    found = targeted_directives(_fields(c='max-age="60", s-maxage=-1').get, ("c",))
    assert found is not None
    assert (found.max_age, found.s_maxage) == (None, None)


def test_target_names_are_case_insensitive_and_validated() -> None:
    assert CachePolicy(targeted=("CDN-Cache-Control",)).targeted == ("cdn-cache-control",)
    assert CachePolicy(targeted="CDN-Cache-Control").targeted == ("cdn-cache-control",)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="targeted"):
        CachePolicy(targeted=("",))


# ------------------------------------------------------------------ RFC 9213 §2.1 precedence


def test_targeted_max_age_replaces_cache_control_and_expires() -> None:
    clock = FakeClock(T0)
    headers = [
        ("Cache-Control", "max-age=1"),
        ("Expires", http_date(-10)),
        ("CDN-Cache-Control", "max-age=3600"),
        ("Date", http_date()),
    ]
    entry = store(headers, policy=CDN)
    clock.advance(60)
    assert lookup(entry, clock.time(), policy=CDN).action is CacheAction.FRESH
    # The same response, for a cache without the target list: Cache-Control decides.
    assert lookup(entry, clock.time(), policy=SHARED).action is not CacheAction.FRESH


def test_targeted_shorter_lifetime_wins() -> None:
    entry = store(
        [("Cache-Control", "max-age=3600"), ("CDN-Cache-Control", "max-age=1")], policy=CDN
    )
    assert lookup(entry, T0 + 2, policy=CDN).action is not CacheAction.FRESH


def test_targeted_no_store_and_private_forbid_storing() -> None:
    fresh = [("Cache-Control", "max-age=10000"), ("Date", http_date())]
    assert not decide([*fresh, ("CDN-Cache-Control", "no-store")], policy=CDN).store
    assert not decide([*fresh, ("CDN-Cache-Control", "private")], policy=CDN).store
    assert decide([*fresh, ("CDN-Cache-Control", "no-store")], policy=SHARED).store


def test_targeted_max_age_overrides_cache_control_no_store() -> None:
    decision = decide(
        [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=100")], policy=CDN
    )
    assert decision.store
    assert decision.entry is not None
    # The field is stored (and so forwarded and served) as received.
    assert decision.entry.header("cdn-cache-control") == "max-age=100"


def test_targeted_no_cache_requires_validation() -> None:
    entry = store(
        [
            ("Cache-Control", "max-age=10000"),
            ("CDN-Cache-Control", "no-cache"),
            ("ETag", '"v"'),
            ("Date", http_date()),
        ],
        policy=CDN,
    )
    assert lookup(entry, T0, policy=CDN).action is CacheAction.REVALIDATE


def test_invalid_targeted_field_falls_back_to_cache_control() -> None:
    headers = [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=10000, &&&&&")]
    assert not decide(headers, policy=CDN).store
    headers = [("Cache-Control", "max-age=1"), ("CDN-Cache-Control", "max-age =100")]
    entry = store(headers, policy=CDN)
    assert lookup(entry, T0 + 3, policy=CDN).action is not CacheAction.FRESH


def test_off_by_default() -> None:
    assert CachePolicy().targeted == ()
    assert not decide(
        [("Cache-Control", "no-store"), ("CDN-Cache-Control", "max-age=100")], policy=SHARED
    ).store
