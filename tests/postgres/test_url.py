"""The PostgreSQL URL: baton's pool options, clear errors for bad ones, and
BackendUnavailable (never a hang or a raw driver error) when no server answers."""

from __future__ import annotations

import pytest

from baton.backends import open_backend
from baton.backends.postgres.db import parse_url
from baton.errors import BackendUnavailable, ConfigError


def test_pool_options_are_read_and_the_rest_goes_to_libpq() -> None:
    config = parse_url("postgres://u:pw@db:6543/jobs?pool_size=4&pool_min=2&sslmode=require")
    assert (config.max_size, config.min_size, config.timeout) == (4, 2, 5.0)
    assert config.conninfo.startswith("postgresql://u:pw@db:6543/jobs?")
    assert "sslmode=require" in config.conninfo
    assert "pool_" not in config.conninfo
    assert "application_name=baton" in config.conninfo


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (
            "postgresql://u:secret@db/jobs?pool_sise=4",
            "unknown PostgreSQL URL option(s): pool_sise",
        ),
        ("postgresql://u:secret@db/jobs?pool_size=many", "bad pool option"),
        ("postgresql://u:secret@db/jobs?pool_size=0", "out of range"),
    ],
)
def test_bad_pool_options_are_config_errors(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_backend(url)
    assert fragment in str(info.value)
    assert "secret" not in str(info.value)


async def test_no_server_is_backend_unavailable() -> None:
    backend = open_backend("postgresql://u:secret@127.0.0.1:1/jobs?pool_timeout=0.3")
    try:
        with pytest.raises(BackendUnavailable) as info:
            await backend.get_job("01a2")
        assert "secret" not in str(info.value)
        with pytest.raises(BackendUnavailable):
            await backend.migrate()
    finally:
        await backend.aclose()
