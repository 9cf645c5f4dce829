"""The app the HTTP tests drive: pipelines with typed inputs, one that waits for a signal,
one that fails, so every endpoint has something real to show."""

from __future__ import annotations

import asyncio
import os

from pydantic import BaseModel, Field

import baton


class Options(BaseModel):
    language: str = "en"
    max_pages: int = Field(10, ge=1)


class Report(BaseModel):
    doc_id: str
    pages: int
    language: str


GATES: dict[str, asyncio.Event] = {}  # in-process pipelines wait on these


def make_app(url: str, **app_options: object) -> baton.App:
    app = baton.App(url, **app_options)  # type: ignore[arg-type]

    @app.step
    async def count_pages(doc_id: str, max_pages: int) -> int:
        return min(len(doc_id), max_pages)

    @app.step
    async def wait_gate(name: str) -> str:
        gate = GATES.setdefault(name, asyncio.Event())
        await gate.wait()
        return name

    @app.step(retry=baton.Retry(attempts=1))
    async def explode(reason: str) -> None:
        raise ValueError(reason)

    @app.pipeline(queue="docs")
    async def analyze(ctx: baton.Context, doc_id: str, options: Options | None = None) -> Report:
        """Count a document's pages: the pipeline the tests enqueue most."""
        opts = options or Options()
        pages = await ctx.run(count_pages, doc_id, opts.max_pages)
        await ctx.progress(0.5, "counted")
        return Report(doc_id=doc_id, pages=pages, language=opts.language)

    @app.pipeline(queue="docs")
    async def gated(ctx: baton.Context, gate: str, steps: int = 1) -> int:
        for n in range(steps):
            await ctx.progress(n / steps, f"step {n}")
            await ctx.run(wait_gate, f"{gate}:{n}")
        return steps

    @app.pipeline(queue="docs")
    async def doomed(ctx: baton.Context, reason: str = "bad input") -> None:
        await ctx.run(explode, reason)

    @app.task(queue="docs")
    def touch(path: str) -> str:
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
        return path

    return app


def open_gate(name: str) -> None:
    GATES.setdefault(name, asyncio.Event()).set()


# for `baton serve tests.api.sample:app` in subprocess tests
app = make_app(os.environ.get("BATON_URL", "sqlite:///baton.db"))
