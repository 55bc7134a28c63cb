"""Configuration of the reference server: frozen dataclasses, readable from the environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T")

DEFAULT_DATABASE_URL = "sqlite:///./restwell.db"


@dataclass(frozen=True)
class FaultSettings:
    """Faults the server injects in front of the API, all off by default.

    Faults are applied per request in this order: ``latency``, ``fail_first``, ``burst_429``,
    ``error_rate``, ``drop_rate``. Random choices come from one RNG seeded with ``seed``, so a
    seeded server answers the same sequence of requests with the same faults.

    Attributes:
        error_rate: Fraction (0..1) of requests answered ``503`` with ``Retry-After``.
        retry_after: Seconds sent in ``Retry-After`` on injected 503 responses.
        latency: Seconds added before every request is handled.
        latency_jitter: Up to this many extra seconds, drawn uniformly, added to ``latency``.
        drop_rate: Fraction (0..1) of requests whose response is lost: the request is
            processed (a write takes effect), then the connection is closed mid-response, so
            the client sees a transport error. HEAD requests are never dropped.
        burst_429: When > 0, the number of requests allowed per ``burst_window``; the rest of
            the window is answered ``429`` with ``Retry-After``, ``RateLimit`` and
            ``X-RateLimit-*`` headers.
        burst_window: Length in seconds of the fixed rate-limit window.
        fail_first: The first N requests are answered ``503`` with ``Retry-After``.
        seed: Seed of the fault RNG; ``None`` seeds from the OS.
    """

    error_rate: float = 0.0
    retry_after: int = 1
    latency: float = 0.0
    latency_jitter: float = 0.0
    drop_rate: float = 0.0
    burst_429: int = 0
    burst_window: float = 1.0
    fail_first: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        for name in ("retry_after", "latency", "latency_jitter", "burst_429", "fail_first"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        if self.burst_window <= 0:
            raise ValueError(f"burst_window must be positive, got {self.burst_window!r}")

    @property
    def enabled(self) -> bool:
        """Whether any fault is switched on."""
        return bool(
            self.error_rate
            or self.latency
            or self.latency_jitter
            or self.drop_rate
            or self.burst_429
            or self.fail_first
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultSettings:
        """Read ``RESTWELL_FAULT_*`` variables; unset ones keep their defaults.

        Variables: ``RESTWELL_FAULT_ERROR_RATE``, ``_RETRY_AFTER``, ``_LATENCY``,
        ``_LATENCY_JITTER``, ``_DROP_RATE``, ``_BURST_429``, ``_BURST_WINDOW``, ``_FAIL_FIRST``
        and ``_SEED``.

        Args:
            environ: Where to read from; ``os.environ`` by default.

        Returns:
            The fault settings.

        Raises:
            ValueError: A variable does not parse or is out of range.
        """
        env = os.environ if environ is None else environ
        get = _EnvReader(env, "RESTWELL_FAULT_")
        defaults = cls()
        return cls(
            error_rate=get("ERROR_RATE", float, defaults.error_rate),
            retry_after=get("RETRY_AFTER", int, defaults.retry_after),
            latency=get("LATENCY", float, defaults.latency),
            latency_jitter=get("LATENCY_JITTER", float, defaults.latency_jitter),
            drop_rate=get("DROP_RATE", float, defaults.drop_rate),
            burst_429=get("BURST_429", int, defaults.burst_429),
            burst_window=get("BURST_WINDOW", float, defaults.burst_window),
            fail_first=get("FAIL_FIRST", int, defaults.fail_first),
            seed=get("SEED", int, None),
        )


@dataclass(frozen=True)
class ServerSettings:
    """Settings of the reference server.

    Attributes:
        database_url: Any SQLAlchemy URL of a file or server database, e.g.
            ``sqlite:///./restwell.db`` (the default; created on first start) or
            ``postgresql+psycopg://user@host/db``. In-memory SQLite is refused: the server
            handles requests on many threads, which need one shared database.
        idempotency_ttl: Seconds an ``Idempotency-Key`` and its stored response are kept.
        cache_max_age: ``max-age`` in seconds of ``Cache-Control`` on reads; 0 sends
            ``max-age=0, must-revalidate`` so caches revalidate with the ETag every time.
        page_size_default: Items per page of ``GET /items`` when ``limit`` is not given.
        page_size_max: Largest page; larger ``limit`` values are clamped to it.
        max_body_bytes: Largest accepted request body; larger ones get ``413``.
        faults: Fault injection, off by default.
    """

    database_url: str = DEFAULT_DATABASE_URL
    idempotency_ttl: float = 24 * 60 * 60
    cache_max_age: int = 0
    page_size_default: int = 20
    page_size_max: int = 100
    max_body_bytes: int = 1024 * 1024
    faults: FaultSettings = field(default_factory=FaultSettings)

    def __post_init__(self) -> None:
        if self.idempotency_ttl <= 0:
            raise ValueError(f"idempotency_ttl must be positive, got {self.idempotency_ttl!r}")
        if self.cache_max_age < 0:
            raise ValueError(f"cache_max_age must not be negative, got {self.cache_max_age!r}")
        if not 1 <= self.page_size_default <= self.page_size_max:
            raise ValueError(
                "need 1 <= page_size_default <= page_size_max, got "
                f"{self.page_size_default!r} and {self.page_size_max!r}"
            )
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {self.max_body_bytes!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read ``DATABASE_URL`` and ``RESTWELL_*`` variables; unset ones keep their defaults.

        Variables: ``DATABASE_URL``, ``RESTWELL_IDEMPOTENCY_TTL``, ``RESTWELL_CACHE_MAX_AGE``,
        ``RESTWELL_PAGE_SIZE_DEFAULT``, ``RESTWELL_PAGE_SIZE_MAX``, ``RESTWELL_MAX_BODY_BYTES``,
        and the ``RESTWELL_FAULT_*`` ones of `FaultSettings.from_env`.

        Args:
            environ: Where to read from; ``os.environ`` by default.

        Returns:
            The server settings.

        Raises:
            ValueError: A variable does not parse or is out of range.
        """
        env = os.environ if environ is None else environ
        get = _EnvReader(env, "RESTWELL_")
        defaults = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or defaults.database_url,
            idempotency_ttl=get("IDEMPOTENCY_TTL", float, defaults.idempotency_ttl),
            cache_max_age=get("CACHE_MAX_AGE", int, defaults.cache_max_age),
            page_size_default=get("PAGE_SIZE_DEFAULT", int, defaults.page_size_default),
            page_size_max=get("PAGE_SIZE_MAX", int, defaults.page_size_max),
            max_body_bytes=get("MAX_BODY_BYTES", int, defaults.max_body_bytes),
            faults=FaultSettings.from_env(env),
        )


class _EnvReader:
    """Reads prefixed variables, converting them and naming the variable when one is bad."""

    def __init__(self, env: Mapping[str, str], prefix: str) -> None:
        self._env = env
        self._prefix = prefix

    def __call__(self, name: str, convert: Callable[[str], _T], default: _T) -> _T:
        var = self._prefix + name
        raw = self._env.get(var, "").strip()
        if not raw:
            return default
        try:
            return convert(raw)
        except ValueError as exc:
            raise ValueError(f"{var}={raw!r}: {exc}") from None
