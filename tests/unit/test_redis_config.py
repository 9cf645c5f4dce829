"""The Redis URL: baton's own parameters, and clear errors for bad ones."""

from __future__ import annotations

import pytest

from baton.backends.redis.config import DEFAULT_PREFIX, DEFAULT_RETENTION, parse_duration, parse_url
from baton.errors import ConfigError


def test_defaults_and_the_client_url_without_our_parameters() -> None:
    cfg = parse_url("redis://h:6380/2?prefix=app1:&retention=12h&socket_timeout=5")
    assert (cfg.prefix, cfg.retention) == ("app1:", 12 * 3600.0)
    assert cfg.client_url == "redis://h:6380/2?socket_timeout=5"
    plain = parse_url("redis://localhost")
    assert (plain.prefix, plain.retention) == (DEFAULT_PREFIX, DEFAULT_RETENTION)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("90m", 5400.0), ("3600", 3600.0), ("1.5h", 5400.0), ("forever", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "url",
    [
        "redis://h/0?retention=soon",
        "redis://h/0?prefix=",
        "redis://h/zero",
        "postgresql://h/db",
    ],
)
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_url(url)
