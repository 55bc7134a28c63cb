"""The shortcuts of the miss path give exactly what the general code gives.

A plain URL skips parsing in ``normalize_url``; IMF-fixdates are memoised; ``decide_store``
reuses its field index for the stored response and computes the key only when the caller gave
none. Each is checked against the general computation.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.policy._cache import _directives, _uri
from restwell.policy._cache._directives import parse_http_date
from restwell.policy._cache._stored import FieldIndex
from restwell.policy.cache import CachePolicy, StoredResponse, normalize_url

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_pieces = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "ws://",
        "a.b",
        "Ex.com",
        "x.com",
        "127.0.0.1",
        ":80",
        ":443",
        ":8080",
        ":080",
        ":0",
        ":",
        "/",
        "/.",
        "/..",
        "/./",
        "/../",
        ".",
        "..",
        "?",
        "??",
        "#",
        "#x",
        "%41",
        "%2f",
        "%7e",
        "a",
        "B",
        " ",
        "\t",
        "\n",
        "@",
        "[::1]",
        "é",
        "~",
        "//",
        "?a=1",
        "&",
        "=",
        ";",
        "\\",
        "'",
        "!",
        "*",
        "+",
        "$",
        "|",
        "^",
    ]
)
urls = st.one_of(
    st.lists(_pieces, max_size=10).map("".join),
    st.tuples(
        st.sampled_from(["http://", "https://"]),
        st.sampled_from(["a.com", "127.0.0.1", "x", "a-b.example"]),
        st.lists(_pieces, max_size=8).map("".join),
    ).map("".join),
    st.text(max_size=30),
)


@SETTINGS
@given(urls)
def test_a_url_taking_the_shortcut_normalises_as_the_parser_does(url: str) -> None:
    assert normalize_url(url) == _uri._normalize(url)


def test_plain_urls_take_the_shortcut_and_others_do_not() -> None:
    for plain in (
        "http://127.0.0.1:8080/item.json?n=17",
        "https://api.example.com/users/1/repos?page=2&per_page=100",
        "http://a.com/",
    ):
        assert normalize_url(plain) is plain
    for other in (
        "http://a.com",  # no path: "/" is added
        "http://A.com/",  # upper-case host
        "http://a.com:80/",  # default port
        "https://a.com:443/x",
        "http://a.com/a/../b",  # dot segments
        "http://a.com/%7e",  # percent-encoding
        "http://a.com/x?",  # empty query
        "http://a.com/x#frag",
    ):
        assert normalize_url(other) != other


def _imf(epoch: int) -> str:
    return format_datetime(dt.datetime.fromtimestamp(epoch, dt.UTC), usegmt=True)


@SETTINGS
@given(st.integers(min_value=0, max_value=253402300799))
def test_memoised_fixdates_parse_as_before(epoch: int) -> None:
    text = _imf(epoch)
    assert parse_http_date(text) == epoch
    assert parse_http_date(text) == epoch  # from the memo
    assert parse_http_date(f"  {text.lower()} ") == epoch


def test_invalid_fixdates_still_fall_through_to_the_other_forms() -> None:
    assert parse_http_date("Sun, 30 Feb 2025 00:00:00 GMT") is None  # no such day
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777.0
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777.0
    assert _directives._imf_fixdate("Sun Nov  6 08:49:37 1994") is None


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Connection", "Date", "ETag", "Keep-Alive", "TE", "vary", "X-A"]),
            st.text(max_size=5),
        ),
        max_size=8,
    ),
    st.sets(st.sampled_from(["connection", "date", "etag", "keep-alive", "te", "x-a", "y"])),
)
def test_an_index_without_some_fields_is_the_index_of_the_rest(
    pairs: list[tuple[str, str]], names: set[str]
) -> None:
    drop = frozenset(names)
    full = FieldIndex(pairs)
    rest = FieldIndex([p for p in pairs if p[0].lower() not in drop])
    smaller = full.without(drop)
    for name in {n.lower() for n, _ in pairs} | drop:
        assert smaller.lines(name) == rest.lines(name)
        assert (name in smaller) == (name in rest)
    assert full.lines("date") == FieldIndex(pairs).lines("date")  # the original is unchanged


NGINX = [
    ("Server", "nginx"),
    ("Date", "Wed, 25 Nov 2026 15:23:18 GMT"),
    ("Content-Type", "application/json"),
    ("Content-Length", "2"),
    ("Last-Modified", "Wed, 25 Nov 2026 15:23:11 GMT"),
    ("Connection", "keep-alive, X-Secret"),
    ("X-Secret", "s"),
    ("ETag", '"6b06fd5f-d3"'),
    ("Cache-Control", "max-age=60"),
]


def test_the_stored_entry_equals_one_built_from_its_headers() -> None:
    now = 1_795_000_000.0
    decision = CachePolicy().decide_store("GET", "http://a.com/x", {}, 200, NGINX, b"{}", now, now)
    assert decision.store
    entry = decision.entry
    assert entry is not None
    names = [name for name, _ in entry.headers]
    assert "Connection" not in names  # §3.1
    assert "X-Secret" not in names
    rebuilt = StoredResponse(
        entry.method, entry.url, entry.status, entry.headers, entry.body, now, now
    )
    for attribute in ("cache_control", "date", "etag", "last_modified", "vary", "variant"):
        assert getattr(entry, attribute) == getattr(rebuilt, attribute)
    assert entry.header("x-secret") is None
    assert entry.header("connection") is None
    assert entry.header("etag") == '"6b06fd5f-d3"'
    assert StoredResponse.from_bytes(entry.to_bytes()) == entry


def test_the_key_is_the_callers_or_else_the_normalised_uri() -> None:
    now = 1_795_000_000.0
    policy = CachePolicy()
    url = "HTTP://A.com:80/x"
    assert policy.decide_store("GET", url, {}, 200, NGINX, b"{}", now, now).key == (
        "GET http://a.com/x"
    )
    mine = policy.decide_store("GET", url, {}, 200, NGINX, b"{}", now, now, key="mine")
    assert mine.key == "mine"
