"""Versioned migrations (`migrations/NNNN_*.sql`), applied by `baton migrate` and on first use.

Many processes may start at once: a transaction-scoped advisory lock lets one of them apply
what is missing while the others wait, then find nothing left to do. Each version is applied
in its own transaction with its row in `baton_schema`, so a failed upgrade leaves the schema
at the last good version.
"""

from __future__ import annotations

from ..sqlfile import migrations
from .db import Conn

_LOCK = 0x6261746F6E  # "baton": the advisory lock key migrations serialise on
PACKAGE = "baton.backends.postgres"

_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS baton_schema (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def applied(conn: Conn) -> set[int]:
    cur = await conn.execute("SELECT to_regclass('baton_schema') IS NOT NULL")
    row = await cur.fetchone()
    if not row or not row[0]:
        return set()
    cur = await conn.execute("SELECT version FROM baton_schema")
    return {int(r[0]) for r in await cur.fetchall()}


async def migrate(conn: Conn, upto: int | None = None) -> list[int]:
    """Apply the missing versions (up to `upto`); returns those applied here."""
    wanted = [(v, sql) for v, sql in migrations(PACKAGE) if upto is None or v <= upto]
    done = await applied(conn)
    if all(v in done for v, _ in wanted):  # the common case: no lock, one cheap read
        return []
    ran: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        await conn.execute(_SCHEMA_TABLE)
    for version, sql in wanted:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            if version in await applied(conn):
                continue
            await conn.execute(sql.encode())
            await conn.execute("INSERT INTO baton_schema (version) VALUES (%s)", (version,))
            ran.append(version)
    return ran
