"""The app `bench.http_api` serves: a no-op task (enqueue latency) and a ticker pipeline
that reports progress on a schedule (events for many watchers)."""

from __future__ import annotations

import asyncio
import os

import baton

app = baton.App(os.environ.get("BATON_URL", "sqlite:///bench-http.db"))


@app.task
async def noop(n: int) -> int:
    return n


@app.pipeline(queue="ticks")
async def ticker(ctx: baton.Context, ticks: int, every: float) -> int:
    for n in range(ticks):
        await ctx.progress(n / ticks, f"tick {n}")
        await asyncio.sleep(every)  # not a step: a pacing delay, fine to redo on replay
    return ticks
