"""W5, the seeds' pipeline: mailbox search, PDF download, parse, LLM, against fake servers.

    13 mailbox searches (~300 ms) -> 40 document ids -> 40 PDF downloads (0.5-1.5 s, each
    hashed as it lands) -> HEAVY_PARSES CPU-bound parses (PARSE_CPU_S of CPU each, the
    scanned documents) -> LLM_CALLS LLM calls (1-3 s, extraction on the relevant ones)

"before": the same calls one after another in one process (what the seeds' web handler
did). "after": a baton pipeline that fans each stage out with `ctx.map` over 2 worker
processes (the parses in baton's process executor). Every step records itself, so the
time the pipeline spends between its stages (scheduling, checkpoints, waking the parent)
is `after - the sum of the stages' own spans`, reported per step.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

import baton

from .common import record
from .fakeserver import DOCUMENTS, SEARCHES, fetch

HEAVY_PARSES = 4
PARSE_CPU_S = 0.3
LLM_CALLS = 6
STEP_COUNT = SEARCHES + DOCUMENTS + HEAVY_PARSES + LLM_CALLS


async def search(port: int, i: int) -> list[int]:
    return [int(d) for d in json.loads(await fetch(port, f"/search/{i}"))]


async def download(port: int, doc: int) -> str:
    return hashlib.sha256(await fetch(port, f"/pdf/{doc}")).hexdigest()


def _parse_heavy(doc: int) -> int:
    """CPU-bound: burns PARSE_CPU_S of this process's CPU (a scanned page's OCR, say)."""
    t = time.time()
    start = time.process_time()
    data = str(doc).encode() * 4096
    rounds = 0
    while time.process_time() - start < PARSE_CPU_S:
        data = hashlib.sha256(data).digest() * 1024
        rounds += 1
    record(f"w5.parse.{doc}", t, time.time())
    return rounds


_parse_heavy.__qualname__ = _parse_heavy.__name__ = "parse_heavy"
# The process executor finds a step by its function's module and name: this module-level
# Step is what its child processes resolve (the placeholder app never connects).
parse_heavy = baton.App("sqlite:///unused-bench-w5.db").step(executor="process", timeout=60)(
    _parse_heavy
)


async def llm(port: int, k: int) -> str:
    answer = json.loads(await fetch(port, f"/llm/{k}", "POST", b'{"prompt": "extract"}'))
    return str(answer["label"])


def heavy_docs(docs: list[int]) -> list[int]:
    return sorted(docs)[:: max(1, len(docs) // HEAVY_PARSES)][:HEAVY_PARSES]


async def before(port: int) -> float:
    """The sequential original, in this process; returns its wall time in seconds."""
    t0 = time.perf_counter()
    docs = [d for i in range(SEARCHES) for d in await search(port, i)]
    for d in docs:
        await download(port, d)
    for d in heavy_docs(docs):
        _parse_heavy(d)
    for k in range(LLM_CALLS):
        await llm(port, k)
    return time.perf_counter() - t0


def _timed(key: str, t: float) -> None:
    record(key, t, time.time())


def register(app: baton.App) -> dict[str, Any]:
    """Add W5's steps and pipeline to a benchmark app; returns {"w5": pipeline}."""

    @app.step(name="w5.search")
    async def search_step(item: list[int]) -> list[int]:
        t = time.time()
        out = await search(*item)
        _timed(f"w5.search.{item[1]}", t)
        return out

    @app.step(name="w5.download")
    async def download_step(item: list[int]) -> str:
        t = time.time()
        out = await download(*item)
        _timed(f"w5.pdf.{item[1]}", t)
        return out

    parse_step = app.step(executor="process", timeout=60, name="w5.parse")(_parse_heavy)

    @app.step(name="w5.llm")
    async def llm_step(item: list[int]) -> str:
        t = time.time()
        out = await llm(*item)
        _timed(f"w5.llm.{item[1]}", t)
        return out

    @app.pipeline(name="w5")
    async def w5(ctx: baton.Context, port: int) -> int:
        hits = await ctx.map(search_step, [[port, i] for i in range(SEARCHES)])
        docs = [d for found in hits for d in found]
        await ctx.map(download_step, [[port, d] for d in docs])
        await ctx.map(parse_step, heavy_docs(docs))
        labels = await ctx.map(llm_step, [[port, k] for k in range(LLM_CALLS)])
        t = time.time()
        record("w5.end", t, t)
        return len(labels)

    return {"w5": w5}


def step_keys() -> list[str]:
    docs = list(range(DOCUMENTS))
    return (
        [f"w5.search.{i}" for i in range(SEARCHES)]
        + [f"w5.pdf.{d}" for d in docs]
        + [f"w5.parse.{d}" for d in heavy_docs(docs)]
        + [f"w5.llm.{k}" for k in range(LLM_CALLS)]
    )


def stage_spans(runs: dict[str, list[tuple[float, float]]]) -> float:
    """The sum over stages of (last end - first start): the stages' own time."""
    total = 0.0
    for prefix in ("w5.search.", "w5.pdf.", "w5.parse.", "w5.llm."):
        spans = [s for k, v in runs.items() if k.startswith(prefix) for s in v]
        if spans:
            total += max(e for _, e in spans) - min(s for s, _ in spans)
    return total


def run_before() -> float:
    """The "before" once, in this process (its parse steps record into a scratch folder)."""
    import os
    import tempfile

    from .common import RECORDS_ENV
    from .fakeserver import FakeServers

    with tempfile.TemporaryDirectory(prefix="bench-w5-") as folder, FakeServers() as srv:
        old = os.environ.get(RECORDS_ENV)
        os.environ[RECORDS_ENV] = folder
        try:
            return asyncio.run(before(srv.port))
        finally:
            if old is None:
                os.environ.pop(RECORDS_ENV, None)
            else:
                os.environ[RECORDS_ENV] = old
