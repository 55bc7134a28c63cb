"""The cheap paths of a cache miss give exactly what the general computation gives.

``normalize_url`` returns a URL already in normal form as it is; ``scan_fields`` collects the
fields a miss reads in one pass; ``decide_store`` drops hop-by-hop fields without a second
pass; ``lookup`` with nothing stored reads only what can change its decision; stored responses
and store decisions are made without ``object.__setattr__`` per field. Each is checked against
the general code, or against the behaviour of the frozen dataclasses they stand in for.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restwell.policy._cache import _policy, _uri
from restwell.policy._cache._stored import (
    HOP_BY_HOP_FIELDS,
    SCANNED_FIELDS,
    FieldIndex,
    scan_fields,
    scan_fields_general,
)
from restwell.policy.cache import (
    CacheAction,
    CachePolicy,
    StoreDecision,
    StoredResponse,
    normalize_url,
    parse_cache_control,
)

SETTINGS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = 1_795_000_000.0

# ----------------------------------------------------------------------------- normalize_url

_url_pieces = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "Https://",
        "ws://",
        "ftp://",
        "a.com",
        "A.com",
        "127.0.0.1",
        "x-y.example",
        ":80",
        ":443",
        ":8080",
        ":080",
        ":0",
        ":1",
        ":99999",
        ":",
        ":x",
        "/",
        "//",
        "/.",
        "/..",
        "/./",
        "/../",
        "/.x",
        "/x.",
        ".",
        "..",
        "?",
        "??",
        "?a=1",
        "?/.",
        "#",
        "#x",
        "%41",
        "%2f",
        "%7e",
        "%",
        "a",
        "B",
        " ",
        "\t",
        "\n",
        "\x00",
        "\x7f",
        "@",
        "u:p@",
        "[::1]",
        "[",
        "]",
        "é",
        "\u3000",
        "~",
        "&",
        "=",
        ";",
        "\\",
        "'",
        '"',
        "<",
        "{",
        "`",
        "!",
        "*",
        "+",
        "$",
        "|",
        "^",
    ]
)
_urls = st.one_of(
    st.lists(_url_pieces, max_size=12).map("".join),
    st.tuples(
        st.sampled_from(["http://", "https://"]),
        st.sampled_from(["a.com", "127.0.0.1", "x", "a-b.example", "api.example.com"]),
        st.sampled_from(["", ":80", ":443", ":8080", ":1", ":08"]),
        st.lists(_url_pieces, max_size=8).map("".join),
    ).map("".join),
    st.text(max_size=40),
    st.text(alphabet="abc./?=%#:-_~ ", max_size=30).map(lambda rest: "http://a.com/" + rest),
)


@SETTINGS
@given(_urls)
def test_normalize_url_agrees_with_the_full_normaliser(url: str) -> None:
    assert normalize_url(url) == _uri._normalize(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/item.json?n=17",
        "https://api.example.com/users/1/repos?page=2&per_page=100",
        "http://a.com/",
        "http://a.com//x",
        "https://a.com:80/x",  # 80 is not https's default port
        "http://a.com:443/x",
        "http://a.com/x?a?",  # a query ending in "?" is still a query
        "http://a.com/x?/./..",  # dots in the query are not path segments
        "http://a.com/x.y/z.",
    ],
)
def test_a_url_in_normal_form_is_returned_as_it_is(url: str) -> None:
    assert normalize_url(url) is url
    assert _uri._normalize(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://a.com",  # no path: "/" is added
        "http://A.com/",  # upper-case host
        "HTTP://a.com/",
        "http://a.com:80/",  # default port
        "https://a.com:443/x",
        "http://a.com:080/",  # leading zero
        "http://a.com/a/../b",  # dot segments
        "http://a.com/a/./b",
        "http://a.com/%7e",  # percent-encoding
        "http://a.com/x?",  # empty query
        "http://a.com/x#frag",
        " http://a.com/x",
        "http://a.com/x\t",
    ],
)
def test_a_url_not_in_normal_form_is_normalised(url: str) -> None:
    assert normalize_url(url) != url
    assert normalize_url(url) == _uri._normalize(url)


def test_the_cache_key_of_any_method_spelling() -> None:
    policy = CachePolicy()
    url = "http://a.com/x"
    assert policy.cache_key("GET", url) == "GET http://a.com/x"
    assert policy.cache_key("get", url) == "GET http://a.com/x"
    assert policy.cache_key("head", url) == "GET http://a.com/x"
    assert policy.cache_key("Post", "HTTP://A.com:80") == "POST http://a.com/"


# ----------------------------------------------------------------------------- scan_fields

_names = st.sampled_from(
    [
        "Cache-Control",
        "cache-control",
        "CACHE-CONTROL",
        "Date",
        "Age",
        "Expires",
        "Last-Modified",
        "ETag",
        "Etag",
        "Vary",
        "Content-Length",
        "Content-Encoding",
        "Content-Location",
        "Connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "TE",
        "Proxy-Authenticate",
        "X-A",
        "Server",
        "Set-Cookie",
        "",
    ]
)
_pairs = st.lists(st.tuples(_names, st.text(max_size=6)), max_size=10)


@SETTINGS
@given(_pairs)
def test_scan_fields_collects_what_a_field_index_holds(pairs: list[tuple[str, str]]) -> None:
    scanned = scan_fields(pairs)
    assert scanned is not None
    assert scanned == scan_fields_general(pairs)
    found, hop = scanned
    index = FieldIndex(pairs)
    for name in SCANNED_FIELDS:
        assert tuple(found.get(name, ())) == index.lines(name)
    assert set(found) <= SCANNED_FIELDS
    assert hop == [p for p in pairs if p[0].lower() in HOP_BY_HOP_FIELDS]


@pytest.mark.parametrize(
    "pairs",
    [
        [["Date", "x"]],
        [("Date", 1)],
        [(b"Date", "x")],
        [("Date", "x", "y")],
        [("Date",)],
        [5],
        [(["Date"], "x")],
    ],
)
def test_scan_fields_declines_what_is_not_a_pair_of_strings(pairs: list[object]) -> None:
    assert scan_fields(pairs) is None  # type: ignore[arg-type]


def test_odd_pairs_are_stored_as_the_general_path_converts_them() -> None:
    policy = CachePolicy()
    odd = [["Cache-Control", "max-age=60"], ("Content-Length", 2), ("X-N", 5)]
    decision = policy.decide_store("GET", "http://a.com/x", {}, 200, odd, b"{}", T0, T0)  # type: ignore[arg-type]
    assert decision.entry is not None
    assert decision.entry.headers[:3] == (
        ("Cache-Control", "max-age=60"),
        ("Content-Length", "2"),
        ("X-N", "5"),
    )
    with pytest.raises(ValueError, match="too many values to unpack"):
        policy.decide_store("GET", "http://a.com/x", {}, 200, [("A", "1", "2")], b"", T0, T0)  # type: ignore[list-item]


# ----------------------------------------------------------------------------- decide_store

_stored_pairs = st.lists(
    st.one_of(
        st.tuples(_names, st.sampled_from(["", "1", "2", "x", '"t"', "gzip", "identity"])),
        st.tuples(
            st.just("Connection"),
            st.sampled_from(["keep-alive", "close", "X-A", "etag, date", "Keep-Alive, Upgrade"]),
        ),
        st.tuples(
            st.just("Cache-Control"),
            st.sampled_from(
                [
                    "max-age=60",
                    'no-cache="x-a"',
                    'max-age=5, no-cache="Set-Cookie, ETag"',
                    'private="server", max-age=9',
                    "no-cache",
                    "s-maxage=3",
                ]
            ),
        ),
        st.tuples(
            st.sampled_from(["Date", "Last-Modified", "Expires"]),
            st.sampled_from(["Wed, 25 Nov 2026 15:23:18 GMT", "Wed, 25 Nov 2026 15:20:00 GMT"]),
        ),
    ),
    max_size=10,
)


@SETTINGS
@given(_stored_pairs, st.booleans())
def test_the_stored_headers_are_those_the_general_filter_keeps(
    pairs: list[tuple[str, str]], shared: bool
) -> None:
    policy = CachePolicy(shared=shared, default_ttl=60)
    decision = policy.decide_store("GET", "http://a.com/x", {}, 200, pairs, b"x", T0, T0)
    if decision.entry is None:
        return
    entry = decision.entry
    index = FieldIndex(pairs)
    cc = parse_cache_control(index.get("cache-control"))
    drop = policy._unstored(index.get("connection"), cc)
    kept = tuple(p for p in pairs if p[0].lower() not in drop)
    assert entry.headers[: len(kept)] == kept
    added = entry.headers[len(kept) :]
    if "date" in index:
        assert added == ()  # RFC 9110 §6.6.1: a Date only for a response without one
    else:
        assert [name for name, _ in added] == ["Date"]
    # The derived values are those of an entry made from the stored fields by a caller.
    rebuilt = StoredResponse(
        entry.method,
        entry.url,
        entry.status,
        entry.headers,
        entry.body,
        entry.request_time,
        entry.response_time,
        entry.vary_headers,
    )
    assert rebuilt == entry
    for name in ("cache_control", "date", "age_value", "expires", "has_expires", "etag"):
        assert getattr(entry, name) == getattr(rebuilt, name), name
    assert (entry.last_modified, entry.vary, entry.variant) == (
        rebuilt.last_modified,
        rebuilt.vary,
        rebuilt.variant,
    )
    assert policy.storage_ttl(entry, T0) == decision.ttl


# ----------------------------------------------------------------------------- lookup

_request_headers = st.fixed_dictionaries(
    {},
    optional={
        "cache-control": st.sampled_from(
            ["only-if-cached", "no-cache", "max-age=0, only-if-cached", "no-store", ""]
        ),
        "pragma": st.sampled_from(["no-cache", "x"]),
        "range": st.sampled_from(["bytes=0-1", "bytes=0-1,3-4", "items=1-2", "bytes=x"]),
        "accept": st.sampled_from(["a", "b"]),
    },
)


@SETTINGS
@given(_request_headers, st.sampled_from(["GET", "HEAD", "get", "POST", "OPTIONS"]))
def test_nothing_stored_decides_as_a_stored_response_that_does_not_match(
    headers: dict[str, str], method: str
) -> None:
    policy = CachePolicy()
    # Stored for "Accept: never": no request here selects it, so lookup takes its general path.
    unmatched = StoredResponse(
        "GET",
        "http://a.com/x",
        200,
        (("Cache-Control", "max-age=60"), ("Vary", "Accept")),
        b"",
        T0,
        T0,
        (("accept", "never"),),
    )
    empty = policy.lookup(method, "http://a.com/x", headers, [], T0)
    general = policy.lookup(method, "http://a.com/x", headers, [unmatched], T0)
    assert empty.action == general.action
    assert empty.entry is None
    assert empty.response is None
    if empty.action is CacheAction.BYPASS:
        assert empty.reason == general.reason
    elif empty.action is CacheAction.MISS:
        assert empty.reason == "nothing stored"
    else:
        assert empty.action is CacheAction.ONLY_IF_CACHED_MISS
        assert empty.reason == "nothing stored; only-if-cached (§5.2.1.7)"


# ----------------------------------------------------------------------------- made for less


def _entry() -> StoredResponse:
    return StoredResponse(
        "GET",
        "http://a.com/x",
        200,
        (("ETag", '"t"'), ("Vary", "Accept")),
        b"body",
        T0,
        T0,
        (("accept", "a"),),
    )


def test_a_stored_response_behaves_as_a_frozen_dataclass() -> None:
    entry = _entry()
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.status = 201  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del entry.body
    assert [f.name for f in dataclasses.fields(entry) if f.init] == [
        "method",
        "url",
        "status",
        "headers",
        "body",
        "request_time",
        "response_time",
        "vary_headers",
    ]
    assert repr(entry).startswith("StoredResponse(method='GET', url='http://a.com/x', status=200")
    assert "_cc" not in repr(entry)
    same = _entry()
    assert same == entry
    assert hash(same) == hash(entry)
    assert entry.header("etag") == '"t"'  # the field index, built on first use
    assert same == entry
    assert hash(same) == hash(entry)
    changed = dataclasses.replace(entry, status=203, headers=(("ETag", '"u"'),))
    assert (changed.status, changed.etag, changed.vary) == (203, '"u"', ())
    assert changed != entry
    for twin in (copy.copy(entry), copy.deepcopy(entry), pickle.loads(pickle.dumps(entry))):
        assert twin == entry
        assert (twin.etag, twin.variant) == (entry.etag, entry.variant)
    assert StoredResponse.from_bytes(entry.to_bytes()) == entry


def test_a_subclass_of_stored_response_can_be_made() -> None:
    class Mine(StoredResponse):
        pass

    entry = Mine("GET", "http://a.com/x", 200, (("ETag", '"t"'),), b"", T0, T0)
    assert type(entry) is Mine
    assert entry.etag == '"t"'
    assert type(Mine.from_bytes(entry.to_bytes())) is Mine


def test_a_store_decision_is_the_dataclass_it_stands_for() -> None:
    entry = _entry()
    made = _policy._stored("why", "key", entry, 5.0)
    assert type(made) is StoreDecision
    assert made == StoreDecision(True, "why", "key", entry, 5.0)
    assert hash(made) == hash(StoreDecision(True, "why", "key", entry, 5.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.ttl = 1.0  # type: ignore[misc]
