"""Guarantee 2: exactly-once checkpoints, at-least-once steps, stable step idempotency keys."""

from __future__ import annotations

import asyncio
from collections import Counter

import baton
from tests.helpers import crash, start_worker, until


async def test_saved_steps_never_rerun_after_a_crash(app: baton.App) -> None:
    calls: Counter[str] = Counter()
    gate = asyncio.Event()
    keys: dict[str, set[str]] = {}

    @app.step
    async def one(x: int) -> int:
        calls["one"] += 1
        return x + 1

    @app.step
    async def two(x: int) -> int:
        calls["two"] += 1
        keys.setdefault("two", set()).add(baton.current_step().idempotency_key)
        if calls["two"] == 1:
            await gate.wait()  # the first worker dies here, mid-step
        return x * 10

    @app.pipeline
    async def pipe(ctx: baton.Context, x: int) -> int:
        a = await ctx.run(one, x)
        return await ctx.run(two, a)

    job = await pipe.enqueue(1)
    w1, t1 = start_worker(app, lease=0.3, heartbeat=0.1)
    await until(lambda: calls["two"] == 1, what="step two to start")
    await crash(w1, t1)

    _, t2 = start_worker(app, lease=5, burst=True)
    await t2
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED
    assert done.result == 20
    assert calls == Counter({"one": 1, "two": 2})  # one was saved: never recomputed
    assert len(keys["two"]) == 1  # same idempotency key on both runs of step two
    assert done.attempts == 2


async def test_idempotency_key_is_stable_across_retries(app: baton.App, run_burst) -> None:
    seen: list[tuple[str, int]] = []

    @app.step(retry=baton.Retry(attempts=3, base_delay=0.01))
    async def flaky() -> str:
        info = baton.current_step()
        seen.append((info.idempotency_key, info.attempt))
        if info.attempt < 3:
            raise ConnectionError("try again")
        return info.idempotency_key

    @app.pipeline
    async def pipe(ctx: baton.Context) -> str:
        return await ctx.run(flaky)

    job = await pipe.enqueue()
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED
    assert [a for _, a in seen] == [1, 2, 3]
    assert len({k for k, _ in seen}) == 1
    assert done.result == f"{job.id}:0:flaky"
