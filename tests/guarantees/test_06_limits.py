"""Guarantee 6: concurrency and rate limits across all workers; priorities and delays."""

from __future__ import annotations

import asyncio
import time

import httpx

import baton
from tests.fakes import ScriptedServer
from tests.helpers import start_worker, until


class Gauge:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.by_key: dict[str, int] = {}
        self.peak_by_key: dict[str, int] = {}

    def enter(self, key: str = "") -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        self.by_key[key] = self.by_key.get(key, 0) + 1
        self.peak_by_key[key] = max(self.peak_by_key.get(key, 0), self.by_key[key])

    def leave(self, key: str = "") -> None:
        self.now -= 1
        self.by_key[key] -= 1


async def _drain_with_two_workers(app: baton.App, **config: object) -> None:
    _, t1 = start_worker(app, burst=True, **config)
    _, t2 = start_worker(app, burst=True, **config)
    await asyncio.gather(t1, t2)


async def test_concurrency_is_bounded_across_workers(app: baton.App) -> None:
    gauge = Gauge()

    @app.task(concurrency=3)
    async def limited(n: int) -> int:
        gauge.enter()
        await asyncio.sleep(0.02)
        gauge.leave()
        return n

    for n in range(30):
        await limited.enqueue(n)
    await _drain_with_two_workers(app, concurrency=10)
    assert gauge.peak == 3  # two workers with 10 slots each, yet never more than 3 at once
    jobs = await app.list_jobs(status="succeeded", limit=100)
    assert len(jobs) == 30


async def test_concurrency_per_key(app: baton.App) -> None:
    gauge = Gauge()

    @app.task(concurrency=1, concurrency_key="tenant")
    async def per_tenant(tenant: str, n: int) -> None:
        gauge.enter(tenant)
        await asyncio.sleep(0.02)
        gauge.leave(tenant)

    for n in range(8):
        await per_tenant.enqueue("acme", n)
        await per_tenant.enqueue("globex", n)
    await _drain_with_two_workers(app, concurrency=8)
    assert gauge.peak_by_key == {"acme": 1, "globex": 1}
    assert gauge.peak == 2  # keys are independent


async def test_rate_limit_is_shared_by_the_fleet(app: baton.App) -> None:
    starts: list[float] = []

    @app.task(rate_limit="5/s")
    async def limited() -> None:
        starts.append(time.monotonic())

    for _ in range(10):
        await limited.enqueue()
    await _drain_with_two_workers(app, concurrency=10)
    assert len(starts) == 10
    starts.sort()
    # A bucket of 5 per second: the 10 starts cannot all fit in one second.
    assert starts[-1] - starts[0] >= 0.8


async def test_429_pauses_the_bucket_for_everyone(app: baton.App) -> None:
    starts: dict[str, list[float]] = {"a": [], "b": []}

    @app.task(rate_limit="100/s", retry=baton.Retry(attempts=3, base_delay=0.01))
    async def call(name: str, url: str) -> None:
        starts[name].append(time.monotonic())
        async with httpx.AsyncClient() as client:
            (await client.get(url)).raise_for_status()

    with ScriptedServer([(429, {"Retry-After": "1"}, "slow down")]) as srv:
        a = await call.enqueue("a", srv.url)
        w, t = start_worker(app, concurrency=5)
        await until(lambda: len(srv.requests) == 1, what="the 429")
        b = await call.enqueue("b", srv.url)  # another job: it must wait out the pause too
        await until(lambda: _both_done(app, a.id, b.id), what="both jobs")
        w.stop()
        await t
    assert starts["b"][0] - starts["a"][0] >= 0.9
    assert len(starts["a"]) == 2 and len(starts["b"]) == 1


async def _both_done(app: baton.App, *ids: str) -> bool:
    jobs = [await app.get_job(i) for i in ids]
    return all(j.status == baton.Status.SUCCEEDED for j in jobs)


async def test_priorities_and_delays(app: baton.App, run_burst) -> None:
    order: list[str] = []

    @app.task
    async def record(name: str) -> None:
        order.append(name)

    await record.enqueue("low", priority=0)
    await record.enqueue("high", priority=10)
    await record.enqueue("later", priority=100, delay=0.3)
    await record.enqueue("mid", priority=5)
    await run_burst(app, concurrency=1)
    assert order == ["high", "mid", "low", "later"]
