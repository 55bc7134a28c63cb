"""Typed GitHub models: frozen dataclasses read tolerantly from the API's JSON.

Tolerant means: a field GitHub leaves out takes its default, and a field we do not model is
ignored (it stays reachable through ``raw``). A field we model that has the wrong type (say,
``"public_repos": "12"``) is not guessed at: it raises :class:`~restwell.github.InvalidResponse`
naming the object, the field, what was expected and what came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["FieldError", "RateLimit", "RateLimitWait", "Repo", "User"]


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


RateLimitKind = Literal["primary", "secondary"]


@dataclass(frozen=True, slots=True)
class User:
    """A GitHub account (``GET /users/{username}``).

    Attributes:
        login: The account name.
        id: The numeric id.
        type: ``"User"``, ``"Organization"`` or ``"Bot"``.
        name: The display name.
        company: Company, as the user wrote it.
        blog: Website.
        location: Location, as the user wrote it.
        email: Public e-mail address.
        bio: Profile text.
        public_repos: Number of public repositories.
        followers: Number of followers.
        following: Number of accounts followed.
        html_url: The profile page.
        avatar_url: The avatar image.
        created_at: When the account was created.
        updated_at: When the profile last changed.
        raw: The JSON object as received (read-only), for fields not modelled here.
    """

    login: str
    id: int
    type: str = "User"
    name: str | None = None
    company: str | None = None
    blog: str | None = None
    location: str | None = None
    email: str | None = None
    bio: str | None = None
    public_repos: int = 0
    followers: int = 0
    following: int = 0
    html_url: str | None = None
    avatar_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Repo:
    """A repository (an item of ``GET /users/{username}/repos``).

    Attributes:
        id: The numeric id.
        name: The repository name.
        full_name: ``owner/name``.
        owner: The owner's login.
        private: Whether it is private.
        fork: Whether it is a fork.
        archived: Whether it is archived.
        description: The description.
        language: The main language, as GitHub detected it.
        stargazers_count: Stars.
        forks_count: Forks.
        watchers_count: Watchers.
        open_issues_count: Open issues and pull requests.
        size: Size in kilobytes.
        default_branch: The default branch.
        topics: Topics.
        visibility: ``"public"``, ``"private"`` or ``"internal"``.
        html_url: The repository page.
        homepage: The project's homepage.
        created_at: Creation time.
        updated_at: Last update of the repository object.
        pushed_at: Last push.
        raw: The JSON object as received (read-only).
    """

    id: int
    name: str
    full_name: str
    owner: str
    private: bool = False
    fork: bool = False
    archived: bool = False
    description: str | None = None
    language: str | None = None
    stargazers_count: int = 0
    forks_count: int = 0
    watchers_count: int = 0
    open_issues_count: int = 0
    size: int = 0
    default_branch: str | None = None
    topics: tuple[str, ...] = ()
    visibility: str | None = None
    html_url: str | None = None
    homepage: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    pushed_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One rate-limit quota as GitHub announced it (``X-RateLimit-*`` or ``GET /rate_limit``).

    Attributes:
        resource: The quota's resource (``core``, ``search``, ``graphql``, ...).
        limit: Requests allowed per window.
        remaining: Requests left in the current window.
        used: Requests used in the current window.
        reset: When the window ends, in epoch seconds (``None`` if not announced).
    """

    resource: str
    limit: int | None
    remaining: int
    used: int | None = None
    reset: int | None = None

    @property
    def reset_datetime(self) -> datetime | None:
        """:attr:`reset` as an aware UTC datetime."""
        return None if self.reset is None else datetime.fromtimestamp(self.reset, UTC)


@dataclass(frozen=True, slots=True)
class RateLimitWait:
    """A wait the client made (or refused to make) because of a rate limit.

    Every wait is logged at WARNING on ``restwell.github``, passed to the client's
    ``on_rate_limit_wait`` hooks and kept in ``client.rate_limit_waits``.

    Attributes:
        kind: ``"primary"`` (the hourly quota) or ``"secondary"`` (GitHub's abuse limits).
        resource: The quota's resource (``core``, ``search``, ...); ``"*"`` when a secondary
            limit holds every request.
        seconds: How long the client waits.
        reset_at: Wall-clock epoch seconds when requests resume.
        reason: What announced the limit, in a few words.
    """

    kind: RateLimitKind
    resource: str
    seconds: float
    reset_at: float
    reason: str

    @property
    def reset_datetime(self) -> datetime:
        """:attr:`reset_at` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.reset_at, UTC)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a 422 response's ``errors`` list.

    Attributes:
        resource: The resource the error is about (``"Issue"``, ``"Search"``, ...).
        field: The field at fault.
        code: GitHub's code: ``missing``, ``missing_field``, ``invalid``, ``already_exists``,
            ``unprocessable`` or ``custom``.
        message: A message, when GitHub gives one.
    """

    resource: str | None = None
    field: str | None = None
    code: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        where = ".".join(p for p in (self.resource, self.field) if p)
        what = self.message or self.code or "invalid"
        return f"{where} {what}" if where else what
