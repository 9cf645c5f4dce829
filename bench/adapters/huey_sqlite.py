"""Huey with its SQLite storage, as a user gets it: `SqliteHuey(filename=...)`.

Defaults throughout: WAL, and `synchronous` left at SQLite's default (FULL here), so each
enqueue and each dequeue is a durable commit, as in baton. One consumer with
`workers=N, worker_type="process"` (what `huey_consumer -w N -k process` runs), polling
with Huey's default backoff (0.1 s, x1.15, up to 10 s). A "pipeline" is Huey's own chain,
`step.s(n, 0).then(step, n, 1)...`: each stage is a separate task enqueued when the
previous one finishes; Huey deletes a task at pickup, so nothing is checkpointed.
Options: `fsync` (true/false: sets PRAGMA synchronous=FULL/OFF explicitly).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from huey import SqliteHuey

from ..common import STEPS, record
from .base import Adapter, Client


def _noop(n: int) -> None:
    t = time.time()
    record(str(n), t, time.time())


def _step(n: int, k: int) -> None:
    t = time.time()
    record(f"p{n}.{k}", t, time.time())


def _baseline(n: int) -> None:
    for k in range(STEPS):
        t = time.time()
        record(f"b{n}.{k}", t, time.time())


def make_huey(path: str, options: dict[str, str]) -> tuple[SqliteHuey, dict[str, Any]]:
    kwargs: dict[str, Any] = {}
    if "fsync" in options:
        kwargs["fsync"] = options["fsync"].lower() in ("1", "true", "yes")
    huey = SqliteHuey(name="bench", filename=path, **kwargs)
    tasks = {
        name: huey.task(name=name)(fn)
        for name, fn in (("noop", _noop), ("step", _step), ("baseline", _baseline))
    }
    return huey, tasks


class _Client(Client):
    def __init__(self, path: str, options: dict[str, str]) -> None:
        self.huey, self.tasks = make_huey(path, options)

    async def enqueue(self, kind: str, n: int) -> None:
        if kind == "pipeline":
            step = self.tasks["step"]
            chain = step.s(n, 0)
            for k in range(1, STEPS):
                chain = chain.then(step, n, k)
            self.huey.enqueue(chain)
        else:
            self.tasks[kind](n)

    async def aclose(self) -> None:
        self.huey.storage.close()


class HueySQLite(Adapter):
    description = "Huey 3, SqliteHuey defaults (WAL, synchronous=FULL), process workers"
    has_burst = False

    @property
    def db(self) -> str:
        return str(self.workdir / "huey.db")

    def setup(self) -> None:
        huey, _ = make_huey(self.db, self.options)  # creates the tables
        huey.storage.close()

    def client(self) -> Client:
        return _Client(self.db, self.options)

    def worker_specs(self, processes: int, mode: str) -> list[dict[str, Any]]:
        return [{"mode": mode, "index": 0, "workers": processes}]

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        huey, _ = make_huey(self.db, self.options)
        consumer = huey.create_consumer(workers=spec["workers"], worker_type="process")
        ready()
        consumer.run()

    def verify(self, expected: int) -> dict[str, Any]:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            left = conn.execute("SELECT count(*) FROM task").fetchone()[0]
        return {"store_tasks_left": left}
