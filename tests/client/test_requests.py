"""What goes on the wire: default and per-request headers, credentials, query parameters,
bodies, timeouts; and how redirects are followed."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from restwell import ReadTimeout, Timeout
from restwell.errors import TooManyRedirects
from tests.drivers import DriverFactory
from tests.origin import Origin

# -- headers and credentials -----------------------------------------------------------------


@pytest.mark.needs("credentials")
def test_default_headers_and_bearer_token_are_sent(make_client: DriverFactory) -> None:
    client = make_client(token="tok-123", headers={"X-Team": "core"})
    echoed = client.request_json("GET", "/echo")["headers"]

    assert echoed["accept"] == "application/json"
    assert echoed["user-agent"].startswith("restwell/")
    assert echoed["authorization"] == "Bearer tok-123"
    assert echoed["x-team"] == "core"


@pytest.mark.needs("credentials")
def test_basic_auth_is_sent(make_client: DriverFactory) -> None:
    client = make_client(auth=("ada", "pa:ss"))
    echoed = client.request_json("GET", "/echo")["headers"]
    assert echoed["authorization"] == "Basic " + base64.b64encode(b"ada:pa:ss").decode()


@pytest.mark.needs("credentials")
def test_per_request_headers_override_and_none_removes(make_client: DriverFactory) -> None:
    client = make_client(token="tok-123", headers={"X-Team": "core"})
    overridden = client.request_json(
        "GET", "/echo", headers={"x-team": "edge", "Accept": "text/csv", "X-Extra": "1"}
    )["headers"]
    assert (overridden["x-team"], overridden["accept"], overridden["x-extra"]) == (
        "edge",
        "text/csv",
        "1",
    )
    removed = client.request_json("GET", "/echo", headers={"X-Team": None, "Authorization": None})
    assert "x-team" not in removed["headers"]
    assert "authorization" not in removed["headers"]
    # Per-request changes do not leak into the client's defaults.
    again = client.request_json("GET", "/echo")["headers"]
    assert (again["x-team"], again["authorization"]) == ("core", "Bearer tok-123")
    assert "x-extra" not in again


@pytest.mark.needs("client")
def test_client_headers_are_mutable_defaults(make_client: DriverFactory) -> None:
    client = make_client()
    client.client.headers.set("X-Tenant", "acme")
    assert client.request_json("GET", "/echo")["headers"]["x-tenant"] == "acme"


# -- query parameters ------------------------------------------------------------------------


def test_params_are_encoded_merged_and_none_dropped(make_client: DriverFactory) -> None:
    client = make_client(params={"api_version": "2", "lang": "en"})
    path = client.request_json(
        "GET",
        "/echo",
        params={"q": "a b&c=é+", "tags": ["x", "y"], "skip": None, "lang": "fr"},
    )["path"]
    assert path == "/echo?api_version=2&lang=fr&q=a+b%26c%3D%C3%A9%2B&tags=x&tags=y"


def test_params_values_arrive_intact(make_client: DriverFactory) -> None:
    # Compared decoded: aiohttp (yarl) re-quotes a query's `%2F` as `/`, which is equivalent.
    value = "path/with?odd#chars:@ ü"
    path = make_client().request_json("GET", "/echo", params={"v": value})["path"]
    assert parse_qs(urlsplit(path).query) == {"v": [value]}


def test_params_extend_a_query_already_in_the_url(make_client: DriverFactory) -> None:
    client = make_client(params={"api_version": "2"})
    assert client.request_json("GET", "/echo?page=3")["path"] == "/echo?page=3&api_version=2"
    assert client.request_json("GET", "/echo")["path"] == "/echo?api_version=2"


# -- bodies ----------------------------------------------------------------------------------


def test_json_body_is_compact_utf8_with_its_content_type(make_client: DriverFactory) -> None:
    client = make_client()
    echoed = client.request_json("POST", "/echo", json={"name": "café", "n": [1, 2]})
    assert echoed["method"] == "POST"
    assert echoed["body"] == '{"name":"café","n":[1,2]}'
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["headers"]["content-length"] == str(len('{"name":"café","n":[1,2]}'.encode()))


def test_explicit_content_type_wins_over_the_json_default(make_client: DriverFactory) -> None:
    client = make_client()
    echoed = client.request_json(
        "PATCH",
        "/echo",
        json={"op": "x"},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert echoed["headers"]["content-type"] == "application/merge-patch+json"
    assert echoed["body"] == '{"op":"x"}'


def test_form_and_raw_bodies(make_client: DriverFactory) -> None:
    client = make_client()
    form = client.request_json("PUT", "/echo", data={"a": "1 2", "b": ["x", "y"]})
    assert form["body"] == "a=1+2&b=x&b=y"
    assert form["headers"]["content-type"] == "application/x-www-form-urlencoded"
    raw = client.request_json(
        "POST", "/echo", content="raw text", headers={"Content-Type": "text/plain"}
    )
    assert (raw["body"], raw["headers"]["content-type"]) == ("raw text", "text/plain")


def test_head_and_options_and_delete(make_client: DriverFactory) -> None:
    client = make_client()
    head = client.request("HEAD", "/echo")
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0
    assert client.request_json("OPTIONS", "/echo")["method"] == "OPTIONS"
    assert client.request_json("DELETE", "/echo")["method"] == "DELETE"


# -- timeouts --------------------------------------------------------------------------------


@pytest.mark.needs("client")
def test_default_timeout_is_5_connect_30_read(make_client: DriverFactory) -> None:
    assert make_client().client.timeout == Timeout(connect=5.0, read=30.0)


@pytest.mark.needs("client")
def test_timeout_arguments_are_coerced(make_client: DriverFactory) -> None:
    assert make_client(timeout=2).client.timeout == Timeout(2.0, 2.0)
    assert make_client(timeout=(1, 9)).client.timeout == Timeout(1, 9)
    assert make_client(timeout=None).client.timeout == Timeout(None, None, None)


@pytest.mark.real_wait
def test_per_request_timeout_overrides_and_none_is_explicit(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    client = make_client(timeout=(2, 0.1), retry=None)
    with pytest.raises(ReadTimeout):
        client.request("GET", f"/slow/{key}?delay=1")
    # An explicit None lifts the limit for this call only.
    assert client.request("GET", f"/slow/{key}?delay=0.3", timeout=None).status_code == 200
    assert client.request("GET", f"/slow/{key}?delay=0.3", timeout=(2, 2)).status_code == 200
    with pytest.raises(ReadTimeout):
        client.request("GET", f"/slow/{key}?delay=1")
    assert origin.hits(key) == 4


# -- redirects -------------------------------------------------------------------------------


def test_303_after_post_is_followed_with_a_get_without_body(
    make_client: DriverFactory, origin: Origin
) -> None:
    client = make_client()
    response = client.request(
        "POST", "/redirect", params={"to": "/echo", "status": 303}, json={"name": "widget"}
    )
    echoed = response.json()

    assert response.status_code == 200
    assert response.url == f"{origin.url}/echo"
    assert [r.status_code for r in response.history] == [303]
    assert (echoed["method"], echoed["body"]) == ("GET", "")


@pytest.mark.needs("restwell_redirects")
def test_303_drops_the_body_headers_with_the_body(make_client: DriverFactory) -> None:
    # (httpx and aiohttp, following redirects themselves, keep the Content-Type.)
    client = make_client()
    echoed = client.request_json(
        "POST", "/redirect", params={"to": "/echo", "status": 303}, json={"name": "widget"}
    )
    assert echoed["method"] == "GET"
    assert "content-type" not in echoed["headers"]


def test_307_keeps_method_and_body(make_client: DriverFactory) -> None:
    client = make_client()
    echoed = client.request_json(
        "POST", "/redirect", params={"to": "/echo", "status": 307}, json={"name": "widget"}
    )
    assert (echoed["method"], echoed["body"]) == ("POST", '{"name":"widget"}')
    assert echoed["headers"]["content-type"] == "application/json"


@pytest.mark.needs("credentials")
def test_authorization_is_kept_on_a_same_origin_redirect(
    make_client: DriverFactory, origin: Origin
) -> None:
    client = make_client(token="tok-123")
    echoed = client.request_json(
        "GET",
        "/redirect",
        params={"to": f"{origin.url}/echo"},
        headers={"Cookie": "session=abc"},
    )
    assert echoed["headers"]["authorization"] == "Bearer tok-123"
    assert echoed["headers"]["cookie"] == "session=abc"


@pytest.mark.needs("credentials")
def test_credentials_are_dropped_on_a_cross_origin_redirect(
    make_client: DriverFactory, origin: Origin
) -> None:
    # Same server, but `localhost` is another origin than `127.0.0.1` (RFC 6454).
    client = make_client(token="tok-123", headers={"X-Trace": "t1"})
    target = f"{origin.url_via('localhost')}/echo"
    response = client.request(
        "GET", "/redirect", params={"to": target}, headers={"Cookie": "session=abc"}
    )
    echoed = response.json()

    assert response.url == target
    assert echoed["headers"]["host"] == f"localhost:{origin.port}"
    assert "authorization" not in echoed["headers"]
    assert "cookie" not in echoed["headers"]
    assert echoed["headers"]["x-trace"] == "t1"  # other headers still go


@pytest.mark.needs("restwell_redirects")
def test_redirect_chains_up_to_max_redirects(make_client: DriverFactory) -> None:
    client = make_client(max_redirects=3)
    response = client.request("GET", "/hops/3")
    assert response.json() == {"arrived": True}
    assert [r.url.rsplit("/", 1)[1] for r in response.history] == ["3", "2", "1"]

    with pytest.raises(TooManyRedirects) as info:
        client.request("GET", "/hops/4")
    assert info.value.response.status_code == 302
    assert info.value.response.headers["location"] == "/hops/0"
    assert str(info.value).startswith("more than 3 redirects for GET")


def test_redirects_are_not_followed_when_turned_off(make_client: DriverFactory) -> None:
    client = make_client(follow_redirects=False)
    response = client.request("GET", "/hops/2")
    assert (response.status_code, response.headers["location"], response.history) == (
        302,
        "/hops/1",
        [],
    )


def test_slow_redirect_target_still_times_out_per_attempt(
    make_client: DriverFactory, origin: Origin, key: str
) -> None:
    client = make_client(timeout=(2, 0.1), retry=None)
    with pytest.raises(ReadTimeout) as info:
        client.request("GET", "/redirect", params={"to": f"/slow/{key}?delay=1"})
    assert origin.hits(key) == 1  # the target was reached, and did not answer in time
    assert info.value.request is not None
    if "restwell_redirects" in client.capabilities:
        # restwell followed the redirect, so its error names the hop that timed out (an
        # integration's library raises its own error, translated here for the call made).
        assert info.value.request.url.endswith(f"/slow/{key}?delay=1")
