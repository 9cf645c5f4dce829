"""baton on its embedded SQLite backend (WAL, synchronous=FULL, group commit).

Workers are real processes running `baton.run_worker(app, WorkerConfig(...))`; the app and
the plumbing are in `baton_app` (shared with the PostgreSQL and Redis adapters).
Options: `concurrency` (per worker process, default baton's own default, 10).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from typing import Any

from baton.backends.sqlite.wake import wake_dir

from .baton_app import BatonAdapter, _Client, make_app

__all__ = ["BatonSQLite", "_Client", "make_app"]  # the PostgreSQL/Redis adapters import these


class BatonSQLite(BatonAdapter):
    description = "baton, SQLite backend (WAL, synchronous=FULL, group commit)"
    store = "sqlite"

    @property
    def db(self) -> str:
        return str(self.workdir / "baton.db")

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def verify(self, expected: int) -> dict[str, Any]:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            statuses = dict(
                conn.execute(
                    "SELECT status, count(*) FROM baton_jobs "
                    "WHERE pipeline = 'noop' GROUP BY status"
                )
            )
            retried = conn.execute(
                "SELECT count(*) FROM baton_jobs WHERE pipeline = 'noop' AND attempts != 1"
            ).fetchone()[0]
            first, last = conn.execute(
                "SELECT min(started_at), max(finished_at) FROM baton_jobs WHERE pipeline = 'noop'"
            ).fetchone()
            events = conn.execute("SELECT count(*) FROM baton_events").fetchone()[0]
            steps = conn.execute("SELECT count(*) FROM baton_steps").fetchone()[0]
        return {
            "store_statuses": statuses,
            "store_not_succeeded": expected - statuses.get("succeeded", 0),
            "store_attempts_not_1": retried,
            "store_drain_s": (last - first) if first and last else None,
            "events_per_job": events / expected if expected else None,
            "step_rows_per_job": steps / expected if expected else None,
        }

    def cleanup(self) -> None:
        shutil.rmtree(wake_dir(self.db), ignore_errors=True)
