"""The floor: a minimal hand-written queue on Python's sqlite3, WAL + synchronous=FULL.

Enqueue is one INSERT (one durable commit). A worker peeks (read-only), claims the oldest
queued row with `BEGIN IMMEDIATE; UPDATE ... RETURNING; COMMIT`, runs it, and marks it
done (a second commit): two durable commits per job, one job at a time, no batching. An
idle worker polls every `poll_ms` (default 1 ms). A "pipeline" saves one checkpoint row
per step, each its own commit: the least a durable per-step checkpoint can cost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..common import STEPS, record
from .base import Adapter, Client

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, n INTEGER NOT NULL,
    status INTEGER NOT NULL DEFAULT 0, owner INTEGER);
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (id) WHERE status = 0;
CREATE TABLE IF NOT EXISTS steps (
    job_id INTEGER NOT NULL, k INTEGER NOT NULL, result TEXT, PRIMARY KEY (job_id, k));
"""
PEEK = "SELECT 1 FROM jobs WHERE status = 0 LIMIT 1"
CLAIM = """UPDATE jobs SET status = 1, owner = ?
WHERE id = (SELECT id FROM jobs WHERE status = 0 ORDER BY id LIMIT 1) RETURNING id, kind, n"""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


class _Client(Client):
    def __init__(self, path: str) -> None:
        self.conn = connect(path)

    async def enqueue(self, kind: str, n: int) -> None:
        self.conn.execute("INSERT INTO jobs (kind, n) VALUES (?, ?)", (kind, n))

    async def aclose(self) -> None:
        self.conn.close()


def _run(conn: sqlite3.Connection, job_id: int, kind: str, n: int) -> None:
    if kind == "noop":
        t = time.time()
        record(str(n), t, time.time())
    elif kind == "baseline":
        for k in range(STEPS):
            t = time.time()
            record(f"b{n}.{k}", t, time.time())
    else:  # pipeline: a durable checkpoint per step
        for k in range(STEPS):
            t = time.time()
            record(f"p{n}.{k}", t, time.time())
            conn.execute("INSERT INTO steps (job_id, k, result) VALUES (?, ?, 'null')", (job_id, k))


class RawSQLite(Adapter):
    description = "floor: hand-written sqlite3 queue, 2 commits/job, WAL, synchronous=FULL"
    has_burst = True
    store = "sqlite"
    role = "floor"
    unsupported = {
        "w3": "the floor runs one job at a time per process",
        "w4": "the floor has no fan-out",
    }

    @property
    def db(self) -> str:
        return str(self.workdir / "raw.db")

    def setup(self) -> None:
        with contextlib.closing(connect(self.db)) as conn:
            conn.executescript(SCHEMA)

    def client(self) -> Client:
        return _Client(self.db)

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        stop = False

        def on_signal(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        poll = float(self.options.get("poll_ms", 1.0)) / 1000.0
        me = os.getpid()
        conn = connect(self.db)
        ready()
        while not stop:
            if conn.execute(PEEK).fetchone() is None:
                if spec["mode"] == "burst":
                    break
                time.sleep(poll)
                continue
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(CLAIM, (me,)).fetchone()
            conn.execute("COMMIT")
            if row is None:
                continue
            _run(conn, *row)
            conn.execute("UPDATE jobs SET status = 2 WHERE id = ?", (row[0],))
        conn.close()

    def verify(self, expected: int) -> dict[str, Any]:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            left = conn.execute("SELECT count(*) FROM jobs WHERE status != 2").fetchone()[0]
        return {"store_not_done": left}
