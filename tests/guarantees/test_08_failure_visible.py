"""Guarantee 8: failure is visible (error history) and recoverable (`retry` resumes from the
last saved step); bad input fails that job clearly and harms nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest

import baton


async def test_failed_job_has_its_error_history_and_retry_resumes(
    app: baton.App, run_burst
) -> None:
    calls: Counter[str] = Counter()
    broken = {"yes": True}

    @app.step
    async def fetch(x: int) -> int:
        calls["fetch"] += 1
        return x

    @app.step(retry=baton.Retry(attempts=2, base_delay=0.01))
    async def analyze(x: int) -> int:
        calls["analyze"] += 1
        if broken["yes"]:
            raise RuntimeError("model said no")
        return x * 2

    @app.pipeline
    async def pipe(ctx: baton.Context, x: int) -> int:
        return await ctx.run(analyze, await ctx.run(fetch, x))

    job = await pipe.enqueue(21)
    await run_burst(app)
    failed = await app.get_job(job.id)
    assert failed.status == baton.Status.FAILED
    assert failed.error is not None
    assert failed.error["type"] == "RuntimeError"
    assert failed.error["step"] == "1:analyze"
    assert failed.error["attempt"] == 2
    assert "model said no" in failed.error["traceback"]
    events = await (await app.backend()).events(job.id)
    assert [e.type for e in events].count("step.retrying") == 1

    broken["yes"] = False
    again = await app.retry(job.id)
    assert again.status == baton.Status.QUEUED
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED and done.result == 42
    assert calls == Counter({"fetch": 1, "analyze": 3})  # fetch was saved: not re-run


async def test_unencodable_arguments_fail_at_enqueue(app: baton.App) -> None:
    @app.task
    async def takes(x: object) -> None:
        return None

    with pytest.raises(baton.PayloadError, match="cannot be encoded as JSON"):
        await takes.enqueue(object())
    with pytest.raises(baton.PayloadError, match="bad arguments"):
        await takes.enqueue(1, 2, 3)
    # a datetime encodes fine
    await takes.enqueue(dt.datetime(2026, 1, 1))


async def test_replay_that_diverges_fails_naming_the_step(app: baton.App, run_burst) -> None:
    flip = {"first": True}
    gate = asyncio.Event()

    @app.step
    async def a() -> int:
        return 1

    @app.step
    async def b() -> int:
        return 2

    @app.step
    async def hold() -> None:
        gate.set()

    @app.pipeline
    async def pipe(ctx: baton.Context) -> int:
        first = flip["first"]
        x = await ctx.run(a if first else b)
        await ctx.sleep(0.01)
        return x

    job = await pipe.enqueue()
    w = baton.Worker(app, baton.WorkerConfig(burst=True, concurrency=1))
    t = asyncio.create_task(w.run())
    from tests.helpers import until

    await until(lambda: _saved(app, job.id), what="step a saved")
    flip["first"] = False  # the code changed under a running job
    await t
    done = await app.get_job(job.id)
    assert done.status == baton.Status.FAILED
    assert done.error is not None
    assert done.error["type"] == "NonDeterminismError"
    assert "'b'" in done.error["message"] and "'a'" in done.error["message"]


async def _saved(app: baton.App, job_id: str) -> bool:
    return any(s.status == "succeeded" for s in (await app.get_job(job_id)).steps)


async def test_unknown_pipeline_fails_that_job_and_the_worker_keeps_serving(
    backend_url: str, run_burst
) -> None:
    producer = baton.App(backend_url)

    @producer.task
    async def elsewhere() -> None:
        return None

    @producer.task
    async def known() -> str:
        return "ok"

    unknown_job = await elsewhere.enqueue()
    await producer.aclose()

    worker_app = baton.App(backend_url)

    @worker_app.task(name="known")
    async def known_here() -> str:
        return "ok"

    later = await known_here.enqueue()
    await run_burst(worker_app)
    bad = await worker_app.get_job(unknown_job.id)
    good = await worker_app.get_job(later.id)
    await worker_app.aclose()
    assert bad.status == baton.Status.FAILED
    assert bad.error is not None and bad.error["type"] == "UnknownPipeline"
    assert "elsewhere" in bad.error["message"]
    assert good.status == baton.Status.SUCCEEDED


async def test_input_that_does_not_match_the_type_hints_fails_the_job(
    app: baton.App, run_burst
) -> None:
    @app.task
    async def typed(n: int) -> int:
        return n

    backend = await app.backend()
    from baton.ids import uuid7
    from baton.models import NewJob

    (bad,) = await backend.enqueue([NewJob(uuid7(), "typed", "default", '{"n": "not a number"}')])
    good = await typed.enqueue(5)
    await run_burst(app)
    failed = await app.get_job(bad.id)
    assert failed.status == baton.Status.FAILED
    assert failed.error is not None and failed.error["type"] == "InvalidInput"
    assert "n" in failed.error["message"]
    assert (await app.get_job(good.id)).result == 5


async def test_a_result_that_cannot_be_stored_fails_that_job_only(
    app: baton.App, run_burst
) -> None:
    @app.task
    async def returns_junk() -> object:
        return object()

    @app.task
    async def fine() -> int:
        return 1

    bad = await returns_junk.enqueue()
    good = await fine.enqueue()
    await run_burst(app)
    failed = await app.get_job(bad.id)
    assert failed.status == baton.Status.FAILED
    assert failed.error is not None and failed.error["type"] == "PayloadError"
    assert failed.attempts == 1  # not retried, not left for a lease to lapse
    assert (await app.get_job(good.id)).result == 1
