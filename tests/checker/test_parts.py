"""The checker's pure parts: Link parsing, input validation, and its import boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from restwell.checker import find_rel, parse_body, parse_header, parse_links, validate_url


def test_link_headers_are_parsed_per_rfc_8288() -> None:
    links = parse_links(
        [
            '</items?cursor=a,b>; rel="next last"; title="x, y; z", <https://x.test/1>; rel=first',
            "<broken; rel=next",
            '</items?page=9>; REL="prev"; rel="next"',
        ]
    )
    assert links[0] == ("/items?cursor=a,b", {"rel": "next last", "title": "x, y; z"})
    assert links[1] == ("https://x.test/1", {"rel": "first"})
    assert links[2] == ("/items?page=9", {"rel": "prev"})  # only the first rel counts
    assert find_rel(links, "next") == "/items?cursor=a,b"
    assert find_rel(links, "LAST") == "/items?cursor=a,b"
    assert find_rel(links, "prev") == "/items?page=9"
    assert find_rel(links, "up") is None
    assert parse_links([]) == []


def test_headers_bodies_and_urls_are_validated() -> None:
    assert parse_header("Authorization:  Bearer a:b ") == ("Authorization", "Bearer a:b")
    assert parse_header("X-Empty:") == ("X-Empty", "")
    for bad in ("NoColon", ": value", "Sp ace: x", "X: a\r\nInjected: 1"):
        with pytest.raises(ValueError, match="invalid header"):
            parse_header(bad)
    assert parse_body('{"name": "x"}') == {"name": "x"}
    with pytest.raises(ValueError, match="JSON object"):
        parse_body('"text"')
    assert validate_url("https://127.0.0.1:8443/v1/items?x=1") == (
        "https://127.0.0.1:8443/v1/items?x=1"
    )
    with pytest.raises(ValueError, match="invalid URL"):
        validate_url("")


def test_the_checker_does_not_import_the_server_or_rich() -> None:
    code = (
        "import sys, restwell.checker; "
        "bad = [m for m in ('restwell.server', 'fastapi', 'sqlalchemy', 'uvicorn', 'rich') "
        "if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
