"""RQ on Redis db 15, with either of its worker kinds.

`rq` is the default forking `Worker` (a fresh child process per job: isolation, at ~20 ms
of CPU a job); `rq:kind=simple` is `SimpleWorker` (jobs run in the worker process itself).
One RQ worker runs one job at a time, so W3's 100 in flight would need 100 processes:
it runs `w3_processes` of them (option, default 10) and the wall time shows it.
W4: the parent enqueues 200 children, then a gather job with `depends_on` all of them,
which reads their return values. The forking worker's W1 uses 1,000 jobs instead of 5,000
(70 s a run otherwise); the rate is what is compared.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker, get_current_job
from rq.job import Job

from ..common import child, gathered, noop, parent_started, sleep_job
from .base import Adapter, Client
from .stores import RedisDb15, redis_url

QUEUE = "bench"
KINDS = {"noop": noop, "sleep": sleep_job}


def gather(ids: list[str], n: int) -> None:
    job = get_current_job()
    assert job is not None
    values = [j.return_value() if j else None for j in Job.fetch_many(ids, job.connection)]
    gathered([int(v) for v in values if v is not None], n)


def fanout(n: int) -> None:
    parent_started()
    job = get_current_job()
    assert job is not None
    queue = Queue(QUEUE, connection=job.connection)
    kids = [queue.enqueue(child, i) for i in range(n)]
    queue.enqueue(gather, [k.id for k in kids], n, depends_on=kids)


class _Client(Client):
    async def start(self) -> None:
        self.conn = redis.Redis.from_url(redis_url())
        self.queue = Queue(QUEUE, connection=self.conn)

    async def enqueue(self, kind: str, n: int) -> None:
        self.queue.enqueue(fanout if kind == "fanout" else KINDS[kind], n)

    async def aclose(self) -> None:
        self.conn.close()


class RQRedis(RedisDb15, Adapter):
    has_burst = True
    store = "redis"
    unsupported = {
        "ckpt_serial": "RQ does not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "RQ does not checkpoint; the checkpoint workloads are baton's",
    }

    def __init__(self, workdir: Any, options: dict[str, str] | None = None) -> None:
        super().__init__(workdir, options)
        self.simple = self.options.get("kind", "fork") == "simple"
        self.description = (
            "RQ, SimpleWorker (jobs in the worker process), db 15"
            if self.simple
            else "RQ, forking Worker (a child process per job), db 15"
        )
        self.w1_jobs = None if self.simple else 1000

    def client(self) -> Client:
        return _Client()

    def worker_specs(
        self, processes: int, mode: str, concurrency: int | None = None
    ) -> list[dict[str, Any]]:
        if concurrency:
            processes = int(self.options.get("w3_processes", 10))
        return [{"mode": mode, "index": i} for i in range(processes)]

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        conn = redis.Redis.from_url(redis_url())
        kind = SimpleWorker if self.simple else Worker
        worker = kind([Queue(QUEUE, connection=conn)], connection=conn)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ready()
        worker.work(burst=spec["mode"] == "burst", logging_level="WARNING")
