"""Guarantee 12: on stop (SIGTERM), running steps finish within the grace period; the rest
are released so another worker resumes them at once. (Real signals: tests/cli.)"""

from __future__ import annotations

import asyncio
from collections import Counter

import baton
from tests.helpers import start_worker, until


async def test_running_step_finishes_within_grace(app: baton.App) -> None:
    inside = asyncio.Event()

    @app.task
    async def short() -> str:
        inside.set()
        await asyncio.sleep(0.2)
        return "finished"

    job = await short.enqueue()
    w, t = start_worker(app, grace=10)
    await inside.wait()
    w.stop()
    await t
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == "finished"


async def test_past_grace_jobs_are_released_and_resumed_elsewhere(app: baton.App) -> None:
    calls: Counter[str] = Counter()
    inside = asyncio.Event()

    @app.step
    async def first() -> int:
        calls["first"] += 1
        return 1

    @app.step
    async def slow() -> int:
        calls["slow"] += 1
        if calls["slow"] == 1:
            inside.set()
            await asyncio.sleep(60)
        return 2

    @app.pipeline
    async def pipe(ctx: baton.Context) -> int:
        return await ctx.run(first) + await ctx.run(slow)

    job = await pipe.enqueue()
    w, t = start_worker(app, grace=0.1, lease=60)
    await inside.wait()
    w.stop()
    await t
    released = await app.get_job(job.id)
    assert released.status == baton.Status.QUEUED  # handed back at once, not after 60 s
    _, t2 = start_worker(app, burst=True, lease=60)
    await until(lambda: t2.done(), timeout=10, what="the second worker to finish")
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == 3
    assert calls == Counter({"first": 1, "slow": 2})
    assert done.attempts == 1  # a graceful release is not a new attempt
    types = [e.type for e in await (await app.backend()).events(job.id)]
    assert "job.released" in types
