"""Guarantee 5: step timeouts, job deadlines, queue expiry; process steps killed past timeout."""

from __future__ import annotations

import asyncio

import baton
from tests.guarantees import procsteps


async def test_async_step_timeout(app: baton.App, run_burst) -> None:
    @app.step(timeout=0.1, retry=baton.Retry(attempts=1))
    async def slow() -> None:
        await asyncio.sleep(30)

    @app.pipeline
    async def pipe(ctx: baton.Context) -> None:
        await ctx.run(slow)

    job = await pipe.enqueue()
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.FAILED
    assert done.error is not None
    assert done.error["type"] == "StepTimeout"
    assert "timeout of 0.1s" in done.error["message"]


async def test_job_deadline(app: baton.App, run_burst) -> None:
    @app.step
    async def nap() -> None:
        await asyncio.sleep(0.05)

    @app.pipeline(timeout=0.3)
    async def forever(ctx: baton.Context) -> None:
        while True:
            await ctx.run(nap)

    job = await forever.enqueue()
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.FAILED
    assert done.error is not None and done.error["type"] == "DeadlineExceeded"


async def test_queue_expiry(app: baton.App, run_burst) -> None:
    ran = []

    @app.task
    async def late() -> None:
        ran.append(1)

    job = await late.enqueue(expires=0.05)
    await asyncio.sleep(0.06)  # let the expiry pass: time itself is the condition
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.EXPIRED
    assert ran == []


async def test_process_step_past_timeout_is_killed(backend_url: str, run_burst) -> None:
    procsteps.app.url = backend_url
    try:
        job = await procsteps.cpu.enqueue(60.0)
        await run_burst(procsteps.app)
        done = await procsteps.app.get_job(job.id)
    finally:
        await procsteps.app.aclose()
    assert done.status == baton.Status.FAILED
    assert done.error is not None and done.error["type"] == "StepTimeout"
    assert "killed" in done.error["message"]


async def test_process_steps_run_in_child_processes(backend_url: str, run_burst) -> None:
    procsteps.app.url = backend_url
    try:
        job = await procsteps.squares.enqueue(4)
        await run_burst(procsteps.app)
        done = await procsteps.app.get_job(job.id)
        dead = await procsteps.dies.enqueue()
        await run_burst(procsteps.app)  # the worker survives a child that dies
        died = await procsteps.app.get_job(dead.id)
    finally:
        await procsteps.app.aclose()
    assert done.status == baton.Status.SUCCEEDED, done.error
    assert done.result == [0, 1, 4, 9]
    assert died.status == baton.Status.FAILED
    assert died.error is not None and died.error["type"] == "ProcessDied"


async def test_expiry_only_applies_before_the_first_start(app: baton.App, run_burst) -> None:
    @app.pipeline
    async def naps(ctx: baton.Context) -> str:
        await ctx.sleep(0.3)  # back in the queue after `expires` has passed
        return "woke"

    job = await naps.enqueue(expires=0.1)
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == "woke"
