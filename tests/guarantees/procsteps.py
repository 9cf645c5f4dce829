"""Steps for the process executor, importable by its child processes.

The app's URL is set by each test before first use (nothing connects at import)."""

from __future__ import annotations

import os
import time

import baton

app = baton.App("sqlite:///unused-placeholder.db")


@app.step(executor="process", timeout=0.5, retry=baton.Retry(attempts=1))
def spin(seconds: float) -> int:
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:  # CPU-bound: only killing the process stops it
        n += 1
    return n


@app.step(executor="process", timeout=10)
def square(x: int) -> dict[str, int]:
    info = baton.current_step()
    return {"value": x * x, "pid": os.getpid(), "attempt": info.attempt}


@app.step(executor="process", timeout=10, retry=baton.Retry(attempts=1))
def die() -> None:
    os.kill(os.getpid(), 9)


@app.pipeline
async def cpu(ctx: baton.Context, seconds: float) -> int:
    return await ctx.run(spin, seconds)


@app.pipeline
async def squares(ctx: baton.Context, n: int) -> list[int]:
    out = [await ctx.run(square, i) for i in range(n)]
    assert len({o["pid"] for o in out}) >= 1
    assert all(o["pid"] != os.getpid() for o in out)
    return [o["value"] for o in out]


@app.pipeline
async def dies(ctx: baton.Context) -> None:
    await ctx.run(die)
