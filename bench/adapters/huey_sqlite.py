"""Huey with its SQLite storage, as a user gets it: `SqliteHuey(filename=...)`.

Defaults throughout: WAL, and `synchronous` left at SQLite's default (FULL here), so each
enqueue and each dequeue is a durable commit, as in baton. One consumer with
`workers=N, worker_type="process"` (what `huey_consumer -w N -k process` runs), polling
with Huey's default backoff (0.1 s, x1.15, up to 10 s). A "pipeline" is Huey's own chain,
`step.s(n, 0).then(step, n, 1)...`: each stage is a separate task enqueued when the
previous one finishes; Huey deletes a task at pickup, so nothing is checkpointed.
W3 runs 2 consumers of `worker_type="thread"` with the in-flight share each; W4's parent
calls `child.map(range(n))` and blocks on the ResultGroup (it holds one of the 2 workers).
Options: `fsync` (true/false: sets PRAGMA synchronous=FULL/OFF explicitly); `chains=1`
runs the checkpoint workloads on Huey's chains (off by default: ~20 s a run of polling).

`HueyAdapter` is shared with the Redis and PostgreSQL storages (huey_redis, huey_postgres).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from huey import Huey, SqliteHuey

from ..common import STEPS, child, gathered, noop, parent_started, record, sleep_job
from .base import Adapter, Client


def _step(n: int, k: int) -> None:
    t = time.time()
    record(f"p{n}.{k}", t, time.time())


def _baseline(n: int) -> None:
    for k in range(STEPS):
        t = time.time()
        record(f"b{n}.{k}", t, time.time())


def define_tasks(huey: Huey) -> dict[str, Any]:
    """The benchmark's tasks on a Huey instance (the same in the client and the workers)."""
    tasks: dict[str, Any] = {
        name: huey.task(name=name)(fn)
        for name, fn in (
            ("noop", noop),
            ("step", _step),
            ("baseline", _baseline),
            ("sleep", sleep_job),
            ("child", child),
        )
    }

    def fanout(n: int) -> None:
        parent_started()
        group = tasks["child"].map(range(n))
        gathered(group.get(blocking=True, timeout=60), n)

    tasks["fanout"] = huey.task(name="fanout")(fanout)
    return tasks


class _Client(Client):
    def __init__(self, huey: Huey, tasks: dict[str, Any]) -> None:
        self.huey, self.tasks = huey, tasks

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
        with contextlib.suppress(Exception):
            self.huey.storage.close()


class HueyAdapter(Adapter):
    """Huey on some storage: subclasses say which (`make_huey`)."""

    has_burst = False
    thread_cap = 1000  # threads per consumer in W3 (PostgreSQL: one connection per thread)

    def __init__(self, workdir: Any, options: dict[str, str] | None = None) -> None:
        super().__init__(workdir, options)
        if self.options.get("chains") != "1":
            # Huey polls between a chain's tasks: 100 serial chains take ~20 s, to measure
            # something that is not a checkpoint (Huey deletes a task at pickup).
            reason = "Huey's chains are not checkpoints; measure them with huey-...:chains=1"
            self.unsupported = {"ckpt_serial": reason, "ckpt_batch": reason}

    def make_huey(self) -> Huey:
        raise NotImplementedError

    def setup(self) -> None:
        huey = self.make_huey()  # creates the tables
        huey.storage.close()

    def client(self) -> Client:
        huey = self.make_huey()
        return _Client(huey, define_tasks(huey))

    def worker_specs(
        self, processes: int, mode: str, concurrency: int | None = None
    ) -> list[dict[str, Any]]:
        if concurrency:  # W3: thread consumers, one per process
            threads = min(concurrency, self.thread_cap)
            return [
                {"mode": mode, "index": i, "workers": threads, "type": "thread"}
                for i in range(processes)
            ]
        return [{"mode": mode, "index": 0, "workers": processes, "type": "process"}]

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        huey = self.make_huey()
        define_tasks(huey)
        consumer = huey.create_consumer(workers=spec["workers"], worker_type=spec["type"])
        ready()
        consumer.run()


class HueySQLite(HueyAdapter):
    description = "Huey 3, SqliteHuey defaults (WAL, synchronous=FULL), process workers"
    store = "sqlite"

    @property
    def db(self) -> str:
        return str(self.workdir / "huey.db")

    def make_huey(self) -> Huey:
        kwargs: dict[str, Any] = {}
        if "fsync" in self.options:
            kwargs["fsync"] = self.options["fsync"].lower() in ("1", "true", "yes")
        return SqliteHuey(name="bench", filename=self.db, **kwargs)

    def verify(self, expected: int) -> dict[str, Any]:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            left = conn.execute("SELECT count(*) FROM task").fetchone()[0]
        return {"store_tasks_left": left}
