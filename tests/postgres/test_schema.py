"""The migrations and schema.sql describe one schema: a database built from schema.sql equals
one that ran every migration, one version at a time, as an upgrading install does."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

import psycopg
import pytest

from baton.backends.postgres.backend import PostgresBackend
from baton.backends.postgres.migrate import PACKAGE, migrate
from baton.backends.sqlfile import migrations
from tests.pg import create_database, drop_database, require_postgres, url_of

CATALOG = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'baton\\_%'
          AND table_name != 'baton_schema'
        ORDER BY 1, 2""",
    "indexes": """
        SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename != 'baton_schema' ORDER BY 1""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text != 'baton_schema'
        ORDER BY 1, 2""",
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace ORDER BY 1""",
    "options": """
        SELECT relname, reloptions FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relname LIKE 'baton\\_%'
          AND relname NOT LIKE 'baton\\_schema%'
        ORDER BY 1""",
}


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url.split("?")[0]) as conn:
        return {name: conn.execute(sql.encode()).fetchall() for name, sql in CATALOG.items()}


@pytest.fixture
def two_databases() -> Any:
    require_postgres()
    run = uuid.uuid4().hex[:10]
    names = [f"baton_t_schema_{kind}_{run}" for kind in ("fresh", "migrated")]
    for name in names:
        create_database(name)
    try:
        yield [url_of(n) for n in names]
    finally:
        for name in names:
            drop_database(name)


async def test_schema_sql_equals_every_migration_applied(two_databases: list[str]) -> None:
    fresh, migrated = two_databases
    schema = resources.files(PACKAGE).joinpath("schema.sql").read_text()
    with psycopg.connect(fresh.split("?")[0], autocommit=True) as conn:
        conn.execute(schema.encode())
    async with await psycopg.AsyncConnection.connect(
        migrated.split("?")[0], autocommit=True
    ) as conn:
        for version, _ in migrations(PACKAGE):  # one upgrade at a time
            assert await migrate(conn, upto=version) == [version]
        assert await migrate(conn) == []
    assert catalog(fresh) == catalog(migrated)


async def test_migrate_records_every_version(pg_url: str) -> None:
    backend = PostgresBackend(pg_url)
    try:
        await backend.migrate()
    finally:
        await backend.aclose()
    with psycopg.connect(pg_url.split("?")[0]) as conn:
        done = [r[0] for r in conn.execute("SELECT version FROM baton_schema ORDER BY 1")]
    assert done == [v for v, _ in migrations(PACKAGE)]
