"""arq (asyncio, Redis db 15), as a user gets it: `Worker(functions=..., burst=...)`.

Defaults: `max_jobs=10` per worker, `poll_delay=0.5` s (arq polls its sorted set; option
`poll_ms` changes it, e.g. `arq:poll_ms=50`). W3: `max_jobs` = the in-flight share.
At the default poll W1 uses 2,000 jobs (the drain is poll-bound, ~250 jobs/s: 5,000 would
take 20 s a run); the rate is what is compared. W4: the parent enqueues 200 children and
awaits each `job.result()` in turn (it holds its slot; awaiting all at once exhausts arq's
Redis connection pool).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job, ResultNotFound
from arq.worker import Worker

from ..common import child, gathered, noop, parent_started, sleep_job_async
from .base import Adapter, Client
from .stores import RedisDb15, redis_parts


def settings() -> RedisSettings:
    host, port, db = redis_parts()
    return RedisSettings(host=host, port=port, database=db)


async def noop_job(ctx: dict[str, Any], n: int) -> None:
    noop(n)


async def sleep_job(ctx: dict[str, Any], n: int) -> None:
    await sleep_job_async(n)


async def child_job(ctx: dict[str, Any], i: int) -> int:
    return child(i)


async def _result(job: Job, poll: float) -> Any:
    """`job.result()`, retried past arq 0.25's window between a job's end and its result
    being readable (it raises ResultNotFound there; arq >= 0.26 needs redis < 6)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return await job.result(timeout=60, poll_delay=poll)
        except ResultNotFound:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(poll)


async def fanout_job(ctx: dict[str, Any], n: int) -> None:
    parent_started()
    redis: ArqRedis = ctx["redis"]
    jobs = [await redis.enqueue_job("child_job", i) for i in range(n)]
    poll = ctx["bench_poll"]
    # one at a time: 200 concurrent result() polls exhaust arq's Redis connection pool
    gathered([await _result(j, poll) for j in jobs if j], n)


NAMES = {"noop": "noop_job", "sleep": "sleep_job", "fanout": "fanout_job"}


class _Client(Client):
    async def start(self) -> None:
        self.redis = await create_pool(settings())

    async def enqueue(self, kind: str, n: int) -> None:
        await self.redis.enqueue_job(NAMES[kind], n)

    async def aclose(self) -> None:
        await self.redis.aclose()


class ArqRedisAdapter(RedisDb15, Adapter):
    has_burst = True
    store = "redis"
    unsupported = {
        "ckpt_serial": "arq does not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "arq does not checkpoint; the checkpoint workloads are baton's",
    }

    def __init__(self, workdir: Any, options: dict[str, str] | None = None) -> None:
        super().__init__(workdir, options)
        self.poll = float(self.options.get("poll_ms", 500)) / 1000.0
        self.description = f"arq, Redis db 15, max_jobs=10, poll_delay={self.poll:g} s"
        if self.poll >= 0.2:  # poll-bound: ~250 jobs/s, 20 s a run for 5,000
            self.w1_jobs = 2000

    def client(self) -> Client:
        return _Client()

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        async def startup(ctx: dict[str, Any]) -> None:
            ctx["bench_poll"] = self.poll
            await asyncio.to_thread(ready)

        worker = Worker(
            functions=[noop_job, sleep_job, child_job, fanout_job],  # type: ignore[list-item]
            redis_settings=settings(),
            burst=spec["mode"] == "burst",
            max_jobs=spec.get("concurrency") or 10,
            poll_delay=self.poll,
            on_startup=startup,
        )
        worker.run()
