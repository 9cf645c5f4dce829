"""What every baton adapter shares: the benchmark's app and the worker/client plumbing.

`BatonAdapter` is backend-neutral: a backend's adapter (SQLite here; PostgreSQL and Redis
in their own modules) says only where its store is (`url`), how to make it fresh
(`setup`), and how to remove it (`cleanup`). Options: `concurrency` (per worker process,
default baton's own, 10; W3 passes its own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import baton

from ..common import STEPS, child, gathered, noop, parent_started, record, sleep_job_async
from .base import Adapter, Client


def make_app(url: str) -> tuple[baton.App, dict[str, Any]]:
    """The benchmark's app: the same definitions in the client and in every worker."""
    app = baton.App(url)

    @app.task(name="noop")
    async def noop_task(n: int) -> None:
        noop(n)

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

    @app.task(name="sleep")
    async def sleep_task(n: int) -> None:
        await sleep_job_async(n)

    @app.step(name="child")
    async def child_step(i: int) -> int:
        return child(i)

    @app.step(name="parent_started")
    async def started() -> None:
        parent_started()

    @app.pipeline
    async def fanout(ctx: baton.Context, n: int) -> None:
        await ctx.run(started)  # a step, so the parent's replay after the map does not re-record
        gathered(await ctx.map(child_step, range(n)), n)

    targets = {
        "noop": noop_task,
        "pipeline": pipeline,
        "baseline": baseline,
        "sleep": sleep_task,
        "fanout": fanout,
    }
    from ..w5 import register  # the seeds' pipeline (W5)

    targets |= register(app)
    return app, targets


class _Client(Client):
    def __init__(self, url: str) -> None:
        self.app, self.targets = make_app(url)

    async def start(self) -> None:
        await self.app.backend()  # connect and migrate outside the timed loop

    async def enqueue(self, kind: str, n: int) -> None:
        await self.targets[kind].enqueue(n)

    async def aclose(self) -> None:
        await self.app.aclose()


class BatonAdapter(Adapter):
    """baton on any backend: subclasses give `url` (and `setup`/`cleanup` for their store)."""

    has_burst = True
    role = "baton"

    @property
    def url(self) -> str:
        raise NotImplementedError

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
        concurrency = spec.get("concurrency") or int(self.options.get("concurrency", 10))
        config = baton.WorkerConfig(burst=spec["mode"] == "burst", concurrency=concurrency)
        await baton.run_worker(app, config, install_signals=True)
        await app.aclose()
