"""Taskiq with taskiq-redis on db 15: `ListQueueBroker` (BRPOP; `taskiq:broker=stream` for
`RedisStreamBroker`, consumer groups with acks) and `RedisAsyncResultBackend`.

Each worker process runs the receiver as `taskiq worker` does (`max_async_tasks` 100 by
default; W3: the in-flight share). W4: the parent kiqs 200 children and awaits each
`wait_result()` (Taskiq's default 0.2 s check interval).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from taskiq import AsyncBroker
from taskiq.api import run_receiver_task
from taskiq_redis import ListQueueBroker, RedisAsyncResultBackend, RedisStreamBroker

from ..common import child, gathered, noop, parent_started, sleep_job_async
from .base import Adapter, Client
from .stores import RedisDb15, redis_url


def make_broker(kind: str) -> tuple[AsyncBroker, dict[str, Any]]:
    cls = RedisStreamBroker if kind == "stream" else ListQueueBroker
    broker = cls(redis_url(), queue_name="bench").with_result_backend(
        RedisAsyncResultBackend(redis_url())
    )

    async def noop_task(n: int) -> None:
        noop(n)

    async def sleep_task(n: int) -> None:
        await sleep_job_async(n)

    async def child_task(i: int) -> int:
        return child(i)

    tasks: dict[str, Any] = {
        "noop": broker.task(task_name="noop")(noop_task),
        "sleep": broker.task(task_name="sleep")(sleep_task),
        "child": broker.task(task_name="child")(child_task),
    }

    async def fanout_task(n: int) -> None:
        parent_started()
        kids = [await tasks["child"].kiq(i) for i in range(n)]
        gathered([(await k.wait_result(timeout=60)).return_value for k in kids], n)

    tasks["fanout"] = broker.task(task_name="fanout")(fanout_task)
    return broker, tasks


class _Client(Client):
    def __init__(self, kind: str) -> None:
        self.broker, self.tasks = make_broker(kind)

    async def start(self) -> None:
        await self.broker.startup()

    async def enqueue(self, kind: str, n: int) -> None:
        await self.tasks[kind].kiq(n)

    async def aclose(self) -> None:
        await self.broker.shutdown()


class TaskiqRedis(RedisDb15, Adapter):
    store = "redis"
    unsupported = {
        "ckpt_serial": "Taskiq does not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "Taskiq does not checkpoint; the checkpoint workloads are baton's",
    }

    def __init__(self, workdir: Any, options: dict[str, str] | None = None) -> None:
        super().__init__(workdir, options)
        self.kind = self.options.get("broker", "list")
        name = "RedisStreamBroker" if self.kind == "stream" else "ListQueueBroker"
        self.description = f"Taskiq, taskiq-redis {name} + RedisAsyncResultBackend, db 15"

    def client(self) -> Client:
        return _Client(self.kind)

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        asyncio.run(self._worker(spec, ready))

    async def _worker(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        broker, _ = make_broker(self.kind)
        broker.is_worker_process = True
        await broker.startup()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await asyncio.to_thread(ready)
        receiver = asyncio.create_task(
            run_receiver_task(broker, max_async_tasks=spec.get("concurrency") or 100)
        )
        await stop.wait()
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        await broker.shutdown()
