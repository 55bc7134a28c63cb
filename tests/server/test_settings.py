"""Settings: defaults, validation and the environment."""

from __future__ import annotations

import pytest

from restwell.server import FaultSettings, ServerSettings, create_app


def test_defaults() -> None:
    settings = ServerSettings()

    assert settings.database_url == "sqlite:///./restwell.db"
    assert settings.idempotency_ttl == 24 * 3600
    assert settings.cache_max_age == 0
    assert settings.max_body_bytes == 1024 * 1024
    assert not settings.faults.enabled


def test_from_env() -> None:
    env = {
        "DATABASE_URL": "postgresql+psycopg://u@localhost/db",
        "RESTWELL_IDEMPOTENCY_TTL": "60",
        "RESTWELL_CACHE_MAX_AGE": "5",
        "RESTWELL_PAGE_SIZE_DEFAULT": "10",
        "RESTWELL_PAGE_SIZE_MAX": "50",
        "RESTWELL_MAX_BODY_BYTES": "2048",
        "RESTWELL_FAULT_ERROR_RATE": "0.25",
        "RESTWELL_FAULT_RETRY_AFTER": "3",
        "RESTWELL_FAULT_LATENCY": "0.5",
        "RESTWELL_FAULT_LATENCY_JITTER": "0.1",
        "RESTWELL_FAULT_DROP_RATE": "0.1",
        "RESTWELL_FAULT_BURST_429": "10",
        "RESTWELL_FAULT_BURST_WINDOW": "2",
        "RESTWELL_FAULT_FAIL_FIRST": "4",
        "RESTWELL_FAULT_SEED": "7",
    }

    settings = ServerSettings.from_env(env)

    assert settings == ServerSettings(
        database_url="postgresql+psycopg://u@localhost/db",
        idempotency_ttl=60,
        cache_max_age=5,
        page_size_default=10,
        page_size_max=50,
        max_body_bytes=2048,
        faults=FaultSettings(
            error_rate=0.25,
            retry_after=3,
            latency=0.5,
            latency_jitter=0.1,
            drop_rate=0.1,
            burst_429=10,
            burst_window=2,
            fail_first=4,
            seed=7,
        ),
    )
    assert settings.faults.enabled


def test_from_empty_env_is_the_defaults() -> None:
    assert ServerSettings.from_env({"RESTWELL_CACHE_MAX_AGE": ""}) == ServerSettings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RESTWELL_CACHE_MAX_AGE", "soon"),
        ("RESTWELL_FAULT_ERROR_RATE", "1.5"),
        ("RESTWELL_FAULT_SEED", "0.5"),
        ("RESTWELL_PAGE_SIZE_DEFAULT", "500"),
    ],
)
def test_bad_env_names_the_variable_or_setting(name: str, value: str) -> None:
    setting = name.removeprefix("RESTWELL_").removeprefix("FAULT_").lower()

    with pytest.raises(ValueError, match=f"{name}|{setting}"):
        ServerSettings.from_env({name: value})


@pytest.mark.parametrize(
    "kwargs",
    [{"error_rate": -0.1}, {"drop_rate": 2.0}, {"latency": -1.0}, {"burst_window": 0.0}],
)
def test_invalid_faults(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FaultSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"idempotency_ttl": 0},
        {"cache_max_age": -1},
        {"page_size_default": 0},
        {"page_size_default": 10, "page_size_max": 5},
        {"max_body_bytes": 0},
    ],
)
def test_invalid_settings(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ServerSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///x?mode=memory"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        create_app(ServerSettings(database_url=url))
