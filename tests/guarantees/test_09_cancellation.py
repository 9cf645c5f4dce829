"""Guarantee 9: cancellation stops a running job at once; no later step starts."""

from __future__ import annotations

import asyncio

import baton
from tests.helpers import start_worker, until


async def test_cancel_running_job_cancels_the_step_and_nothing_after(app: baton.App) -> None:
    events: list[str] = []
    inside = asyncio.Event()

    @app.step
    async def long_step() -> None:
        events.append("long started")
        inside.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("long cancelled")
            raise

    @app.step
    async def next_step() -> None:
        events.append("next started")

    @app.pipeline
    async def pipe(ctx: baton.Context) -> None:
        await ctx.run(long_step)
        await ctx.run(next_step)

    job = await pipe.enqueue()
    w, t = start_worker(app, check_interval=0.05)
    await inside.wait()
    cancelled = await app.cancel(job.id)
    assert cancelled.status == baton.Status.CANCELLED
    await until(lambda: "long cancelled" in events, what="the running step to be cancelled")
    await until(lambda: not w._running, what="the worker to let go of the job")
    w.stop()
    await t
    assert events == ["long started", "long cancelled"]
    done = await app.get_job(job.id)
    assert done.status == baton.Status.CANCELLED
    types = [e.type for e in await (await app.backend()).events(job.id)]
    assert types[-1] == "job.cancelled" and "step.succeeded" not in types


async def test_cancel_queued_job_never_runs(app: baton.App, run_burst) -> None:
    ran: list[int] = []

    @app.task
    async def work() -> None:
        ran.append(1)

    job = await work.enqueue(delay=0.2)
    await app.cancel(job.id)
    await run_burst(app)
    assert ran == [] and (await app.get_job(job.id)).status == baton.Status.CANCELLED


async def test_cancel_waiting_parent_cancels_its_children(app: baton.App) -> None:
    @app.step
    async def child(i: int) -> int:
        await asyncio.sleep(60)
        return i

    @app.pipeline
    async def parent(ctx: baton.Context) -> list[int]:
        return await ctx.map(child, range(5))

    job = await parent.enqueue()
    w, t = start_worker(app, concurrency=2, check_interval=0.05)
    await until(lambda: _status(app, job.id, baton.Status.WAITING), what="parent waiting")
    await app.cancel(job.id)
    kids = await app.list_jobs(pipeline="child")
    await until(lambda: not w._running, what="running children to stop")
    w.stop()
    await t
    kids = await app.list_jobs(pipeline="child")
    assert len(kids) == 5
    assert {k.status for k in kids} == {baton.Status.CANCELLED}


async def _status(app: baton.App, job_id: str, status: baton.Status) -> bool:
    return (await app.get_job(job_id)).status == status
