"""Dramatiq with its Redis broker (db 15), as the CLI runs it: one Worker per process.

Defaults: 8 worker threads per process, `worker_timeout` 1000 ms (option `timeout_ms`,
e.g. `dramatiq:timeout_ms=100`), the default middleware plus Results (Redis backend) for
W4. W3: threads = the in-flight share. W4: the parent sends a `group` of 200 children and
blocks on `get_results` (it holds one thread). No burst mode: stopped with SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

from ..common import child, gathered, noop, parent_started, sleep_job
from .base import Adapter, Client
from .stores import RedisDb15, redis_url

QUEUE = "bench"


def make_broker() -> tuple[RedisBroker, dict[str, Any]]:
    broker = RedisBroker(url=redis_url())
    broker.add_middleware(Results(backend=RedisBackend(url=redis_url())))
    dramatiq.set_broker(broker)

    def actor(fn: Callable[..., Any], name: str, **options: Any) -> Any:
        return dramatiq.actor(fn, actor_name=name, queue_name=QUEUE, broker=broker, **options)

    actors = {
        "noop": actor(noop, "noop"),
        "sleep": actor(sleep_job, "sleep"),
        "child": actor(child, "child", store_results=True),
    }

    def fanout(n: int) -> None:
        parent_started()
        group = dramatiq.group(actors["child"].message(i) for i in range(n)).run()
        gathered(list(group.get_results(block=True, timeout=60_000)), n)

    actors["fanout"] = actor(fanout, "fanout")
    return broker, actors


class _Client(Client):
    async def start(self) -> None:
        self.broker, self.actors = make_broker()

    async def enqueue(self, kind: str, n: int) -> None:
        self.actors[kind].send(n)

    async def aclose(self) -> None:
        self.broker.close()


class DramatiqRedis(RedisDb15, Adapter):
    store = "redis"
    unsupported = {
        "ckpt_serial": "Dramatiq does not checkpoint; the checkpoint workloads are baton's",
        "ckpt_batch": "Dramatiq does not checkpoint; the checkpoint workloads are baton's",
    }

    def __init__(self, workdir: Any, options: dict[str, str] | None = None) -> None:
        super().__init__(workdir, options)
        self.timeout_ms = int(self.options.get("timeout_ms", 1000))
        self.description = (
            f"Dramatiq 2, Redis broker, 8 threads/process, worker_timeout {self.timeout_ms} ms"
        )

    def client(self) -> Client:
        return _Client()

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        broker, _ = make_broker()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        worker = dramatiq.Worker(
            broker,
            worker_timeout=self.timeout_ms,
            worker_threads=spec.get("concurrency") or 8,
        )
        ready()
        worker.start()
        stop.wait()
        worker.stop()
        broker.close()
