"""An app for the SIGKILL tests. Every step appends a line to $SIDE_EFFECTS (outside
baton's database) so the tests can count what really ran, in which process."""

from __future__ import annotations

import asyncio
import os
import signal

import baton

app = baton.App()  # $BATON_URL


def effect(job: str, step: str, what: str) -> None:
    with open(os.environ["SIDE_EFFECTS"], "a") as fh:
        fh.write(f"{job} {step} {what} {os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())


@app.step
async def fetch(n: int) -> int:
    effect(baton.current_step().job_id, "fetch", "done")
    return n


@app.step
async def analyze(n: int) -> int:
    job = baton.current_step().job_id
    effect(job, "analyze", "start")
    await asyncio.sleep(float(os.environ.get("ANALYZE_SECONDS", "0.5")))
    effect(job, "analyze", "done")
    return n * 2


@app.step
async def save(n: int) -> int:
    effect(baton.current_step().job_id, "save", "done")
    return n + 1


@app.pipeline
async def document(ctx: baton.Context, n: int) -> int:
    x = await ctx.run(fetch, n)
    y = await ctx.run(analyze, x)
    return await ctx.run(save, y)


@app.step(retry=baton.Retry(attempts=10))
def poison() -> None:
    effect(baton.current_step().job_id, "poison", "start")
    os.kill(os.getpid(), signal.SIGKILL)  # takes the whole worker down, like an OOM


@app.pipeline(max_crashes=3)
async def killer(ctx: baton.Context) -> None:
    await ctx.run(poison)
