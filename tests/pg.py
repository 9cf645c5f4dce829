"""PostgreSQL for the tests: one migrated template per test session, and a fresh database
cloned from it for each test (`CREATE DATABASE … TEMPLATE`), dropped afterwards.

The server is $BATON_TEST_POSTGRES (default the local one, 127.0.0.1:5432). When it does not
answer, PostgreSQL tests skip with one line; with BATON_REQUIRE_SERVERS=1 (CI) they fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("BATON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
POOL = "pool_size=3"  # max_connections is shared by everyone on the server: stay small

_reachable: str | None = None  # "" when it answered, else why not


def _with_db(url: str, db: str, query: str = "") -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}", query=query))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def require_postgres() -> None:
    """Skip (or, with BATON_REQUIRE_SERVERS=1, fail) when the server does not answer."""
    global _reachable
    if _reachable is None:
        try:
            with psycopg.connect(ADMIN_URL, connect_timeout=3):
                _reachable = ""
        except Exception as exc:
            _reachable = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    if _reachable:
        where = urlsplit(ADMIN_URL).netloc.split("@")[-1]
        message = f"PostgreSQL not reachable at {where} ({_reachable})"
        if os.environ.get("BATON_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " and BATON_REQUIRE_SERVERS=1")
        pytest.skip(message)


def create_database(name: str, template: str | None = None) -> None:
    with _admin() as conn:
        clause = f" TEMPLATE {template}" if template else ""
        conn.execute(f"CREATE DATABASE {name}{clause}")


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def url_of(name: str) -> str:
    return _with_db(ADMIN_URL, name, POOL)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once, to clone for each test; unique to this session, so
    several test runs can share one server."""
    require_postgres()
    from baton.backends.postgres import PostgresBackend

    name = f"baton_t_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    create_database(name)
    try:

        async def migrate() -> None:
            backend = PostgresBackend(url_of(name))
            try:
                await backend.migrate()
            finally:
                await backend.aclose()

        asyncio.run(migrate())
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = f"baton_t_{uuid.uuid4().hex[:12]}"
    create_database(name, template=pg_template)
    try:
        yield url_of(name)
    finally:
        drop_database(name)
