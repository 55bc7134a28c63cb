"""The checks: the REST lifecycle of one resource, and the HTTP semantics around it.

Each check is a function of a :class:`Context` that sends requests through the context's
:class:`~restwell.checker._session.CheckSession` and returns an
:class:`~restwell.checker._model.Outcome` or raises ``CheckFailed`` / ``CheckSkipped``. They
run in the order of :data:`CHECKS`; the lifecycle checks share one resource (created by
``lifecycle.create``), so the order is part of the definition.

The rules, and where they come from:

- POST to a collection creates: ``201 Created`` and a ``Location`` (RFC 9110 §9.3.3, §15.3.2).
- GET is safe (§9.2.1): repeating it changes nothing. HEAD is GET without the body, with the
  same header fields (§9.3.2); general-purpose servers must support both (§9.1).
- PUT replaces the whole state (§9.3.4), answering 200 or 204, and is idempotent (§9.2.2).
- PATCH with ``application/merge-patch+json`` merges (RFC 7396): members named change, the
  others stay.
- DELETE is idempotent (§9.2.2): a second one leaves the same state; afterwards the resource
  is gone (404, or 410 Gone).
- A 405 must carry ``Allow`` listing the methods the resource does support (§15.5.6).
- With ETags: ``If-None-Match`` with the current tag gives 304 (§13.1.2, §15.4.5) carrying
  the tag; ``If-Match`` with a stale tag gives 412 and writes nothing (§13.1.1).
- ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header): a repeat replays the first
  response and creates nothing new; servers that ignore the header are not judged.
- Pagination with ``Link: <...>; rel="next"`` (RFC 8288): followed as given, bounded.
- Invalid input (malformed JSON, an array where an object belongs) is the client's fault:
  4xx; nothing the client sends should make a server answer 5xx.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote, urljoin, urlsplit

from restwell._models import Response
from restwell.checker._model import Check, CheckFailed, CheckSkipped, Outcome
from restwell.checker._session import (
    CheckSession,
    NotRun,
    TransportFailure,
    describe,
    info,
    json_body,
    status_text,
)
from restwell.policy import origin_of
from restwell.policy.links import find_rel, parse_links

__all__ = ["CHECKS", "DEFAULT_BODY", "MAX_PAGES", "Context"]

DEFAULT_BODY: Final[dict[str, Any]] = {
    "name": "widget",
    "description": "A sample item",
    "price": 9.99,
    "tags": ["sample", "restwell"],
}
"""The sample body used when none is given (a valid item for restwell's reference server)."""

MAX_PAGES: Final = 25
"""Most pages the pagination check follows."""

MERGE_PATCH_JSON: Final = "application/merge-patch+json"
JSON: Final = "application/json"
_REPLAY_HEADERS: Final = ("Idempotent-Replayed", "Idempotency-Replayed", "X-Idempotent-Replayed")


@dataclass
class Context:
    """What the checks share: the session, the target, and what earlier checks learned.

    Attributes:
        session: Sends the requests.
        collection: The collection URL (e.g. ``http://127.0.0.1:8000/items``).
        body: The sample JSON object POSTed to create a resource.
        id_field: Member of a representation holding its id (used when there is no
            ``Location``, and to recognise items in listings).
        item_url: The URL of the resource created by ``lifecycle.create``.
        item_id: Its id, from the body or the ``Location``.
        patch_type: The media type PATCH bodies are sent as (merge patch, unless the server
            refuses it with 415).
        after_delete: The status of a GET after the first DELETE.
        created: URLs of resources created along the way, deleted at clean-up.
    """

    session: CheckSession
    collection: str
    body: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_BODY))
    id_field: str = "id"
    item_url: str | None = None
    item_id: str | None = None
    patch_type: str = MERGE_PATCH_JSON
    after_delete: int | None = None
    created: list[str] = field(default_factory=list)

    @property
    def item(self) -> str:
        """The created resource's URL (checks that use it depend on ``lifecycle.create``)."""
        if self.item_url is None:
            raise CheckSkipped("no resource was created")
        return self.item_url

    def locate(self, response: Response) -> tuple[str | None, str | None]:
        """Where the resource a create answered with lives: ``(url, id)``, either may be None.

        The URL is the ``Location`` (resolved against the request URL, RFC 9110 §10.2.2), or
        the collection URL plus the id; the id is the body's ``id_field``, or the last path
        segment of the ``Location``. A ``Location`` on another origin gives no URL: the
        checker does not send the user's headers (credentials) anywhere else.
        """
        data: Any = None
        if response.content:
            try:
                data = json.loads(response.content)
            except (ValueError, UnicodeDecodeError):
                data = None
        item_id = _id_of(data, self.id_field)
        location = response.headers.get("location")
        if location:
            url = urljoin(response.request.url, location)
            if item_id is None:
                item_id = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or None
            if origin_of(url) != origin_of(self.collection):
                return None, item_id
            return url, item_id
        if item_id is not None:
            return f"{self.collection.rstrip('/')}/{quote(item_id, safe='')}", item_id
        return None, None

    def mutable_field(self) -> str | None:
        """The member of the sample body the checks change (``None`` if there is none).

        The first string, else the first number, else the first boolean; never the id field.
        """
        fields = [k for k in self.body if k != self.id_field]
        for kinds in ((str,), (int, float), (bool,)):
            for key in fields:
                value = self.body[key]
                if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
                    return key
        return None

    def variant(self, tag: str, number: int) -> dict[str, Any] | None:
        """The sample body with its mutable field changed (``None`` if it has none).

        Strings get `` (tag)`` appended, numbers ``number`` added, booleans flipped, so
        different tags give different bodies.
        """
        key = self.mutable_field()
        if key is None:
            return None
        value = self.body[key]
        changed: Any
        if isinstance(value, bool):
            changed = not value
        elif isinstance(value, int | float):
            changed = value + number
        else:
            changed = f"{value} ({tag})"
        return {**self.body, key: changed}

    def cleanup(self) -> None:
        """Delete every resource created along the way (best effort, answers ignored)."""
        session = self.session
        session.check_id = "cleanup"
        for url in dict.fromkeys(self.created):
            if session.gave_up is not None:
                break
            try:
                session.delete(url)
            except (TransportFailure, NotRun):
                continue
        self.created.clear()


# --- helpers -------------------------------------------------------------------------------


def _id_of(data: Any, id_field: str) -> str | None:
    if isinstance(data, dict):
        value = data.get(id_field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _same(a: Any, b: Any) -> bool:
    """JSON equality, with numbers compared as numbers (``1 == 1.0``) but not booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_MISSING: Final[Any] = object()


def _show(value: Any, limit: int = 40) -> str:
    if value is _MISSING:
        return "absent"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_json_type(response: Response) -> bool:
    media = response.content_type
    return media == JSON or media.endswith("+json")


def _expect(response: Response, allowed: Collection[int], *, usable: bool = False) -> None:
    if response.status_code not in allowed:
        raise CheckFailed(describe(response), info(response), usable=usable)


def _object(response: Response) -> dict[str, Any]:
    """The JSON object in ``response``'s body, or a failure saying what came instead."""
    try:
        data = json_body(response)
    except ValueError as exc:
        raise CheckFailed(f"{status_text(response)}, but {exc}", info(response)) from None
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else f"a JSON {type(data).__name__}"
        raise CheckFailed(f"{status_text(response)}, but the body is {kind}", info(response))
    return data


def _fetch(ctx: Context, url: str) -> tuple[Response, dict[str, Any]]:
    """GET a representation: 200 with a JSON object, or a failure."""
    response = ctx.session.get(url)
    _expect(response, (200,))
    return response, _object(response)


def _differences(
    expected: dict[str, Any], actual: dict[str, Any], keys: Collection[str]
) -> list[str]:
    return [
        f"{key!r} is {_show(actual.get(key, _MISSING))}, expected {_show(expected[key])}"
        for key in keys
        if not _same(actual.get(key, _MISSING), expected[key])
    ]


def _listed(problems: list[str], limit: int = 2) -> str:
    shown = "; ".join(problems[:limit])
    return shown + (f" (+{len(problems) - limit} more)" if len(problems) > limit else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _short(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _sent_fields(ctx: Context, body: dict[str, Any]) -> list[str]:
    return [k for k in body if k != ctx.id_field]


# --- lifecycle -----------------------------------------------------------------------------


def _create(ctx: Context) -> Outcome:
    response = ctx.session.post(ctx.collection, json=ctx.body)
    url, item_id = ctx.locate(response)
    if response.is_success and url is not None:
        ctx.item_url, ctx.item_id = url, item_id
        ctx.created.append(url)
    location = response.headers.get("location")
    if response.status_code == 201 and location and url is not None:
        return Outcome(f"201 Created, Location: {_short(url)}", info(response))
    if not response.is_success:
        raise CheckFailed(describe(response), info(response))
    problems = []
    if response.status_code != 201:
        problems.append(f"{status_text(response)} instead of 201 Created")
    if not location:
        problems.append("no Location header")
    if location and url is None:
        found = f"Location {location} is on another origin (not followed)"
    elif url is None and response.content and not _is_json_type(response):
        media = response.content_type or "no content type"
        found = f"the new item cannot be found (no Location; the body is {media}, not JSON)"
    elif url is None:
        found = f"the new item cannot be found (no Location, no {ctx.id_field!r} in the body)"
    else:
        found = f"the new item was found at {_short(url)}"
    got = "; ".join(part for part in (", ".join(problems), found) if part)
    raise CheckFailed(got, info(response), usable=url is not None)


def _read(ctx: Context) -> Outcome:
    response, data = _fetch(ctx, ctx.item)
    problems = _differences(ctx.body, data, _sent_fields(ctx, ctx.body))
    if not _is_json_type(response):
        media = response.content_type or "no content type"
        problems.insert(0, f"Content-Type is {media}, not JSON")
    if problems:
        raise CheckFailed(f"200, but {_listed(problems)}", info(response), usable=True)
    sent = len(_sent_fields(ctx, ctx.body))
    return Outcome(f"200, a JSON object with all {sent} fields sent", info(response))


def _replace(ctx: Context) -> Outcome:
    url, key = ctx.item, ctx.mutable_field()
    # Omit one field that has a non-empty value, so that "reset to its default" shows. If the
    # server refuses every omission (400/422: all fields required), replace without omitting.
    omittable = [k for k in reversed(ctx.body) if k not in (key, ctx.id_field) and ctx.body[k]]
    replaced = ctx.variant("replaced", 1) or dict(ctx.body)
    refused: list[str] = []
    for omit in [*omittable, None]:
        new = {k: v for k, v in replaced.items() if k != omit}
        response = ctx.session.put(url, json=new)
        if response.status_code in (400, 422) and omit is not None:
            refused.append(omit)
            continue
        break
    _expect(response, (200, 204))
    _, data = _fetch(ctx, url)
    problems = _differences(new, data, _sent_fields(ctx, new))
    notes = []
    if omit is not None:
        old = ctx.body[omit]
        now = data.get(omit, _MISSING)
        if _same(now, old):
            problems.append(f"omitted {omit!r} kept its value {_show(old)} (merged, not replaced)")
        else:
            notes.append(
                f"omitted {omit!r} {'gone' if now is _MISSING else 'reset to ' + _show(now)}"
            )
    elif refused:
        notes.append("every omission was refused, so replacement of omitted fields is untested")
    if problems:
        raise CheckFailed(
            f"{status_text(response)}, but {_listed(problems)}", info(response), usable=True
        )
    if key is not None:
        notes.insert(0, f"{key!r} replaced")
    got = status_text(response) + (f"; {', '.join(notes)}" if notes else "")
    return Outcome(got, info(response))


def _merge(ctx: Context) -> Outcome:
    url, key = ctx.item, ctx.mutable_field()
    merged = ctx.variant("merged", 2)
    if key is None or merged is None:
        raise CheckSkipped("the sample body has no string, number or boolean field to change")
    _, before = _fetch(ctx, url)
    patch = {key: merged[key]}
    response = ctx.session.patch(url, json=patch, headers={"Content-Type": MERGE_PATCH_JSON})
    note = ""
    if response.status_code == 415:
        # Not every server knows RFC 7396's media type; a merge sent as plain JSON is common.
        ctx.patch_type = JSON
        response = ctx.session.patch(url, json=patch, headers={"Content-Type": JSON})
        note = f" (as {JSON}: {MERGE_PATCH_JSON} got 415)"
    _expect(response, (200, 204))
    _, after = _fetch(ctx, url)
    problems = _differences(patch, after, [key])
    others = [k for k in _sent_fields(ctx, ctx.body) if k != key]
    problems += [
        f"{k!r} changed from {_show(before.get(k, _MISSING))} to {_show(after.get(k, _MISSING))}"
        for k in others
        if not _same(before.get(k, _MISSING), after.get(k, _MISSING))
    ]
    if problems:
        raise CheckFailed(
            f"{status_text(response)}, but {_listed(problems)}", info(response), usable=True
        )
    return Outcome(
        f"{status_text(response)}; {key!r} changed, {len(others)} other field(s) kept{note}",
        info(response),
    )


def _delete(ctx: Context) -> Outcome:
    response = ctx.session.delete(ctx.item)
    _expect(response, (200, 204))
    ctx.created = [u for u in ctx.created if u != ctx.item_url]
    return Outcome(status_text(response), info(response))


def _read_after_delete(ctx: Context) -> Outcome:
    response = ctx.session.get(ctx.item)
    ctx.after_delete = response.status_code
    if response.is_success:
        raise CheckFailed(f"{status_text(response)}: the item is still there", info(response))
    _expect(response, (404, 410))
    return Outcome(status_text(response), info(response))


def _delete_again(ctx: Context) -> Outcome:
    response = ctx.session.delete(ctx.item)
    _expect(response, (204, 404, 410))
    return Outcome(status_text(response), info(response))


def _write_after_delete(ctx: Context, method: str) -> Outcome:
    if method == "PUT":
        response = ctx.session.put(ctx.item, json=ctx.body)
    else:
        headers = {"Content-Type": ctx.patch_type}
        response = ctx.session.patch(ctx.item, json=ctx.variant("merged", 2), headers=headers)
    if response.is_success:
        ctx.created.append(ctx.item)
        raise CheckFailed(f"{status_text(response)}: the deleted item was written", info(response))
    _expect(response, (404, 410))
    return Outcome(status_text(response), info(response))


def _replace_after_delete(ctx: Context) -> Outcome:
    return _write_after_delete(ctx, "PUT")


def _merge_after_delete(ctx: Context) -> Outcome:
    return _write_after_delete(ctx, "PATCH")


# --- semantics -----------------------------------------------------------------------------


def _rejected(ctx: Context, response: Response, what: str) -> Outcome:
    if response.is_success:
        url, _ = ctx.locate(response)
        if url is not None:
            ctx.created.append(url)
        raise CheckFailed(f"{status_text(response)}: {what} was accepted", info(response))
    if not 400 <= response.status_code < 500:
        raise CheckFailed(describe(response), info(response))
    return Outcome(status_text(response), info(response))


def _malformed_json(ctx: Context) -> Outcome:
    # The sample body cut short: looks like JSON, is not (RFC 8259).
    content = json.dumps(ctx.body).encode()[:-1] + b","
    response = ctx.session.post(ctx.collection, content=content, headers={"Content-Type": JSON})
    return _rejected(ctx, response, "malformed JSON")


def _non_object_body(ctx: Context) -> Outcome:
    response = ctx.session.post(ctx.collection, json=[ctx.body])
    return _rejected(ctx, response, "an array")


def _get_safe(ctx: Context) -> Outcome:
    first, one = _fetch(ctx, ctx.item)
    second, two = _fetch(ctx, ctx.item)
    if not _same(one, two):
        changed = [k for k in one.keys() | two.keys() if not _same(one.get(k), two.get(k))]
        raise CheckFailed(
            f"the second GET differs in {', '.join(map(repr, sorted(changed)))}", info(second)
        )
    tag1, tag2 = first.headers.get("etag"), second.headers.get("etag")
    if tag1 != tag2:
        raise CheckFailed(f"the ETag changed between two GETs ({tag1} → {tag2})", info(second))
    return Outcome("two GETs, same representation" + (" and ETag" if tag1 else ""), info(second))


def _head_matches_get(ctx: Context) -> Outcome:
    get, _ = _fetch(ctx, ctx.item)
    head = ctx.session.head(ctx.item)
    if head.status_code != get.status_code:
        raise CheckFailed(f"HEAD: {describe(head)}; GET: 200", info(head))
    problems = []
    if head.content:
        problems.append(f"HEAD sent a body of {len(head.content)} bytes")
    if head.content_type != get.content_type:
        problems.append(f"Content-Type {head.content_type or 'absent'} vs {get.content_type}")
    for name in ("ETag", "Content-Length"):
        mine, theirs = head.headers.get(name), get.headers.get(name)
        # RFC 9110 §8.6: a HEAD may leave Content-Length out, but if sent it must match.
        if mine != theirs and not (name == "Content-Length" and mine is None):
            problems.append(f"{name} {mine or 'absent'} vs GET's {theirs or 'absent'}")
    if problems:
        raise CheckFailed(f"200, but {_listed(problems)}", info(head))
    shown = [n for n in ("Content-Type", "ETag", "Content-Length") if n in head.headers]
    return Outcome(f"200, same {', '.join(shown)}, no body", info(head))


def _etag(ctx: Context) -> tuple[Response, dict[str, Any], str]:
    response, data = _fetch(ctx, ctx.item)
    tag = response.headers.get("etag")
    if not tag:
        raise CheckSkipped("the server sends no ETag", info(response))
    return response, data, tag


def _if_none_match(ctx: Context) -> Outcome:
    _, _, tag = _etag(ctx)
    response = ctx.session.get(ctx.item, headers={"If-None-Match": tag})
    _expect(response, (304,))
    problems = []
    if response.content:
        problems.append(f"a body of {len(response.content)} bytes")
    sent = response.headers.get("etag")
    # RFC 9110 §15.4.5: a 304 carries the ETag a 200 would have carried.
    if sent != tag:
        problems.append(f"ETag {sent or 'absent'}, expected {tag}")
    if problems:
        raise CheckFailed(f"304, but {_listed(problems)}", info(response))
    return Outcome(f"304 Not Modified with ETag {tag}", info(response))


def _put_idempotent(ctx: Context) -> Outcome:
    body = ctx.variant("idempotent", 3) or dict(ctx.body)
    first = ctx.session.put(ctx.item, json=body)
    _expect(first, range(200, 300))
    _, one = _fetch(ctx, ctx.item)
    second = ctx.session.put(ctx.item, json=body)
    if not second.is_success:
        raise CheckFailed(
            f"first PUT {first.status_code}, the same again {describe(second)}", info(second)
        )
    _, two = _fetch(ctx, ctx.item)
    keys = [ctx.id_field, *_sent_fields(ctx, body)]
    changed = [k for k in keys if not _same(one.get(k, _MISSING), two.get(k, _MISSING))]
    if changed:
        problems = [
            f"{k!r} {_show(one.get(k, _MISSING))} → {_show(two.get(k, _MISSING))}" for k in changed
        ]
        raise CheckFailed(f"the repeat changed the state: {_listed(problems)}", info(second))
    return Outcome(f"{first.status_code} then {second.status_code}, same state", info(second))


def _if_match(ctx: Context) -> Outcome:
    _, _, tag = _etag(ctx)
    if tag.startswith("W/"):
        # RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag can never match.
        raise CheckSkipped("the server sends only weak ETags, which If-Match cannot use")
    current = ctx.variant("if-match", 4)
    stale = ctx.variant("stale", 5)
    if current is None or stale is None:
        raise CheckSkipped("the sample body has no string, number or boolean field to change")
    fresh = ctx.session.put(ctx.item, json=current, headers={"If-Match": tag})
    if not fresh.is_success:
        raise CheckFailed(f"{describe(fresh)} for If-Match with the current ETag", info(fresh))
    after, written = _fetch(ctx, ctx.item)
    if after.headers.get("etag") == tag:
        raise CheckFailed("the ETag did not change when the item did", info(after))
    response = ctx.session.put(ctx.item, json=stale, headers={"If-Match": tag})
    if response.status_code != 412:
        what = "the stale write was applied" if response.is_success else "expected 412"
        raise CheckFailed(f"{describe(response)} for a stale If-Match: {what}", info(response))
    _, now = _fetch(ctx, ctx.item)
    if not _same(now, written):
        raise CheckFailed("412, but the item changed anyway", info(response))
    return Outcome(
        f"412 for a stale If-Match, nothing written; the current ETag gave {fresh.status_code}",
        info(response),
    )


def _idempotency_key(ctx: Context) -> Outcome:
    key = f"restwell-check-{uuid.uuid4().hex}"
    body = ctx.variant("idempotency", 6) or dict(ctx.body)
    headers = {"Idempotency-Key": key}
    first = ctx.session.post(ctx.collection, json=body, headers=headers)
    url1, id1 = ctx.locate(first)
    if first.is_success and url1 is not None:
        ctx.created.append(url1)
    if not first.is_success:
        raise CheckSkipped(
            f"a POST with an Idempotency-Key answered {describe(first)}", info(first)
        )
    if url1 is None:
        raise CheckSkipped(
            "cannot tell which item a POST created (no Location, no id)", info(first)
        )
    second = ctx.session.post(ctx.collection, json=body, headers=headers)
    url2, id2 = ctx.locate(second)
    if second.is_success and url2 is not None:
        ctx.created.append(url2)
    replayed = any(name in second.headers for name in _REPLAY_HEADERS)
    one_item = (url1, id1) == (url2, id2)
    if not one_item and not replayed and second.is_success:
        raise CheckSkipped(
            "the server ignores Idempotency-Key (the repeat created a second item: "
            f"{_short(url1)}, {_short(url2 or '?')})",
            info(second),
        )
    problems = []
    if second.status_code != first.status_code:
        problems.append(f"the repeat answered {describe(second)}, the first {first.status_code}")
    elif not _same_body(first, second):
        problems.append("the repeat's body differs from the first")
    if not one_item and second.is_success:
        problems.append(f"the repeat created a second item ({_short(url2 or '?')})")
    if problems:
        raise CheckFailed(_listed(problems), info(second))
    return Outcome(
        f"the repeat replayed {first.status_code} and the same body; one item created",
        info(second),
    )


def _same_body(a: Response, b: Response) -> bool:
    try:
        return _same(json.loads(a.content), json.loads(b.content))
    except (ValueError, UnicodeDecodeError):
        return a.content == b.content


def _ids_on_page(ctx: Context, response: Response) -> list[str] | None:
    """The ids of the items a listing page holds, if its shape is recognisable."""
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    entries: Any = data
    if isinstance(data, dict):
        lists = {k: v for k, v in data.items() if isinstance(v, list)}
        named = [v for k, v in lists.items() if k in ("items", "data", "results")]
        entries = named[0] if named else next(iter(lists.values())) if len(lists) == 1 else None
    if not isinstance(entries, list):
        return None
    ids = [_id_of(entry, ctx.id_field) for entry in entries]
    return None if any(i is None for i in ids) else [i for i in ids if i is not None]


def _pagination(ctx: Context) -> Outcome:
    extra_ids: list[str] = []
    for n in (1, 2):  # enough items for a page of one to have a next page
        response = ctx.session.post(
            ctx.collection, json=ctx.variant(f"page {n}", 6 + n) or ctx.body
        )
        url, item_id = ctx.locate(response)
        if response.is_success and url is not None:
            ctx.created.append(url)
            if item_id is not None:
                extra_ids.append(item_id)
    page = ctx.session.get(ctx.collection)
    if page.status_code == 405:
        raise CheckSkipped("the collection cannot be listed (405)", info(page))
    _expect(page, (200,))
    target = find_rel(parse_links(page.headers.get_list("link")), "next")
    via = ""
    if target is None:
        # A page size of one is the common way to make a short collection paginate.
        sep = "&" if urlsplit(ctx.collection).query else "?"
        probe = ctx.session.get(f"{ctx.collection}{sep}limit=1")
        probe_next = find_rel(parse_links(probe.headers.get_list("link")), "next")
        if probe.status_code == 200 and probe_next is not None:
            page, target, via = probe, probe_next, " (with ?limit=1)"
    if target is None:
        raise CheckSkipped(
            'the collection sends no Link rel="next" (also with ?limit=1)', info(page)
        )
    visited = {page.url}
    ids = _ids_on_page(ctx, page)
    pages = 1
    while target is not None and pages < MAX_PAGES:
        url = urljoin(page.url, target)
        if origin_of(url) != origin_of(ctx.collection):
            raise CheckSkipped(
                f"rel=next leads to another origin ({url}); not followed", info(page)
            )
        if url in visited:
            raise CheckFailed(
                f"rel=next loops back to {_short(url)} after {pages} pages", info(page)
            )
        visited.add(url)
        page = ctx.session.get(url)
        pages += 1
        _expect(page, (200,))
        found = _ids_on_page(ctx, page)
        if ids is not None and found is not None:
            repeated = sorted(set(ids) & set(found))
            if repeated:
                raise CheckFailed(f"item {repeated[0]} is listed on two pages", info(page))
            ids += found
        else:
            ids = None
        target = find_rel(parse_links(page.headers.get_list("link")), "next")
    if target is not None:
        return Outcome(
            f"followed {pages} pages{via}, stopped at the limit of {MAX_PAGES}", info(page)
        )
    if ids is not None:
        missing = [i for i in extra_ids if i not in ids]
        if missing:
            raise CheckFailed(f"the pages never list item(s) {', '.join(missing)}", info(page))
    items = "" if ids is None else f", {len(ids)} items, no repeats"
    return Outcome(f"{pages} pages via rel=next{via}{items}; the last has no next", info(page))


def _allow_on_405(ctx: Context) -> Outcome:
    # Methods a collection/item commonly does not support; what they answer is not judged,
    # only that every 405 (these and any seen earlier) carries a correct Allow.
    ctx.session.put(ctx.collection, json=ctx.body)
    if ctx.item_url is not None:
        response = ctx.session.post(ctx.item_url, json=ctx.body)
        if response.is_success:
            url, _ = ctx.locate(response)
            if url is not None and url != ctx.item_url:
                ctx.created.append(url)
    seen = ctx.session.exchanges
    refused = [(n, ex) for n, ex in enumerate(seen) if ex.request.status == 405]
    if not refused:
        raise CheckSkipped(
            "no request was answered 405 (probed PUT on the collection, POST on an item)"
        )
    for n, ex in refused:
        method, url = ex.request.method, ex.request.url
        if ex.allow is None:
            raise CheckFailed(f"405 without an Allow header for {method}", ex.request)
        allowed = {m.strip().upper() for m in ex.allow.split(",")}
        if method in allowed:
            raise CheckFailed(f"405, but Allow: {ex.allow} lists {method}", ex.request)
        # RFC 9110 §10.2.1: Allow lists the methods the resource supports; one that worked
        # on this very URL earlier in the run must be among them.
        worked = {
            e.request.method
            for e in seen[:n]
            if e.request.url == url
            and e.request.status is not None
            and 200 <= e.request.status < 300
        }
        missing = sorted(worked - allowed)
        if missing:
            raise CheckFailed(
                f"405, but Allow: {ex.allow} lacks {', '.join(missing)}, which worked here",
                ex.request,
            )
    example = refused[0][1]
    return Outcome(
        f"{_count(len(refused), 'answer')} with 405, each with a complete Allow "
        f"(e.g. Allow: {example.allow})",
        example.request,
    )


def _delete_idempotent(ctx: Context) -> Outcome:
    response = ctx.session.get(ctx.item)
    if response.status_code != ctx.after_delete:
        raise CheckFailed(
            f"GET after the first DELETE: {ctx.after_delete}; "
            f"after the second: {describe(response)}",
            info(response),
        )
    return Outcome(f"GET after each DELETE: {status_text(response)}", info(response))


def _no_5xx(ctx: Context) -> Outcome:
    seen = ctx.session.exchanges
    if not seen:
        raise CheckSkipped("no response was received")
    bad = [ex for ex in seen if ex.request.status is not None and ex.request.status >= 500]
    if bad:
        shown = "; ".join(f"{ex.request.short()} ({ex.check_id})" for ex in bad[:2])
        more = f" (+{len(bad) - 2} more)" if len(bad) > 2 else ""
        raise CheckFailed(
            f"{len(bad)} of {len(seen)} answers were 5xx: {shown}{more}", bad[0].request
        )
    return Outcome(f"{_count(len(seen), 'answer')}, none 5xx")


def _check(
    check_id: str,
    title: str,
    expects: str,
    run: Callable[[Context], Outcome],
    *needs: str,
    summary: bool = False,
) -> Check:
    return Check(check_id, title, expects, run, tuple(needs), summary)


CREATE, READ, REPLACE, MERGE = (
    "lifecycle.create",
    "lifecycle.read",
    "lifecycle.replace",
    "lifecycle.merge",
)
DELETE, READ_DELETED, DELETE_AGAIN = (
    "lifecycle.delete",
    "lifecycle.read_after_delete",
    "lifecycle.delete_again",
)

CHECKS: Final[tuple[Check, ...]] = (
    _check(CREATE, "POST creates", "201 Created with a Location header", _create),
    _check(
        READ, "GET reads what was sent", "200, a JSON object with every field sent", _read, CREATE
    ),
    _check(
        "semantics.get_safe", "GET is safe", "two GETs: the same representation", _get_safe, READ
    ),
    _check(
        "semantics.head_matches_get",
        "HEAD matches GET",
        "GET's status, Content-Type, ETag and Content-Length; no body",
        _head_matches_get,
        READ,
    ),
    _check(
        "semantics.if_none_match",
        "If-None-Match gives 304",
        "304 with the ETag and no body (when ETags are sent)",
        _if_none_match,
        READ,
    ),
    _check("semantics.malformed_json", "Malformed JSON is refused", "4xx", _malformed_json, CREATE),
    _check(
        "semantics.non_object_body", "An array body is refused", "4xx", _non_object_body, CREATE
    ),
    _check(
        REPLACE,
        "PUT replaces",
        "200 or 204; fields replaced, an omitted field gone or reset",
        _replace,
        CREATE,
    ),
    _check(
        "semantics.put_idempotent",
        "PUT is idempotent",
        "the same PUT twice: 2xx both times, the same state",
        _put_idempotent,
        REPLACE,
    ),
    _check(
        MERGE,
        "PATCH merges (RFC 7396)",
        "200 or 204; the named field changed, the others kept",
        _merge,
        CREATE,
    ),
    _check(
        "semantics.if_match",
        "A stale If-Match gives 412",
        "current ETag: 2xx; stale ETag: 412 and nothing written (when ETags are sent)",
        _if_match,
        REPLACE,
    ),
    _check(
        "semantics.idempotency_key",
        "Idempotency-Key replays",
        "the same key twice: the same status and body, one item (when supported)",
        _idempotency_key,
        CREATE,
    ),
    _check(
        "semantics.pagination",
        "Pagination links work",
        "rel=next pages: 200, no loops or repeats, an end (when present)",
        _pagination,
        CREATE,
    ),
    _check(
        "semantics.allow_on_405",
        "405 carries Allow",
        "every 405 has Allow: the methods that work, not the refused one",
        _allow_on_405,
        CREATE,
    ),
    _check(DELETE, "DELETE removes", "200 or 204", _delete, CREATE),
    _check(READ_DELETED, "GET after DELETE", "404 or 410", _read_after_delete, DELETE),
    _check(DELETE_AGAIN, "DELETE again", "404, 410 or 204", _delete_again, DELETE),
    _check(
        "semantics.delete_idempotent",
        "DELETE is idempotent",
        "GET after each DELETE: the same answer",
        _delete_idempotent,
        READ_DELETED,
        DELETE_AGAIN,
    ),
    _check(
        "lifecycle.replace_after_delete",
        "PUT after DELETE",
        "404 or 410 (nothing re-created)",
        _replace_after_delete,
        DELETE,
        REPLACE,
    ),
    _check(
        "lifecycle.merge_after_delete",
        "PATCH after DELETE",
        "404 or 410",
        _merge_after_delete,
        DELETE,
        MERGE,
    ),
    _check(
        "semantics.no_5xx",
        "No 5xx anywhere",
        "no answer with a 5xx status, in any check",
        _no_5xx,
        summary=True,
    ),
)
"""Every check, in the order they run."""
