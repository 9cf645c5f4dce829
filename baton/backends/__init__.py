"""Backends by URL scheme. Each lives in its own package and imports its driver lazily."""

from __future__ import annotations

import os

from ..errors import ConfigError
from ..redact import redact
from .protocol import Backend

DEFAULT_URL = "sqlite:///baton.db"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("BATON_URL") or DEFAULT_URL


def open_backend(url: str) -> Backend:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(url)
    if scheme in ("postgres", "postgresql"):
        try:
            from .postgres import PostgresBackend
        except ImportError as exc:  # the driver is an extra
            raise ConfigError(
                f"the PostgreSQL backend needs psycopg 3: pip install 'baton[postgres]' ({exc})"
            ) from None
        return PostgresBackend(url)
    if scheme in ("redis", "rediss"):
        try:
            from .redis import RedisBackend
        except ImportError as exc:  # the driver is an extra
            raise ConfigError(
                f"the Redis backend needs redis-py: pip install 'baton[redis]' ({exc})"
            ) from None
        return RedisBackend(url)
    raise ConfigError(
        f"unknown database URL {redact(url)!r}: expected sqlite:///path, postgresql://… "
        "or redis://…"
    )


def backend_kind(url: str) -> str:
    """The backend's kind from its URL alone (sqlite, postgres, redis), safe to show
    anyone: it needs no connection and carries no host, path or credential."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme.startswith("postgres"):
        return "postgres"
    if scheme in ("redis", "rediss"):
        return "redis"
    return "sqlite" if scheme == "sqlite" else "unknown"


__all__ = ["DEFAULT_URL", "Backend", "backend_kind", "open_backend", "redact", "resolve_url"]
