"""Guarantee 10: a worker dying mid-step is counted apart from the step raising; after
`max_crashes` lost leases on the same step the job fails "worker lost".
(The same with real SIGKILLed processes: tests/acceptance/test_sigkill.py.)"""

from __future__ import annotations

import asyncio

import baton
from tests.helpers import crash, start_worker


async def test_poison_step_ends_failed_after_max_crashes(app: baton.App) -> None:
    entered = {"n": 0}
    inside = asyncio.Event()

    @app.step(retry=baton.Retry(attempts=10))  # a big retry budget: crashes are not retries
    async def poison() -> None:
        entered["n"] += 1
        inside.set()
        await asyncio.sleep(60)

    @app.pipeline(max_crashes=3)
    async def pipe(ctx: baton.Context) -> None:
        await ctx.run(poison)

    job = await pipe.enqueue()
    for n in range(1, 4):
        inside.clear()
        w, t = start_worker(app, lease=0.2, heartbeat=0.05)
        await inside.wait()
        assert entered["n"] == n
        await crash(w, t)
    _, t = start_worker(app, lease=0.2, burst=True)
    await t
    done = await app.get_job(job.id)
    assert entered["n"] == 3
    assert done.status == baton.Status.FAILED
    assert done.error is not None and done.error["type"] == "WorkerLost"
    assert "0:poison" in done.error["message"] and "3 times" in done.error["message"]


async def test_crashes_on_different_steps_do_not_add_up(app: baton.App) -> None:
    reached: list[str] = []
    crash_at = {"a": 2, "b": 2}  # crash twice in a, then twice in b: never 3 on one step
    inside = asyncio.Event()

    def make(name: str):  # type: ignore[no-untyped-def]
        async def body() -> str:
            reached.append(name)
            if crash_at[name] > 0:
                crash_at[name] -= 1
                inside.set()
                await asyncio.sleep(60)
            return name

        return body

    a = app.step(name="a")(make("a"))
    b = app.step(name="b")(make("b"))

    @app.pipeline(max_crashes=3)
    async def pipe(ctx: baton.Context) -> list[str]:
        return [await ctx.run(a), await ctx.run(b)]

    job = await pipe.enqueue()
    for _ in range(4):
        inside.clear()
        w, t = start_worker(app, lease=0.2, heartbeat=0.05)
        await inside.wait()
        await crash(w, t)
    _, t = start_worker(app, lease=0.2, burst=True)
    await t
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED, done.error
    assert done.result == ["a", "b"]
    assert reached == ["a", "a", "a", "b", "b", "b"]
