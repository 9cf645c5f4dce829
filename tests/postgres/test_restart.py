"""The database goes away mid-run (a private server stopped with `pg_ctl -m immediate`, as a
crash would) and comes back: nothing committed is lost, every job still ends succeeded,
workers reconnect by themselves, and while it is down callers get BackendUnavailable (the
API's 503), never a job id for a job that was not stored."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

import baton
from baton.errors import BackendUnavailable
from baton.http import create_app
from baton.models import JobFilter
from tests.helpers import until
from tests.pgserver import PrivateServer

JOBS_BEFORE, JOBS_AFTER = 120, 30


@pytest.fixture
def server() -> Iterator[PrivateServer]:
    srv = PrivateServer()
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


async def test_workers_survive_a_database_restart(server: PrivateServer) -> None:
    url = server.url + "?pool_size=4&pool_timeout=1"
    app = baton.App(url)
    runs: Counter[int] = Counter()

    @app.task
    async def work(n: int) -> int:
        runs[n] += 1
        await asyncio.sleep(0.01)
        return n

    ids = [(await work.enqueue(n)).id for n in range(JOBS_BEFORE)]
    config = baton.WorkerConfig(concurrency=4, lease=2.0, poll=0.2, check_interval=0.2)
    workers = [baton.Worker(app, config) for _ in range(2)]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    backend = await app.backend()

    async def done() -> int:
        return len(await backend.list_jobs(JobFilter(status=baton.Status.SUCCEEDED, limit=1000)))

    await until(lambda: _at_least(done, JOBS_BEFORE // 4), timeout=60, what="a quarter done")
    await asyncio.to_thread(server.crash)
    with pytest.raises(BackendUnavailable):
        await work.enqueue(-1)  # no id for a job that was not stored
    with pytest.raises(BackendUnavailable):
        await app.get_job(ids[0])
    await _api_answers_503(app, ids[0])
    assert all(not t.done() for t in tasks), "a worker died with the database"
    await asyncio.sleep(0.5)  # workers keep retrying against the dead server
    await asyncio.to_thread(server.start)

    for n in range(JOBS_BEFORE, JOBS_BEFORE + JOBS_AFTER):  # as a client retries on 503
        ids.append(await until(lambda n=n: _enqueued(work, n), timeout=30, what="enqueue"))
    total = JOBS_BEFORE + JOBS_AFTER
    started = time.monotonic()
    await until(lambda: _at_least(done, total), timeout=90, what="every job to succeed")
    for w in workers:
        w.stop()
    await asyncio.gather(*tasks)

    jobs = [await app.get_job(i) for i in ids]
    assert [j.status for j in jobs] == [baton.Status.SUCCEEDED] * total
    assert sorted(j.result for j in jobs) == list(range(total))
    assert set(runs) == set(range(total))  # ran at least once each; -1 was never stored
    assert time.monotonic() - started < 90
    await app.aclose()


async def _api_answers_503(app: baton.App, job_id: str) -> None:
    """While the database is down the API says 503 with Retry-After, never 500 or 202."""
    transport = httpx.ASGITransport(create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as client:
        for method, path, body in [
            ("POST", "/jobs/work", {"input": {"n": -1}}),
            ("GET", f"/jobs/{job_id}", None),
            ("GET", "/healthz", None),
        ]:
            response = await client.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers.get("retry-after"), path


async def _enqueued(task: baton.Task[[int], int], n: int) -> str | None:
    try:
        return (await task.enqueue(n)).id
    except BackendUnavailable:
        return None


async def _at_least(count: object, n: int) -> bool:
    try:
        return bool(await count() >= n)  # type: ignore[operator]
    except BackendUnavailable:
        return False
