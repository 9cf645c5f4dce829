"""The floor on PostgreSQL: a minimal hand-written queue on psycopg 3, SKIP LOCKED claims.

Enqueue is one autocommit INSERT that also NOTIFYs (one statement, one commit). A worker
claims the oldest queued row with `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED
LIMIT 1) RETURNING`, runs it, and marks it done: two commits per job, one job at a time.
An idle worker waits for a NOTIFY (at most 50 ms, then looks again). A "pipeline" saves one
checkpoint row per step, each its own commit. Database: bench_raw_pg, fresh per run.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import psycopg

from ..common import STEPS, noop, record
from .base import Adapter, Client
from .stores import drop_pg, fresh_pg, pg_url

DB = "bench_raw_pg"
SCHEMA = """
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, n INTEGER NOT NULL,
    status SMALLINT NOT NULL DEFAULT 0, owner INTEGER);
CREATE INDEX jobs_queued ON jobs (id) WHERE status = 0;
CREATE TABLE steps (job_id BIGINT NOT NULL, k INTEGER NOT NULL, result TEXT,
    PRIMARY KEY (job_id, k));
"""
ENQUEUE = """WITH j AS (INSERT INTO jobs (kind, n) VALUES (%s, %s) RETURNING id)
SELECT pg_notify('bench_jobs', '') FROM j"""
CLAIM = """UPDATE jobs SET status = 1, owner = %s
WHERE id = (SELECT id FROM jobs WHERE status = 0 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING id, kind, n"""


class _Client(Client):
    async def start(self) -> None:
        self.conn = await psycopg.AsyncConnection.connect(pg_url(DB), autocommit=True)

    async def enqueue(self, kind: str, n: int) -> None:
        await self.conn.execute(ENQUEUE, (kind, n))

    async def aclose(self) -> None:
        await self.conn.close()


def _run(conn: psycopg.Connection[Any], job_id: int, kind: str, n: int) -> None:
    if kind == "noop":
        noop(n)
    elif kind == "baseline":
        for k in range(STEPS):
            t = time.time()
            record(f"b{n}.{k}", t, time.time())
    else:  # pipeline: a durable checkpoint per step
        for k in range(STEPS):
            t = time.time()
            record(f"p{n}.{k}", t, time.time())
            conn.execute("INSERT INTO steps VALUES (%s, %s, 'null')", (job_id, k))


class RawPG(Adapter):
    description = "floor: hand-written psycopg queue, SKIP LOCKED claim, 2 commits/job, NOTIFY"
    has_burst = True
    store = "postgres"
    role = "floor"
    unsupported = {
        "w3": "the floor runs one job at a time per process",
        "w4": "the floor has no fan-out",
    }

    def setup(self) -> None:
        with psycopg.connect(fresh_pg(DB), autocommit=True) as conn:
            conn.execute(SCHEMA)

    def client(self) -> Client:
        return _Client()

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        stop = False

        def on_signal(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        me = os.getpid()
        conn = psycopg.connect(pg_url(DB), autocommit=True)
        conn.execute("LISTEN bench_jobs")
        ready()
        while not stop:
            row = conn.execute(CLAIM, (me,)).fetchone()
            if row is None:
                if spec["mode"] == "burst":
                    break
                for _ in conn.notifies(timeout=0.05, stop_after=1):
                    pass
                continue
            _run(conn, *row)
            conn.execute("UPDATE jobs SET status = 2 WHERE id = %s", (row[0],))
        conn.close()

    def verify(self, expected: int) -> dict[str, Any]:
        with psycopg.connect(pg_url(DB)) as conn:
            row = conn.execute("SELECT count(*) FROM jobs WHERE status != 2").fetchone()
        return {"store_not_done": row[0] if row else None}

    def cleanup(self) -> None:
        drop_pg(DB)
