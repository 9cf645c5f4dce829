"""A small app for the CLI tests, importable as `tests.cli.sample_app:app` by a worker
subprocess. Its database is $BATON_URL; tests build their own copy with `make_app(url)`."""

from __future__ import annotations

import asyncio
import os

import pydantic

import baton


class Report(pydantic.BaseModel):
    n: int
    doubled: int


def make_app(url: str | None) -> baton.App:
    app = baton.App(url)

    @app.task
    def record(path: str, n: int) -> int:
        """A side effect outside baton's database: one line per run."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{n} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return n

    @app.task
    async def nap(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "rested"

    @app.task(retry=baton.Retry(attempts=1))
    def boom(message: str) -> None:
        raise ValueError(message)

    @app.step
    async def double(n: int) -> int:
        return n * 2

    @app.pipeline
    async def report(ctx: baton.Context, n: int) -> Report:
        doubled = await ctx.run(double, n)
        await ctx.progress(0.5, "doubled")
        return Report(n=n, doubled=doubled)

    return app


app = make_app(os.environ.get("BATON_URL"))
not_an_app = "a string"
bad_url_app = baton.App("mysql://scott:tiger@db.example/baton")
