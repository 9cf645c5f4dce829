"""baton on its embedded SQLite backend (WAL, synchronous=FULL, group commit).

Workers are real processes running `baton.run_worker(app, WorkerConfig(...))` (the CLI,
`baton worker APP --burst`, is not there yet). Options: `concurrency` (per worker process,
default baton's own default, 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import baton
from baton.backends.sqlite.wake import wake_dir

from ..common import STEPS, record
from .base import Adapter, Client


def make_app(url: str) -> tuple[baton.App, dict[str, Any]]:
    """The benchmark's app: the same definitions in the client and in every worker."""
    app = baton.App(url)

    @app.task
    async def noop(n: int) -> None:
        t = time.time()
        record(str(n), t, time.time())

    @app.step
    async def step(n: int, k: int) -> None:
        t = time.time()
        record(f"p{n}.{k}", t, time.time())

    @app.pipeline
    async def pipeline(ctx: baton.Context, n: int) -> None:
        for k in range(STEPS):
            await ctx.run(step, n, k)

    @app.task
    async def baseline(n: int) -> None:
        for k in range(STEPS):
            t = time.time()
            record(f"b{n}.{k}", t, time.time())

    return app, {"noop": noop, "pipeline": pipeline, "baseline": baseline}


class _Client(Client):
    def __init__(self, url: str) -> None:
        self.app, self.targets = make_app(url)

    async def start(self) -> None:
        await self.app.backend()  # connect and migrate outside the timed loop

    async def enqueue(self, kind: str, n: int) -> None:
        await self.targets[kind].enqueue(n)

    async def aclose(self) -> None:
        await self.app.aclose()


class BatonSQLite(Adapter):
    description = "baton, SQLite backend (WAL, synchronous=FULL, group commit)"
    has_burst = True

    @property
    def db(self) -> str:
        return str(self.workdir / "baton.db")

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def setup(self) -> None:
        async def migrate() -> None:
            app, _ = make_app(self.url)
            await app.backend()
            await app.aclose()

        asyncio.run(migrate())

    def client(self) -> Client:
        return _Client(self.url)

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        asyncio.run(self._worker(spec, ready))

    async def _worker(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        app, _ = make_app(self.url)
        await app.backend()
        await asyncio.to_thread(ready)
        config = baton.WorkerConfig(
            burst=spec["mode"] == "burst", concurrency=int(self.options.get("concurrency", 10))
        )
        await baton.run_worker(app, config, install_signals=True)
        await app.aclose()

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
