"""Guarantee 1: an enqueue that returned is durable; a job ends only in a terminal state."""

from __future__ import annotations

import baton
from baton.models import TERMINAL


async def test_enqueue_is_durable_before_it_returns(backend_url: str) -> None:
    app = baton.App(backend_url)

    @app.task
    async def noop(n: int) -> int:
        return n

    job = await noop.enqueue(7)
    await app.aclose()  # nothing buffered survives this: the job must already be stored

    fresh = baton.App(backend_url)
    fresh.registry.add(noop)
    got = await fresh.get_job(job.id)
    assert got.status == baton.Status.QUEUED
    assert got.pipeline == "noop"
    await fresh.aclose()


async def test_every_job_ends_in_a_terminal_state(app: baton.App, run_burst) -> None:
    @app.task(retry=baton.Retry(attempts=1))
    async def flaky(n: int) -> int:
        if n % 3 == 0:
            raise ValueError(f"bad {n}")
        return n

    ids = [(await flaky.enqueue(n)).id for n in range(60)]
    await run_burst(app, concurrency=8)
    statuses = [(await app.get_job(i)).status for i in ids]
    assert all(s in TERMINAL for s in statuses)
    assert statuses.count(baton.Status.FAILED) == 20
    assert statuses.count(baton.Status.SUCCEEDED) == 40
    events = await (await app.backend()).events(ids[0])
    assert events[0].type == "job.enqueued"
    assert events[-1].type == "job.failed"
