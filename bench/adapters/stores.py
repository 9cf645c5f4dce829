"""The shared servers the peers use, and the rules for using them politely.

Redis: db 15 only (`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/15); setup may FLUSHDB
that db and nothing else; any other db number is refused. PostgreSQL: a fresh database
named bench_<something> per run (`BENCH_PG_URL`, default postgresql://postgres@127.0.0.1:5432),
dropped at cleanup.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DB = 15


def redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
    db = urlsplit(url).path.strip("/") or "0"
    if db != str(REDIS_DB):
        raise SystemExit(f"bench: Redis peers use db {REDIS_DB} only; BENCH_REDIS_URL says {db}")
    return url


def redis_parts() -> tuple[str, int, int]:
    """(host, port, db) of `redis_url()`, for clients that take them apart."""
    parts = urlsplit(redis_url())
    return parts.hostname or "127.0.0.1", parts.port or 6379, REDIS_DB


def flush_redis() -> None:
    """Empty db 15 (only): every Redis peer starts each run from nothing."""
    import redis

    client = redis.Redis.from_url(redis_url())
    try:
        client.flushdb()
    finally:
        client.close()


def pg_server_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def pg_url(database: str) -> str:
    if not database.startswith("bench_"):
        raise ValueError(f"bench databases are named bench_*, not {database!r}")
    parts = urlsplit(pg_server_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def _admin_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("bench_x").rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(sql)


def fresh_pg(database: str) -> str:
    """Drop and re-create `database` (bench_* only); returns its URL."""
    url = pg_url(database)
    _admin_exec(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    _admin_exec(f'CREATE DATABASE "{database}"')
    return url


def drop_pg(database: str) -> None:
    pg_url(database)  # the name check
    _admin_exec(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


class RedisDb15:
    """Mixin for the Redis peers: db 15 is emptied before each run and after it."""

    def setup(self) -> None:
        flush_redis()

    def cleanup(self) -> None:
        flush_redis()
