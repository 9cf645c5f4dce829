"""Guarantee 4: retries that think: backoff, classification of HTTP errors, fallback,
and long backoffs that give the worker slot back."""

from __future__ import annotations

import httpx

import baton
from tests.fakes import ScriptedServer

FAST = baton.Retry(attempts=4, base_delay=0.01, max_delay=0.05)


async def _get(url: str) -> str:
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
        resp.raise_for_status()
        return resp.text


async def test_429_and_5xx_are_retried_honouring_retry_after(app: baton.App, run_burst) -> None:
    script = [(429, {"Retry-After": "0.2"}, "slow down"), (503, {}, "busy"), (200, {}, "done")]
    with ScriptedServer(script) as srv:

        @app.task(retry=FAST)
        async def fetch(url: str) -> str:
            return await _get(url)

        job = await fetch.enqueue(srv.url)
        await run_burst(app)
        done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED, done.error
    assert done.result == "done"
    assert len(srv.requests) == 3
    assert done.steps[0].attempts == 3
    events = [e.type for e in await (await app.backend()).events(job.id)]
    assert events.count("step.retrying") == 2
    # The wait after the 429 honoured Retry-After (0.2 s) although the backoff was 0.01 s.
    retries = [e for e in await (await app.backend()).events(job.id) if e.type == "step.retrying"]
    assert retries[0].data["error"]["type"] == "HTTPStatusError"


async def test_400_is_not_retried(app: baton.App, run_burst) -> None:
    with ScriptedServer([(400, {}, "bad request")] * 5) as srv:

        @app.task(retry=FAST)
        async def fetch(url: str) -> str:
            return await _get(url)

        job = await fetch.enqueue(srv.url)
        await run_burst(app)
        done = await app.get_job(job.id)
    assert done.status == baton.Status.FAILED
    assert len(srv.requests) == 1
    assert done.error is not None and done.error["http_status"] == 400


async def test_retry_on_and_give_up_on(app: baton.App, run_burst) -> None:
    calls = {"a": 0, "b": 0}

    @app.task(retry=baton.Retry(attempts=3, base_delay=0.01, retry_on=(KeyError,)))
    async def only_keyerror() -> None:
        calls["a"] += 1
        raise ValueError("not retried: not a KeyError")

    @app.task(retry=baton.Retry(attempts=3, base_delay=0.01, give_up_on=(KeyError,)))
    async def never_keyerror() -> None:
        calls["b"] += 1
        raise KeyError("given up at once")

    a = await only_keyerror.enqueue()
    b = await never_keyerror.enqueue()
    await run_burst(app)
    assert calls == {"a": 1, "b": 1}
    assert (await app.get_job(a.id)).status == baton.Status.FAILED
    assert (await app.get_job(b.id)).status == baton.Status.FAILED


async def test_exhausted_retries_then_fallback(app: baton.App, run_burst) -> None:
    calls: list[str] = []

    @app.step
    async def cheap_model(prompt: str) -> str:
        calls.append("cheap")
        return f"cheap:{prompt}"

    @app.step(retry=baton.Retry(attempts=2, base_delay=0.01), fallback=[cheap_model])
    async def big_model(prompt: str) -> str:
        calls.append("big")
        raise TimeoutError("the big model is overloaded")

    @app.pipeline
    async def ask(ctx: baton.Context, prompt: str) -> str:
        return await ctx.run(big_model, prompt)

    job = await ask.enqueue("hi")
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED
    assert done.result == "cheap:hi"
    assert calls == ["big", "big", "cheap"]
    assert [(s.key, s.status) for s in done.steps] == [
        ("0:big_model", "failed"),
        ("0:cheap_model", "succeeded"),
    ]


async def test_long_backoff_reschedules_instead_of_holding_the_slot(app: baton.App) -> None:
    calls = {"n": 0}

    @app.task(retry=baton.Retry(attempts=2, base_delay=30.0, jitter=0.0, inline_max=1.0))
    async def slow_retry() -> None:
        calls["n"] += 1
        raise ConnectionError("down")

    job = await slow_retry.enqueue()
    w = baton.Worker(app, baton.WorkerConfig(concurrency=1))
    import asyncio

    from tests.helpers import until

    t = asyncio.create_task(w.run())
    await until(lambda: calls["n"] == 1, what="first attempt")
    got = await until(lambda: _queued(app, job.id), what="job rescheduled")
    assert got.run_at.timestamp() > got.created_at.timestamp() + 20
    assert not w._running  # the slot was given back
    w.stop()
    await t
    assert got.steps[0].status == "retrying" and got.steps[0].attempts == 1


async def _queued(app: baton.App, job_id: str) -> baton.Job | None:
    job = await app.get_job(job_id)
    return job if job.status == baton.Status.QUEUED and job.attempts == 1 else None
