"""Guarantee 3: leases with fencing; a stale lease's writes are refused."""

from __future__ import annotations

import asyncio

import baton
from tests.helpers import start_worker, until


async def test_stale_worker_cannot_overwrite_new_owner(app: baton.App) -> None:
    a_inside = asyncio.Event()
    a_release = asyncio.Event()
    runs: list[str] = []

    @app.step
    async def work(who_first: str) -> str:
        me = "A" if not runs else "B"
        runs.append(me)
        if me == "A":
            a_inside.set()
            await a_release.wait()  # A is paused past its lease
        return me

    @app.pipeline
    async def pipe(ctx: baton.Context) -> str:
        return await ctx.run(work, "x")

    job = await pipe.enqueue()
    # A: short lease, no heartbeat, no lease checks: it will not notice it lost the job.
    # One slot, so A cannot claim its own lapsed job again while it is stuck in the step.
    wa, ta = start_worker(app, concurrency=1, lease=1.0, heartbeat=3600, check_interval=3600)
    await a_inside.wait()
    wb, tb = start_worker(app, lease=30)
    await until(lambda: app.get_job(job.id), what="job")
    await until(lambda: _status(app, job.id, baton.Status.SUCCEEDED), what="B to finish")
    a_release.set()  # A wakes and tries to save its result with its stale lease
    await until(lambda: not wa._running, what="A to give up")
    wa.stop()
    wb.stop()
    await asyncio.gather(ta, tb)

    done = await app.get_job(job.id)
    assert done.result == "B"
    assert runs == ["A", "B"]
    assert [s.worker for s in done.steps] == [wb.id]
    assert wa.processed == 0  # A's save was refused


async def _status(app: baton.App, job_id: str, status: baton.Status) -> bool:
    return (await app.get_job(job_id)).status == status


async def test_stale_lease_write_raises_lease_lost(app: baton.App) -> None:
    @app.task
    async def noop() -> None:
        return None

    job = await noop.enqueue()
    backend = await app.backend()
    (first,) = await backend.claim("a", ["default"], 1, 0.05)
    await until(lambda: backend.claim("b", ["default"], 1, 30), what="reclaim")
    from baton.models import Succeeded

    try:
        await backend.settle(first.lease, Succeeded("1"))
    except baton.LeaseLost:
        pass
    else:
        raise AssertionError("a stale lease settled the job")
    assert (await app.get_job(job.id)).status == baton.Status.RUNNING
