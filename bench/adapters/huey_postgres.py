"""Huey with its SQL storage (peewee) on PostgreSQL: `SqlHuey(database=URL)`.

A fresh database bench_huey per run. Huey's SQL storage polls (default backoff from
0.1 s) and holds one connection per worker thread, so W3 caps each consumer at 20 threads
(40 connections for the two) to stay well inside the shared server's 100.
"""

from __future__ import annotations

import psycopg
from huey import Huey
from huey.contrib.sql_huey import SqlHuey

from .huey_sqlite import HueyAdapter
from .stores import drop_pg, fresh_pg, pg_url

DB = "bench_huey"


class HueyPostgres(HueyAdapter):
    description = "Huey 3, SqlHuey (peewee, psycopg2) on PostgreSQL, process workers"
    store = "postgres"
    thread_cap = 20

    def setup(self) -> None:
        fresh_pg(DB)
        super().setup()

    def make_huey(self) -> Huey:
        return SqlHuey(name="bench", database=pg_url(DB))

    def verify(self, expected: int) -> dict[str, object]:
        with psycopg.connect(pg_url(DB)) as conn:
            row = conn.execute("SELECT count(*) FROM task").fetchone()
        return {"store_tasks_left": row[0] if row else None}

    def cleanup(self) -> None:
        drop_pg(DB)
