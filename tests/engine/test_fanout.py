"""Fan-out: `ctx.map` makes one child job per item; the parent frees its slot while it waits."""

from __future__ import annotations

import asyncio

import pytest

import baton


async def test_map_over_1000_items_returns_every_result_in_order(app: baton.App, run_burst) -> None:
    @app.step
    async def square(x: int) -> int:
        await asyncio.sleep(0)
        return x * x

    @app.pipeline
    async def fan(ctx: baton.Context, n: int) -> list[int]:
        return await ctx.map(square, range(n))

    job = await fan.enqueue(1000)
    await run_burst(app, concurrency=50)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED, done.error
    assert done.result == [x * x for x in range(1000)]
    kids = await (await app.backend()).children(job.id, "0:map:square")
    assert len(kids) == 1000 and all(k.status == baton.Status.SUCCEEDED for k in kids)


async def test_parent_holds_no_worker_slot_while_waiting(app: baton.App, run_burst) -> None:
    """With ONE slot, the children can only run if the waiting parent gave its slot back."""

    @app.step
    async def inc(x: int) -> int:
        return x + 1

    @app.pipeline
    async def fan(ctx: baton.Context) -> list[int]:
        return await ctx.map(inc, range(20))

    job = await fan.enqueue()
    await asyncio.wait_for(run_burst(app, concurrency=1), timeout=60)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED
    assert done.result == list(range(1, 21))
    types = [e.type for e in await (await app.backend()).events(job.id)]
    assert "job.waiting" in types


async def test_failed_child_fails_the_map_after_all_end(app: baton.App, run_burst) -> None:
    ran: list[int] = []

    @app.step(retry=baton.Retry(attempts=1))
    async def check(x: int) -> int:
        ran.append(x)
        if x == 3:
            raise ValueError("three is bad")
        return x

    @app.pipeline
    async def fan(ctx: baton.Context) -> list[int]:
        return await ctx.map(check, range(6))

    job = await fan.enqueue()
    await run_burst(app, concurrency=4)
    done = await app.get_job(job.id)
    assert sorted(ran) == list(range(6))
    assert done.status == baton.Status.FAILED
    assert done.error is not None and "three is bad" in done.error["message"]
    assert done.error["step"] == "0:map:check"


async def test_child_pipeline_with_ctx_run(app: baton.App, run_burst) -> None:
    @app.step
    async def add(a: int, b: int) -> int:
        return a + b

    @app.pipeline
    async def child(ctx: baton.Context, a: int) -> int:
        return await ctx.run(add, a, 1)

    @app.pipeline
    async def parent(ctx: baton.Context) -> int:
        x = await ctx.run(child, 10)
        return await ctx.run(add, x, 100)

    job = await parent.enqueue()
    await run_burst(app, concurrency=1)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == 111
    (kid,) = await app.list_jobs(pipeline="child")
    assert kid.parent_id == job.id


@pytest.mark.parametrize("seconds", [0.2])
async def test_durable_sleep_parks_the_job_not_the_worker(app: baton.App, seconds: float) -> None:
    @app.task
    async def other() -> str:
        return "ran while the sleeper slept"

    @app.pipeline
    async def sleeper(ctx: baton.Context) -> str:
        await ctx.sleep(seconds)
        return "awake"

    s = await sleeper.enqueue()
    o = await other.enqueue(delay=0.05)
    await baton.run_worker(app, baton.WorkerConfig(burst=True, concurrency=1))
    sj, oj = await app.get_job(s.id), await app.get_job(o.id)
    assert sj.result == "awake" and oj.status == baton.Status.SUCCEEDED
    assert oj.finished_at is not None and sj.finished_at is not None
    assert oj.finished_at < sj.finished_at  # one slot, yet the other job ran meanwhile
    assert (sj.finished_at - sj.created_at).total_seconds() >= seconds


async def test_map_over_nothing_returns_an_empty_list(app: baton.App, run_burst) -> None:
    @app.step
    async def never(x: int) -> int:
        raise AssertionError("no item, no call")

    @app.pipeline
    async def fan(ctx: baton.Context) -> list[int]:
        return await ctx.map(never, [])

    job = await fan.enqueue()
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == []
