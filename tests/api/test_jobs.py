"""Reading, listing, cancelling and retrying jobs over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import httpx

import baton
from tests.api.conftest import ACME
from tests.api.sample import open_gate
from tests.helpers import start_worker, until


async def enqueue(client: httpx.AsyncClient, pipeline: str, **inputs: object) -> str:
    r = await client.post(f"/jobs/{pipeline}", json={"input": inputs}, headers=ACME)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


async def test_get_a_failed_job_shows_its_error_without_traceback(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    job_id = await enqueue(client, "doomed", reason="scanned upside down")
    await drain()  # type: ignore[misc]
    job = (await client.get(f"/jobs/{job_id}", headers=ACME)).json()
    assert job["status"] == "failed"
    assert job["error"]["message"].endswith("scanned upside down")
    assert "traceback" not in job["error"]
    (step,) = job["steps"]
    assert step["status"] == "failed"


async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    for job_id in ("not-a-uuid", "01a23000-0000-7000-8000-000000000000", "%20", "1" * 300):
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/events"):
            r = await client.get(path, headers=ACME)
            assert (r.status_code, r.json()["code"]) == (404, "job_not_found"), (path, r.text)
        for action in ("cancel", "retry"):
            r = await client.post(f"/jobs/{job_id}/{action}", headers=ACME)
            assert r.status_code == 404


async def test_cancel_a_running_job(client: httpx.AsyncClient, app: baton.App) -> None:
    job_id = await enqueue(client, "gated", gate="c", steps=2)
    worker, task = start_worker(app, queues=("docs",), check_interval=0.05)
    try:
        await until(lambda: _step_running(app, job_id), what="the first step to start")
        r = await client.post(f"/jobs/{job_id}/cancel", headers=ACME)
        assert (r.status_code, r.json()["status"]) == (200, "cancelled")
        open_gate("c:0")  # were the step not cancelled, the pipeline would go on to step 1
    finally:
        worker.stop()
        await task
    types = [e.type for e in await app.events(job_id)]
    assert types.count("step.started") == 1
    assert "step.succeeded" not in types
    assert types[-1] == "job.cancelled"


async def _step_running(app: baton.App, job_id: str) -> bool:
    events = await app.events(job_id)
    return any(e.type == "step.started" for e in events)


async def test_retry_resumes_a_failed_job(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    job_id = await enqueue(client, "doomed")
    await drain()  # type: ignore[misc]
    r = await client.post(f"/jobs/{job_id}/retry", headers=ACME)
    assert (r.status_code, r.json()["status"]) == (200, "queued")


async def test_retry_of_a_job_that_did_not_fail_is_409(client: httpx.AsyncClient) -> None:
    job_id = await enqueue(client, "analyze", doc_id="x")
    r = await client.post(f"/jobs/{job_id}/retry", headers=ACME)
    assert (r.status_code, r.json()["code"]) == (409, "not_retryable")


async def test_list_filters_and_pages(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    ids = [await enqueue(client, "analyze", doc_id=f"d{n}") for n in range(5)]
    failed = await enqueue(client, "doomed")
    await drain()  # type: ignore[misc]
    r = await client.get("/jobs", params={"limit": 2, "pipeline": "analyze"}, headers=ACME)
    page = r.json()
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]  # newest first
    seen = [j["id"] for j in page["jobs"]]
    while page["next"]:
        params = {"limit": 2, "pipeline": "analyze", "before": page["next"]}
        page = (await client.get("/jobs", params=params, headers=ACME)).json()
        seen += [j["id"] for j in page["jobs"]]
    assert seen == ids[::-1]
    only_failed = (await client.get("/jobs", params={"status": "failed"}, headers=ACME)).json()
    assert [j["id"] for j in only_failed["jobs"]] == [failed]
    assert (await client.get("/jobs", params={"status": "weird"}, headers=ACME)).status_code == 422
    assert (await client.get("/jobs", params={"limit": 0}, headers=ACME)).status_code == 422
    assert (await client.get("/jobs", params={"before": "x"}, headers=ACME)).status_code == 422


async def test_queues_show_depth_running_and_end_states(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    await enqueue(client, "analyze", doc_id="a")
    await enqueue(client, "doomed")
    queued = (await client.get("/queues", headers=ACME)).json()
    assert [(q["queue"], q["depth"]) for q in queued] == [("docs", 2)]
    assert queued[0]["oldest_waiting_age"] >= 0
    await drain()  # type: ignore[misc]
    (docs,) = (await client.get("/queues", headers=ACME)).json()
    assert (docs["depth"], docs["succeeded"], docs["failed"]) == (0, 1, 1)


async def test_metrics_in_prometheus_format(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    await enqueue(client, "analyze", doc_id="a")
    await enqueue(client, "analyze", doc_id="b")
    text = (await client.get("/metrics", headers=ACME)).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("baton_queue_depth", (("queue", "docs"),))] == 2
    await drain()  # type: ignore[misc]
    text = (await client.get("/metrics", headers=ACME)).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("baton_jobs_ended", (("queue", "docs"), ("status", "succeeded")))] == 2
    assert samples[("baton_queue_depth", (("queue", "docs"),))] == 0
    # step durations span every tenant: a tenant's scrape leaves them out (test_redaction)
    assert not [name for name, _ in samples if name.startswith("baton_step_duration")]


async def test_healthz_reports_the_backend(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json() == {"status": "ok", "backend": "sqlite"}  # no path: it is public


async def test_healthz_is_503_when_the_store_is_gone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from baton.http import create_app

    app = baton.App(f"sqlite:///{tmp_path}/gone/baton.db")  # its folder does not exist
    transport = httpx.ASGITransport(create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["code"] == "backend_unavailable"
    assert (r.json()["status"], r.json()["backend"]) == ("unavailable", "sqlite")
    assert str(tmp_path) not in r.text
    assert r.headers["Retry-After"]


async def test_unknown_paths_are_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.delete("/jobs")
    assert (r.status_code, r.json()["code"]) == (405, "method_not_allowed")
