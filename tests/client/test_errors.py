"""Typed errors that say what happened, and secrets that never show."""

from __future__ import annotations

import logging
import traceback

import pytest

import restwell
from restwell import DecodeError, HTTPStatusError
from restwell.errors import (
    BadRequest,
    ClientError,
    Conflict,
    ConnectError,
    Forbidden,
    GatewayTimeout,
    Gone,
    InternalServerError,
    InvalidURL,
    NotFound,
    PreconditionFailed,
    ReadTimeout,
    ServerError,
    TooManyRequests,
    Unauthorized,
    UnprocessableEntity,
)
from tests.client.support import fast
from tests.drivers import DriverFactory
from tests.origin import Origin

# -- status errors ---------------------------------------------------------------------------


def test_html_500_raises_internal_server_error_not_a_json_error(
    make_client: DriverFactory, origin: Origin, no_sleep: list[float]
) -> None:
    client = make_client()
    with pytest.raises(InternalServerError) as info:
        client.request_json("GET", "/html500")

    error = info.value
    assert not isinstance(error, ValueError | DecodeError)
    assert error.status_code == 500
    assert error.response.attempts == 4  # 500 is retried first
    assert error.body_excerpt.startswith(
        "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    )
    assert str(error) == (
        f"500 Internal Server Error for GET {origin.url}/html500: {error.body_excerpt}"
    )
    assert "upstream exploded" in str(error)


def test_error_excerpt_is_bounded(make_client: DriverFactory) -> None:
    # A long error body is cut to 200 characters in the message.
    client = make_client(retry=None)
    response = client.request("GET", "/status/418", params={"pad": "x" * 500})
    assert response.status_code == 418
    error = response.error()
    assert type(error) is ClientError
    assert len(error.body_excerpt) <= 200


def test_json_of_text_plain_raises_decode_error_naming_the_type(
    make_client: DriverFactory, origin: Origin
) -> None:
    client = make_client()
    response = client.request("GET", "/text")
    with pytest.raises(DecodeError) as info:
        response.json()

    assert isinstance(info.value, ValueError)
    assert info.value.content_type == "text/plain"
    assert info.value.response is response
    assert str(info.value) == (
        f"expected JSON from 200 response for GET {origin.url}/text, got text/plain; "
        "body starts: plain words, not JSON"
    )
    with pytest.raises(DecodeError, match="got text/plain"):
        client.request_json("GET", "/text")


@pytest.mark.parametrize(
    ("status", "error_type", "family"),
    [
        (400, BadRequest, ClientError),
        (401, Unauthorized, ClientError),
        (403, Forbidden, ClientError),
        (404, NotFound, ClientError),
        (409, Conflict, ClientError),
        (410, Gone, ClientError),
        (412, PreconditionFailed, ClientError),
        (422, UnprocessableEntity, ClientError),
        (429, TooManyRequests, ClientError),
        (418, ClientError, ClientError),
        (500, InternalServerError, ServerError),
        (504, GatewayTimeout, ServerError),
        (599, ServerError, ServerError),
    ],
)
def test_request_json_raises_the_typed_error_of_each_status(
    make_client: DriverFactory,
    status: int,
    error_type: type[HTTPStatusError],
    family: type[HTTPStatusError],
) -> None:
    client = make_client(retry=None)
    with pytest.raises(error_type) as info:
        client.request_json("GET", f"/status/{status}")
    assert type(info.value) is error_type
    assert isinstance(info.value, family)
    assert info.value.status_code == status
    assert info.value.request is info.value.response.request
    assert info.value.body_excerpt == f'{{"status": {status}}}'


def test_success_statuses_decode_or_give_none(make_client: DriverFactory) -> None:
    client = make_client()
    assert client.request_json("GET", "/status/201") == {"status": 201}
    assert client.request_json("DELETE", "/status/204") is None
    response = client.request("GET", "/status/204")
    assert (response.status_code, response.content) == (204, b"")
    assert response.raise_for_status() is response


# -- secrets never show ----------------------------------------------------------------------

TOKEN = "tok-SECRET-bearer"
QUERY = "qs-SECRET-param"
API_KEY = "key-SECRET-header"
AUTH_TOKEN = "auth-SECRET-header"
SECRETS = (TOKEN, QUERY, API_KEY, AUTH_TOKEN)


def _clean(text: str) -> bool:
    return not any(secret in text for secret in SECRETS)


def _chain(error: BaseException) -> str:
    """Every message of ``error`` and of its causes, as a traceback would show them."""
    return "".join(
        "".join(traceback.format_exception_only(each)) for each in [error, *_causes(error)]
    )


def _causes(error: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current = error.__cause__ or error.__context__
    while current is not None and len(out) < 10:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


@pytest.mark.needs("client", "credentials")
def test_tokens_never_appear_in_reprs_errors_or_logs(
    make_client: DriverFactory,
    origin: Origin,
    key: str,
    dead_url: str,
    no_sleep: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="restwell")
    client = make_client(
        f"{origin.url}/",
        token=TOKEN,
        headers={"X-Api-Key": API_KEY, "X-Auth-Token": AUTH_TOKEN},
        params={"token": QUERY},
        retry=fast(3),
        timeout=(2, 0.1),
    )
    # Retried, then successful: INFO records of each retry.
    response = client.request("GET", f"/flaky/{key}?fail=2")
    assert response.status_code == 200
    seen = origin.seen(key)[0]
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"  # it was sent ...
    assert seen.headers["x-auth-token"] == AUTH_TOKEN
    assert QUERY in seen.path

    # ... and shows nowhere.
    assert _clean(repr(client.client))
    assert _clean(repr(client.client.headers))
    assert _clean(repr(response))
    assert _clean(repr(response.request))
    assert _clean(repr(response.request.headers))
    assert "[redacted]" in repr(response.request.headers)

    # Errors: a status error, a timeout after retries (WARNING record), a refused connection.
    status_error = client.request("GET", "/status/401").error()
    with pytest.raises(ReadTimeout) as timeout:
        client.request("GET", f"/slow/{key}?delay=1")
    dead = make_client(dead_url, token=TOKEN, params={"token": QUERY}, retry=fast(2))
    with pytest.raises(ConnectError) as refused:
        dead.request("GET", "/items")
    for error in (status_error, timeout.value, refused.value):
        assert "token=[redacted]" in str(error)
        assert _clean(_chain(error)), _chain(error)
        assert _clean(repr(error))

    records = [r for r in caplog.records if r.name == "restwell"]
    assert {r.levelno for r in records} == {logging.INFO, logging.WARNING}
    assert len(records) == 2 + 2 + 1 + 2  # 2 + 2 + 1 retries, 2 give-ups
    for record in records:
        assert _clean(record.getMessage())
        assert _clean(repr(record.__dict__))


@pytest.mark.needs("client")
def test_userinfo_in_base_url_is_not_shown(make_client: DriverFactory, origin: Origin) -> None:
    host = origin.url.removeprefix("http://")
    client = make_client(f"http://ada:{TOKEN}@{host}")
    assert _clean(repr(client.client))
    request = client.client.build_request("GET", "/ok")
    assert _clean(repr(request))


@pytest.mark.parametrize("url", ["http://:80/x", "http://[::1/x", "ftp://host/x"])
def test_unusable_urls_raise_invalid_url_with_secrets_redacted(
    make_client: DriverFactory, url: str
) -> None:
    client = make_client(retry=None)
    with pytest.raises(InvalidURL) as info:
        client.request("GET", f"{url}?token={QUERY}")
    assert isinstance(info.value, ValueError)
    # (An unparsable URL has its whole query hidden.)
    assert str(info.value).startswith(f"cannot request GET {url}?")
    assert "[redacted]: " in str(info.value)
    assert _clean(str(info.value))


def test_a_relative_url_without_base_url_is_refused_redacted() -> None:
    with restwell.Client() as bare, pytest.raises(InvalidURL) as info:
        bare.build_request("GET", f"/items?token={QUERY}")
    assert str(info.value) == "relative URL '/items?token=[redacted]' needs a client base_url"
    with pytest.raises(InvalidURL) as base:
        restwell.Client(f"ftp://ada:{TOKEN}@example.com/?token={QUERY}")
    assert _clean(str(base.value))


def test_decode_error_messages_redact_the_url(make_client: DriverFactory) -> None:
    client = make_client()
    with pytest.raises(DecodeError) as info:
        client.request_json("GET", "/text", params={"access_token": QUERY})
    assert _clean(str(info.value))
    assert "access_token=[redacted]" in str(info.value)


def test_restwell_errors_share_one_base(make_client: DriverFactory) -> None:
    client = make_client(retry=None)
    with pytest.raises(restwell.RestwellError):
        client.request_json("GET", "/status/404")
    with pytest.raises(restwell.RestwellError):
        client.request_json("GET", "/text")
