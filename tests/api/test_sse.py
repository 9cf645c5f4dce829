"""GET /jobs/{id}/events against a real uvicorn server on loopback: live events in order
with nothing missed, resume with Last-Event-ID, the end after the terminal event, keep-alive
comments, clients that go away, and many watchers sharing one reader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

import baton
from baton.http import RouterConfig, api_key_auth, create_app
from baton.http.sse import EventHub
from tests.api.conftest import ACME, GLOBEX, KEYS
from tests.api.live import SSE, read_sse, serving
from tests.api.sample import open_gate
from tests.helpers import start_worker, until


@pytest.fixture
async def live(app: baton.App) -> AsyncIterator[tuple[str, object]]:
    """(base URL, event hub) of a served API with a worker running beside it."""
    api = create_app(app, auth=api_key_auth(KEYS), config=RouterConfig(keepalive=0.3))
    hub = api.state.baton["hub"]
    worker, task = start_worker(app, queues=("docs",))
    try:
        async with serving(api) as url:
            yield url, hub
    finally:
        worker.stop()
        await task


async def enqueue(client: httpx.AsyncClient, pipeline: str, **inputs: object) -> str:
    r = await client.post(f"/jobs/{pipeline}", json={"input": inputs}, headers=ACME)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def collect(
    client: httpx.AsyncClient,
    job_id: str,
    headers: dict[str, str] | None = None,
    stop_after: int | None = None,
    on_event: object = None,
) -> list[SSE]:
    got: list[SSE] = []
    async with client.stream(
        "GET", f"/jobs/{job_id}/events", headers={**ACME, **(headers or {})}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for message in read_sse(r):
            if message.event is None:
                continue  # comments
            got.append(message)
            if callable(on_event):
                on_event(message)
            if stop_after is not None and len(got) >= stop_after:
                break
    return got


def numbers(events: list[SSE]) -> list[int]:
    return [int(e.id) for e in events if e.id is not None]


async def test_a_live_stream_has_every_event_in_order_and_ends_with_the_job(
    live: tuple[str, object],
) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "gated", gate="live", steps=3)

        started: list[SSE] = []

        def advance(message: SSE) -> None:
            """Each step waits for a gate opened only once the stream has shown that step
            starting: the job can only end if the stream is live."""
            if message.event == "step.started":
                open_gate(f"live:{len(started)}")
                started.append(message)

        events = await collect(client, job_id, on_event=advance)
    seqs = numbers(events)
    assert seqs == list(range(1, len(seqs) + 1))  # nothing missed, nothing twice
    types = [e.event for e in events]
    assert types[0] == "job.enqueued"
    assert types[-1] == "job.succeeded"
    assert types.count("job.progress") == 3
    for e in events:
        assert e.data["type"] == e.event
        assert e.data["job_id"] == job_id
        assert e.data["at"]
        assert e.data["id"] == int(e.id)  # type: ignore[arg-type]


async def test_resume_with_last_event_id(live: tuple[str, object]) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "gated", gate="resume", steps=2)
        first = await collect(client, job_id, stop_after=2)  # then the client disconnects
        assert numbers(first) == [1, 2]
        open_gate("resume:0")
        open_gate("resume:1")
        rest = await collect(client, job_id, headers={"Last-Event-ID": first[-1].id or ""})
        assert numbers(rest)[0] == 3
        assert numbers(first) + numbers(rest) == list(range(1, numbers(rest)[-1] + 1))
        assert rest[-1].event == "job.succeeded"
        again = await collect(client, job_id, headers={"Last-Event-ID": "4"})
        assert numbers(again)[0] == 5  # history after 4, then the stream ends


async def test_an_ended_job_streams_its_history_and_ends(live: tuple[str, object]) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "analyze", doc_id="abc")
        await until(lambda: _ended(client, job_id), what="the job to end")
        events = await collect(client, job_id)
        assert events[-1].event == "job.succeeded"
        tail = await collect(client, job_id, headers={"Last-Event-ID": events[-1].id or ""})
        assert tail == []  # nothing after the end, and the stream closes


async def _ended(client: httpx.AsyncClient, job_id: str) -> bool:
    return (await client.get(f"/jobs/{job_id}", headers=ACME)).json()["status"] == "succeeded"


async def test_a_retried_job_streams_on_past_its_first_ending(
    live: tuple[str, object], app: baton.App
) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "doomed")
        await until(lambda: _status(app, job_id, "failed"), what="the first failure")
        r = await client.post(f"/jobs/{job_id}/retry", headers=ACME)
        assert r.status_code == 200
        events = await collect(client, job_id)
    types = [e.event for e in events]
    assert types.count("job.failed") == 2  # the stream did not stop at the first
    assert types[-1] == "job.failed"


async def _status(app: baton.App, job_id: str, status: str) -> bool:
    return (await app.get_job(job_id)).status.value == status


async def test_keep_alive_comments_while_nothing_happens(live: tuple[str, object]) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "gated", gate="idle", steps=1)
        comments: list[str] = []
        async with client.stream("GET", f"/jobs/{job_id}/events", headers=ACME) as r:
            async for message in read_sse(r):
                comments += message.comments
                if comments.count("keep-alive") >= 2:
                    break
        open_gate("idle:0")
    assert comments.count("keep-alive") >= 2


async def test_a_client_that_disconnects_mid_stream_is_forgotten(
    app: baton.App,
) -> None:
    api = create_app(app, auth=api_key_auth(KEYS))
    hub = _hub_of(api)
    async with serving(api) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "gated", gate="gone", steps=1)
        async with client.stream("GET", f"/jobs/{job_id}/events", headers=ACME) as r:
            async for _ in read_sse(r):
                if hub.watchers == 1:
                    break
        await until(lambda: hub.watchers == 0, what="the hub to drop the watcher")
        assert hub.channels == {}
        open_gate("gone:0")


async def test_many_watchers_share_one_reader(app: baton.App) -> None:
    api = create_app(app, auth=api_key_auth(KEYS))
    hub = _hub_of(api)
    worker, task = start_worker(app, queues=("docs",))
    try:
        async with serving(api) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
            job_id = await enqueue(client, "gated", gate="many", steps=2)
            watchers = [asyncio.create_task(collect(client, job_id)) for _ in range(25)]
            await until(lambda: hub.watchers == 25, what="25 watchers")
            assert list(hub.channels) == [job_id]  # one channel: one reader for all 25
            polls_before = hub.polls
            open_gate("many:0")
            open_gate("many:1")
            results = await asyncio.gather(*watchers)
            polls = hub.polls - polls_before
    finally:
        worker.stop()
        await task
    expected = numbers(results[0])
    assert expected[-1] >= 6
    assert all(numbers(r) == expected for r in results)
    # one read per tick for the job, not one per watcher per tick
    assert polls < 25 * len(expected)


async def test_events_of_another_tenant_are_404_before_streaming(
    live: tuple[str, object],
) -> None:
    url, _ = live
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        job_id = await enqueue(client, "analyze", doc_id="x")
        r = await client.get(f"/jobs/{job_id}/events", headers=GLOBEX)
        assert (r.status_code, r.json()["code"]) == (404, "job_not_found")
        assert r.headers["content-type"].startswith("application/json")


def _hub_of(api: FastAPI) -> EventHub:
    hub: EventHub = api.state.baton["hub"]
    return hub
