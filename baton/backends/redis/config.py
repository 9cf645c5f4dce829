"""The Redis backend's URL: `redis://host:port/db?prefix=baton:&retention=7d`.

baton's own query parameters are taken out before the rest goes to redis-py, so every
redis-py URL option (password, TLS via `rediss://`, `socket_timeout`, ...) still works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ...errors import ConfigError

DEFAULT_PREFIX = "baton:"
DEFAULT_RETENTION = 7 * 86400.0
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_OURS = ("prefix", "retention")


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """What baton reads from the URL; `client_url` is the URL redis-py gets."""

    client_url: str
    prefix: str = DEFAULT_PREFIX
    retention: float | None = DEFAULT_RETENTION  # seconds an ended job is kept; None: forever


def parse_duration(text: str) -> float | None:
    """'7d' -> 604800.0, '90m', '3600' (seconds); 'forever' or 'none' -> None."""
    value = text.strip().lower()
    if value in ("forever", "none", "never"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", value)
    if match is None:
        raise ConfigError(
            f"bad retention {text!r}: expected a duration such as 7d, 12h, 30m, 3600 or forever"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_url(url: str) -> RedisConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"not a Redis URL: {url!r} (try redis://localhost:6379/0)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OURS}
    rest = [(k, v) for k, v in query if k not in _OURS]
    prefix = ours.get("prefix", DEFAULT_PREFIX)
    if not prefix:
        raise ConfigError("the Redis URL's prefix= must not be empty")
    retention = parse_duration(ours["retention"]) if "retention" in ours else DEFAULT_RETENTION
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(f"bad Redis database {db!r} in {url!r}: expected a number, e.g. /0")
    client_url = urlunsplit(parts._replace(query=urlencode(rest)))
    return RedisConfig(client_url, prefix, retention)
