"""baton on its PostgreSQL backend (psycopg 3 pool, SKIP LOCKED claims, LISTEN/NOTIFY).

Each run gets its own database `bench_baton_<run folder>` on $BENCH_POSTGRES (default the
local server), dropped in `cleanup`. Options: `concurrency` (per worker process, default
baton's own, 10) and `pool` (connections per process, default 10).
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .baton_sqlite import BatonSQLite, make_app

ADMIN_URL = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


class BatonPostgres(BatonSQLite):
    """The SQLite adapter's app, client and workers, on a PostgreSQL database."""

    description = "baton, PostgreSQL backend (psycopg 3 pool, SKIP LOCKED, LISTEN/NOTIFY)"
    has_burst = True

    @property
    def dbname(self) -> str:
        return "bench_baton_" + re.sub(r"[^a-z0-9_]", "_", self.workdir.name.lower())

    @property
    def url(self) -> str:
        pool = int(self.options.get("pool", 10))
        parts = urlsplit(ADMIN_URL)
        return urlunsplit(parts._replace(path=f"/{self.dbname}", query=f"pool_size={pool}"))

    def _admin(self, sql: str) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.encode())

    def setup(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.dbname}")

        async def migrate() -> None:
            app, _ = make_app(self.url)
            await app.backend()
            await app.aclose()

        asyncio.run(migrate())

    def verify(self, expected: int) -> dict[str, Any]:
        dsn = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{self.dbname}"))
        with psycopg.connect(dsn) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM baton_jobs "
                    "WHERE pipeline = 'noop' GROUP BY status"
                ).fetchall()
            )
            retried = conn.execute(
                "SELECT count(*) FROM baton_jobs WHERE pipeline = 'noop' AND attempts != 1"
            ).fetchone()
            span = conn.execute(
                "SELECT min(started_at), max(finished_at) FROM baton_jobs WHERE pipeline = 'noop'"
            ).fetchone()
            events = conn.execute("SELECT count(*) FROM baton_events").fetchone()
            steps = conn.execute("SELECT count(*) FROM baton_steps").fetchone()
        first, last = span if span else (None, None)
        return {
            "store_statuses": statuses,
            "store_not_succeeded": expected - statuses.get("succeeded", 0),
            "store_attempts_not_1": retried[0] if retried else None,
            "store_drain_s": (last - first) if first and last else None,
            "events_per_job": (events[0] / expected) if events and expected else None,
            "step_rows_per_job": (steps[0] / expected) if steps and expected else None,
        }

    def cleanup(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
