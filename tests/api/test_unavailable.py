"""The store goes away: the API answers 503 with Retry-After (never a 500, never a 202 for
a job that was not stored), and a worker started while it is down waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import baton
from baton.http import api_key_auth, create_app
from tests.api.conftest import ACME, KEYS
from tests.api.sample import make_app
from tests.helpers import start_worker, until
from tests.redis_store import PrivateRedis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    private = PrivateRedis(str(tmp_path))
    private.start()
    try:
        yield private
    finally:
        private.kill()


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "backend_unavailable"
    assert int(r.headers["Retry-After"]) > 0


async def test_503_while_the_store_is_down_then_work_resumes(server: PrivateRedis) -> None:
    app = make_app(server.url)
    transport = httpx.ASGITransport(create_app(app, auth=api_key_auth(KEYS)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/jobs/analyze", json={"input": {"doc_id": "before"}}, headers=ACME)
        assert r.status_code == 202
        stored = r.json()["id"]
        server.kill()
        assert_unavailable(
            await client.post("/jobs/analyze", json={"input": {"doc_id": "lost"}}, headers=ACME)
        )
        for path in (f"/jobs/{stored}", "/jobs", "/queues", "/metrics", "/healthz"):
            assert_unavailable(await client.get(path, headers=ACME))
        worker, task = start_worker(app, queues=("docs",))
        try:
            server.start()  # AOF: what was acknowledged is back
            await until(
                lambda: _status(client, stored, "succeeded"), timeout=60, what="the job to run"
            )
        finally:
            worker.stop()
            await task
        listed = (await client.get("/jobs", headers=ACME)).json()["jobs"]
        assert [j["id"] for j in listed] == [stored]  # the 503'd request stored nothing
    await app.aclose()


async def _status(client: httpx.AsyncClient, job_id: str, status: str) -> bool:
    r = await client.get(f"/jobs/{job_id}", headers=ACME)
    return r.status_code == 200 and r.json()["status"] == status


async def test_a_store_that_is_down_at_worker_start_is_waited_for(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    private = PrivateRedis(str(tmp_path))  # not started yet
    app = make_app(private.url)
    worker, task = start_worker(app, queues=("docs",))
    try:
        await until(
            lambda: task.done() or caplog.text.count("store unavailable at start") >= 2,
            what="the worker to fail to connect twice",
        )
        assert not task.done(), task.exception()  # it waits instead of dying
        private.start()
        job = await app.enqueue("analyze", ("abc",))
        done = await app.wait(job.id, timeout=60)
        assert done.status == baton.Status.SUCCEEDED
    finally:
        worker.stop()
        await task
        private.kill()
        await app.aclose()
