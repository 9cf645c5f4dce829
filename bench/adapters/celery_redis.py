"""Celery 5 with Redis as broker and result backend (db 15), as a user gets it.

W1/W2: one worker, prefork pool with 2 child processes (`celery worker -c 2`), defaults
otherwise (prefetch multiplier 4, early ack, results stored). W3: two workers with the
threads pool, each with its share of the 100 slots. W4: the parent task starts a chord of
200 children whose callback gathers the results (Celery's own fan-in, counted in Redis).
No burst mode: workers are stopped with SIGTERM (warm shutdown) once the jobs ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from celery import Celery, chord
from celery.signals import worker_ready

from ..common import child, gathered, noop, parent_started, sleep_job
from .base import Adapter, Client
from .stores import RedisDb15, redis_url


def make_celery() -> tuple[Celery, dict[str, Any]]:
    app = Celery("bench", broker=redis_url(), backend=redis_url())
    app.conf.update(
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_default_queue="bench",
    )
    tasks: dict[str, Any] = {
        name: app.task(name=name)(fn)
        for name, fn in (("noop", noop), ("sleep", sleep_job), ("child", child))
    }

    def gather(values: list[int], n: int) -> None:
        gathered(values, n)

    tasks["gather"] = app.task(name="gather")(gather)

    def fanout(n: int) -> None:
        parent_started()
        chord(tasks["child"].s(i) for i in range(n))(tasks["gather"].s(n))

    tasks["fanout"] = app.task(name="fanout")(fanout)
    return app, tasks


class _Client(Client):
    async def start(self) -> None:
        self.app, self.tasks = make_celery()
        with self.app.connection_for_write() as conn:
            conn.ensure_connection()

    async def enqueue(self, kind: str, n: int) -> None:
        self.tasks[kind].delay(n)

    async def aclose(self) -> None:
        self.app.close()


class CeleryRedis(RedisDb15, Adapter):
    description = "Celery 5, Redis broker + result backend, prefork -c 2 (W3: threads pools)"
    store = "redis"
    unsupported = {
        "ckpt_serial": "Celery chains do not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "Celery chains do not checkpoint; the checkpoint workloads are baton's",
    }

    def client(self) -> Client:
        return _Client()

    def worker_specs(
        self, processes: int, mode: str, concurrency: int | None = None
    ) -> list[dict[str, Any]]:
        if concurrency:
            return [
                {"mode": mode, "index": i, "pool": "threads", "c": concurrency}
                for i in range(processes)
            ]
        return [{"mode": mode, "index": 0, "pool": "prefork", "c": processes}]

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        app, _ = make_celery()

        @worker_ready.connect  # type: ignore[untyped-decorator]
        def _ready(**kwargs: Any) -> None:
            ready()

        app.worker_main(
            [
                "worker",
                f"--pool={spec['pool']}",
                f"--concurrency={spec['c']}",
                f"--hostname=bench{spec['index']}-{time.time_ns()}@localhost",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
                "--queues=bench",
            ]
        )
