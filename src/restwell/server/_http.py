"""HTTP details shared by the routes: JSON bytes, entity tags, RFC 9457 problem responses."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
MERGE_PATCH_JSON = "application/merge-patch+json"


def dump_json(value: Any) -> bytes:
    """Serialize compactly and deterministically, so equal values get equal bytes and ETags."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def strong_etag(body: bytes) -> str:
    """A strong entity tag (RFC 9110 §8.8.3) derived from the exact representation bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
# Commas are legal inside the quotes, so a list cannot simply be split on ",".
_ETAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def _parse_etags(header: str) -> list[tuple[bool, str]] | None:
    """Parse ``If-Match``/``If-None-Match``; ``None`` for ``*``, (weak, tag) pairs otherwise."""
    if header.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    pos = 0
    while pos < len(header):
        match = _ETAG.match(header, pos)
        if match is None:
            break  # the rest is malformed: keep what parsed, which can only make matching fail
        tags.append((match.group(1) is not None, match.group(2)))
        pos = match.end()
    return tags


def if_match_passes(header: str, current: str) -> bool:
    """Evaluate ``If-Match`` against an existing representation (strong comparison, §13.1.1)."""
    tags = _parse_etags(header)
    return tags is None or any(not weak and tag == current for weak, tag in tags)


def if_none_match_matches(header: str, current: str) -> bool:
    """Whether ``If-None-Match`` matches an existing representation (weak comparison, §13.1.2)."""
    tags = _parse_etags(header)
    return tags is None or any(tag == current for _, tag in tags)


class ProblemError(Exception):
    """Raised anywhere in a request to answer with an RFC 9457 problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.errors = errors


# RFC 9110 §15 names, where Python's HTTPStatus (before 3.13) still has the RFC 7231 ones.
_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}


def problem_response(
    status: int,
    detail: str,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Response:
    """Build an ``application/problem+json`` response (RFC 9457 §3).

    The type is ``about:blank``: the status code carries the meaning, so the title is the status
    phrase (§4.2.1) and the specifics go in ``detail`` and, for validation, ``errors``.
    """
    document: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        document["errors"] = errors
    return Response(dump_json(document), status, headers=headers, media_type=PROBLEM_JSON)
