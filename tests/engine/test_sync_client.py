"""The sync door: `enqueue_sync` and `run_sync` for code without an event loop."""

from __future__ import annotations

import asyncio
import threading

import baton


def test_enqueue_sync_from_plain_threads(backend_url: str) -> None:
    app = baton.App(backend_url)

    @app.task
    async def add(a: int, b: int) -> int:
        return a + b

    ids: list[str] = []

    def client(n: int) -> None:  # e.g. a sync Flask view or a sync FastAPI endpoint
        ids.append(add.enqueue_sync(n, 1, idempotency_key=f"k{n}").id)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 8
    assert add.enqueue_sync(3, 1, idempotency_key="k3").id in ids  # idempotent here too

    app.run_sync(baton.run_worker(app, baton.WorkerConfig(burst=True)))
    results = sorted(app.run_sync(app.get_job(i)).result for i in ids)
    assert results == [n + 1 for n in range(8)]
    app.run_sync(app.aclose())  # closing from its own loop thread must not deadlock


def test_enqueue_sync_works_from_a_thread_of_async_code(backend_url: str) -> None:
    app = baton.App(backend_url)

    @app.task
    async def noop() -> None:
        return None

    async def inside() -> str:
        # from async code, use `await noop.enqueue()`; enqueue_sync still works (own loop)
        return await asyncio.to_thread(lambda: noop.enqueue_sync().id)

    job_id = asyncio.run(inside())
    assert app.run_sync(app.get_job(job_id)).status == baton.Status.QUEUED
    app.run_sync(app.aclose())
