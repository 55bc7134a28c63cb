"""The item schema (the single source of truth), its validation and JSON merge patch."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError


def _storable_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates (legal in JSON escapes) cannot be
    # encoded as UTF-8 by either database: refuse both here so bad input is a 422, never a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


StorableText = Annotated[str, AfterValidator(_storable_text)]


class ItemIn(BaseModel):
    """What a client sends to create or replace an item.

    Validation is strict: no string-to-number coercion, no unknown fields. The stored
    representation is this plus the server-assigned ``id``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: Annotated[StorableText, Field(min_length=1, max_length=200)]
    description: StorableText | None = None
    price: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None
    tags: list[StorableText] = []


class Item(ItemIn):
    """An item as the server represents it."""

    id: int


class ItemPage(BaseModel):
    """One page of ``GET /items``; the ``Link`` header carries the same next page."""

    items: list[Item]
    next_cursor: str | None


SAMPLE_ITEM: Final[dict[str, Any]] = {
    "name": "widget",
    "description": "A sample item",
    "price": 9.99,
    "tags": ["sample", "restwell"],
}
"""A valid request body for ``POST /items`` (used as the default body by checkers)."""


class InvalidItem(Exception):
    """A body that is JSON but not a valid item; ``errors`` are RFC 9457-style entries."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_item(data: Any, *, item_id: int | None = None) -> ItemIn:
    """Validate a decoded JSON body as an item.

    ``id`` is read-only: a body may repeat the id of the item it targets (so a client can send
    back what it read), any other ``id`` is an error.

    Args:
        data: The decoded JSON value.
        item_id: The id of the item being replaced or patched; ``None`` when creating.

    Returns:
        The validated item.

    Raises:
        InvalidItem: With one entry per problem.
    """
    if isinstance(data, dict) and "id" in data:
        if item_id is None or data["id"] != item_id or isinstance(data["id"], bool):
            raise InvalidItem(
                [_error("/id", "id is assigned by the server and cannot be set", "read_only")]
            )
        data = {k: v for k, v in data.items() if k != "id"}
    try:
        return ItemIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidItem(
            [
                _error("".join(f"/{part}" for part in err["loc"]), err["msg"], err["type"])
                for err in exc.errors(include_url=False)
            ]
        ) from None


def _error(pointer: str, detail: str, kind: str) -> dict[str, str]:
    # "pointer" is a JSON Pointer (RFC 6901) in URI fragment form, as in RFC 9457 §3's example.
    return {"pointer": "#" + pointer, "detail": detail, "type": kind}


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON merge patch.

    Args:
        target: The current JSON value.
        patch: The patch; ``null`` members remove keys, a non-object replaces the target.

    Returns:
        The patched value (the inputs are not modified).
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
