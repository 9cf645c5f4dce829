"""Procrastinate 3 on PostgreSQL (psycopg 3 connector), database bench_procrastinate, fresh
per run, with its own schema applied.

Workers as `procrastinate worker` runs them: one per process, concurrency 1 (its default;
W3: the in-flight share), LISTEN/NOTIFY wake-ups, `wait=False` for burst. Procrastinate
stores no results, so W4's parent defers 200 children and then waits (polling every 10 ms)
until the job table shows all of them succeeded; "gather" is that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import procrastinate
import psycopg

from ..common import child, gathered, noop, parent_started, sleep_job_async
from .base import Adapter, Client
from .stores import drop_pg, fresh_pg, pg_url

DB = "bench_procrastinate"
QUEUE = "bench"


def make_app() -> tuple[procrastinate.App, dict[str, Any]]:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=pg_url(DB)))

    async def noop_task(n: int) -> None:
        noop(n)

    async def sleep_task(n: int) -> None:
        await sleep_job_async(n)

    async def child_task(i: int) -> None:
        child(i)

    tasks: dict[str, Any] = {
        "noop": app.task(name="noop", queue=QUEUE)(noop_task),
        "sleep": app.task(name="sleep", queue=QUEUE)(sleep_task),
        "child": app.task(name="child", queue=QUEUE)(child_task),
    }

    async def fanout_task(n: int) -> None:
        parent_started()
        ids = {await tasks["child"].defer_async(i=i) for i in range(n)}
        while True:
            done = await app.job_manager.list_jobs_async(task="child", status="succeeded")
            if ids <= {job.id for job in done}:
                break
            await asyncio.sleep(0.01)
        gathered(None, n)

    tasks["fanout"] = app.task(name="fanout", queue=QUEUE)(fanout_task)
    return app, tasks


class _Client(Client):
    async def start(self) -> None:
        self.app, self.tasks = make_app()
        await self.app.open_async()

    async def enqueue(self, kind: str, n: int) -> None:
        await self.tasks[kind].defer_async(**{"i" if kind == "child" else "n": n})

    async def aclose(self) -> None:
        await self.app.close_async()


class ProcrastinatePG(Adapter):
    description = "Procrastinate 3, PostgreSQL (psycopg 3), concurrency 1/process, LISTEN/NOTIFY"
    has_burst = True
    store = "postgres"
    unsupported = {
        "ckpt_serial": "Procrastinate does not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "Procrastinate does not checkpoint; the checkpoint workloads are baton's",
    }

    def setup(self) -> None:
        fresh_pg(DB)

        async def schema() -> None:
            app, _ = make_app()
            async with app.open_async():
                await app.schema_manager.apply_schema_async()

        asyncio.run(schema())

    def client(self) -> Client:
        return _Client()

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        asyncio.run(self._worker(spec, ready))

    async def _worker(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        app, _ = make_app()
        async with app.open_async():
            await asyncio.to_thread(ready)
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=spec.get("concurrency") or 1,
                wait=spec["mode"] != "burst",
                install_signal_handlers=True,
            )

    def verify(self, expected: int) -> dict[str, Any]:
        with psycopg.connect(pg_url(DB)) as conn:
            rows = conn.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY status"
            ).fetchall()
        return {"store_statuses": dict(rows)}

    def cleanup(self) -> None:
        drop_pg(DB)
