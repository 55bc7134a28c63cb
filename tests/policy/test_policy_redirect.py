"""Redirect planning (RFC 9110 §15.4) and origin normalisation."""

from __future__ import annotations

import logging

import pytest

from restwell.policy import REDIRECT_STATUSES, SENSITIVE_HEADERS, Redirect, origin_of, plan_redirect

URL = "https://api.example.com/v1/items?x=1"


def test_constants() -> None:
    assert frozenset({301, 302, 303, 307, 308}) == REDIRECT_STATUSES
    assert frozenset({"authorization", "proxy-authorization", "cookie"}) == SENSITIVE_HEADERS


@pytest.mark.parametrize(
    ("status", "method", "new_method", "keep_body"),
    [
        (301, "GET", "GET", True),
        (301, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (301, "HEAD", "HEAD", True),
        (302, "GET", "GET", True),
        (302, "POST", "GET", False),
        (302, "DELETE", "DELETE", True),
        (302, "PATCH", "PATCH", True),
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (303, "PATCH", "GET", False),
        (303, "DELETE", "GET", False),
        (303, "GET", "GET", True),
        (303, "HEAD", "HEAD", True),
        (307, "POST", "POST", True),
        (307, "PUT", "PUT", True),
        (307, "GET", "GET", True),
        (308, "POST", "POST", True),
        (308, "PATCH", "PATCH", True),
    ],
)
def test_method_rewriting(status: int, method: str, new_method: str, keep_body: bool) -> None:
    plan = plan_redirect(method, URL, status, "/v2/items")
    assert plan == Redirect(new_method, "https://api.example.com/v2/items", keep_body, False)


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/v2/items", "https://api.example.com/v2/items"),
        ("next", "https://api.example.com/v1/next"),
        ("../root", "https://api.example.com/root"),
        ("?page=2", "https://api.example.com/v1/items?page=2"),
        ("  /padded  ", "https://api.example.com/padded"),
        ("https://api.example.com/abs", "https://api.example.com/abs"),
        ("https://api.example.com:443/port", "https://api.example.com:443/port"),
        ("HTTPS://API.EXAMPLE.COM/upper", "https://API.EXAMPLE.COM/upper"),
    ],
)
def test_same_origin_locations_keep_credentials(location: str, target: str) -> None:
    plan = plan_redirect("GET", URL, 302, location)
    assert plan == Redirect("GET", target, True, False)


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("https://evil.example.net/x", "https://evil.example.net/x"),
        ("//other.example.com/x", "https://other.example.com/x"),
        ("https://api.example.com:8443/x", "https://api.example.com:8443/x"),
        ("http://api.example.com/x", "http://api.example.com/x"),  # https -> http downgrade
        ("https://sub.api.example.com/x", "https://sub.api.example.com/x"),
    ],
)
def test_cross_origin_and_downgrade_strip_credentials(location: str, target: str) -> None:
    plan = plan_redirect("GET", URL, 307, location)
    assert plan == Redirect("GET", target, True, True)


def test_http_to_https_upgrade_is_a_different_origin() -> None:
    plan = plan_redirect("GET", "http://api.example.com/a", 301, "https://api.example.com/a")
    assert plan == Redirect("GET", "https://api.example.com/a", True, True)


def test_userinfo_in_location_does_not_change_origin() -> None:
    plan = plan_redirect("GET", URL, 302, "https://user:pw@api.example.com/x")
    assert plan is not None
    assert plan.strip_credentials is False


@pytest.mark.parametrize("status", [200, 204, 300, 304, 305, 306, 309, 400, 500])
def test_non_redirect_statuses(status: int) -> None:
    assert plan_redirect("GET", URL, status, "/elsewhere") is None


@pytest.mark.parametrize("location", [None, "", "   "])
def test_missing_location(location: str | None) -> None:
    assert plan_redirect("GET", URL, 302, location) is None


@pytest.mark.parametrize(
    "location",
    [
        "ftp://files.example.com/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "mailto:someone@example.com",
        "ws://api.example.com/socket",
    ],
)
def test_non_http_schemes_are_not_followed(location: str) -> None:
    assert plan_redirect("GET", URL, 302, location) is None


@pytest.mark.parametrize(
    "location", ["http://[::1", "http://exa\uff03mple.com/", "https://[not-an-ip]/"]
)
def test_unparseable_location_is_not_followed(location: str) -> None:
    assert plan_redirect("GET", URL, 302, location) is None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.example.com/v1", "https://api.example.com:443"),
        ("https://api.example.com:443/v1", "https://api.example.com:443"),
        ("HTTPS://API.Example.COM", "https://api.example.com:443"),
        ("http://example.com", "http://example.com:80"),
        ("http://example.com:80/", "http://example.com:80"),
        ("http://example.com:8080/x?y#z", "http://example.com:8080"),
        ("https://example.com:80/", "https://example.com:80"),
        ("http://user:secret@Example.com/", "http://example.com:80"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("http://[::1]/", "http://[::1]:80"),
        ("http://[2001:DB8::1]/", "http://[2001:db8::1]:80"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("ftp://files.example.com/", "ftp://files.example.com:0"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_origin_of_equal_for_default_port_forms() -> None:
    assert origin_of("https://example.com") == origin_of("https://EXAMPLE.com:443/path")
    assert origin_of("http://example.com") != origin_of("https://example.com")
    assert origin_of("http://example.com:8080") != origin_of("http://example.com")


def test_origin_of_bad_port_falls_back_to_default() -> None:
    assert origin_of("http://example.com:abc/") == "http://example.com:80"
    assert origin_of("http://example.com:99999/") == "http://example.com:80"


@pytest.mark.parametrize("url", ["http://[::1", "http://exa\uff03mple.com/"])
def test_origin_of_unparseable_url_does_not_raise(url: str) -> None:
    origin = origin_of(url)
    assert isinstance(origin, str)
    assert origin != origin_of("http://example.com/")


def test_unparseable_location_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="restwell.policy"):
        assert plan_redirect("GET", URL, 302, " http://[::1 ") is None
    assert [r.getMessage() for r in caplog.records] == [
        "ignoring malformed Location header: 'http://[::1'"
    ]


def test_origin_cache_matches_origin_of_and_remembers_by_prefix() -> None:
    from restwell.policy import OriginCache

    origins = OriginCache(limit=2)
    urls = [
        "HTTPS://Example.com/a?x=1",
        "https://example.com:443/b",
        "http://127.0.0.1:8080",
        "http://[::1]:9/x",
    ]
    for url in urls:
        assert origins(url) == origin_of(url)
    # Only the first two prefixes were kept (the bound), the rest computed each time.
    assert len(origins._known) == 2
