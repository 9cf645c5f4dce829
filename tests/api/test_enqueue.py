"""POST /jobs/{pipeline}: validation against the pipeline's type hints, idempotency per
tenant, 202 with where to look."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

import baton
from tests.api.conftest import ACME, GLOBEX


async def test_enqueue_answers_202_with_urls(client: httpx.AsyncClient, app: baton.App) -> None:
    r = await client.post("/jobs/analyze", json={"input": {"doc_id": "abc"}}, headers=ACME)
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "queued"
    assert body["created"] is True
    assert body["status_url"] == f"/jobs/{body['id']}"
    assert body["events_url"] == f"/jobs/{body['id']}/events"
    job = await app.get_job(body["id"])
    assert (job.pipeline, job.tenant, job.status) == ("analyze", "acme", baton.Status.QUEUED)


async def test_input_is_decoded_by_type_hints_and_the_job_runs(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    payload = {"input": {"doc_id": "abcdef", "options": {"language": "es", "max_pages": 4}}}
    r = await client.post("/jobs/analyze", json=payload, headers=ACME)
    await drain()  # type: ignore[misc]
    job = (await client.get(r.json()["status_url"], headers=ACME)).json()
    assert job["status"] == "succeeded"
    assert job["result"] == {"doc_id": "abcdef", "pages": 4, "language": "es"}
    assert job["progress"] == 1.0
    (step,) = job["steps"]
    assert (step["key"], step["name"], step["status"], step["attempts"]) == (
        "0:count_pages",
        "count_pages",
        "succeeded",
        1,
    )
    assert step["duration"] is not None


async def test_a_missing_field_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/analyze", json={"input": {}}, headers=ACME)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"
    assert r.json()["field"] == "input.doc_id"
    assert "input.doc_id" in r.json()["message"]


async def test_a_wrong_nested_type_is_a_422_naming_the_path(client: httpx.AsyncClient) -> None:
    bad = {"input": {"doc_id": "x", "options": {"max_pages": 0}}}
    r = await client.post("/jobs/analyze", json=bad, headers=ACME)
    assert r.status_code == 422
    assert r.json()["field"] == "input.options.max_pages"


async def test_unknown_input_fields_are_refused(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/jobs/analyze", json={"input": {"doc_id": "x", "dpi": 300}}, headers=ACME
    )
    assert (r.status_code, r.json()["field"]) == (422, "input.dpi")


async def test_bad_envelopes_are_422(client: httpx.AsyncClient, app: baton.App) -> None:
    @app.pipeline(queue="docs")  # registered after the router: served by POST /jobs/{pipeline}
    async def late(ctx: baton.Context, doc_id: str) -> str:
        return doc_id

    cases = [
        ({"priority": "high"}, "priority"),
        ({"delay": -1}, "delay"),
        ({"colour": "red"}, "colour"),
        ({"input": "doc"}, "input"),
    ]
    for extra, field in cases:
        for path in ("/jobs/analyze", "/jobs/late"):  # a typed route and the generic one
            body = {"input": {"doc_id": "x"}, **extra}
            r = await client.post(path, json=body, headers=ACME)
            assert r.status_code == 422, (path, body, r.text)
            assert r.json()["field"].startswith(field), (path, body, r.json())
    ok = await client.post("/jobs/late", json={"input": {"doc_id": "x"}}, headers=ACME)
    assert ok.status_code == 202


async def test_a_body_that_is_not_json_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/analyze", content=b"{nope", headers=ACME)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"


async def test_an_unknown_pipeline_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post("/jobs/nope", json={"input": {}}, headers=ACME)
    assert (r.status_code, r.json()["code"]) == (404, "unknown_pipeline")
    r = await client.post("/jobs/count_pages", json={"input": {}}, headers=ACME)  # a step
    assert r.status_code == 404
    r = await client.post("/jobs/baton.callback", json={"input": {}}, headers=ACME)
    assert r.status_code == 404


async def test_tasks_are_enqueued_like_pipelines(client: httpx.AsyncClient, tmp_path: Path) -> None:
    r = await client.post(
        "/jobs/touch", json={"input": {"path": str(tmp_path / "t")}}, headers=ACME
    )
    assert r.status_code == 202


async def test_idempotency_key_returns_the_same_job_per_tenant(
    client: httpx.AsyncClient,
) -> None:
    body = {"input": {"doc_id": "abc"}}
    first = await client.post("/jobs/analyze", json=body, headers={**ACME, "Idempotency-Key": "u1"})
    again = await client.post("/jobs/analyze", json=body, headers={**ACME, "Idempotency-Key": "u1"})
    other = await client.post(
        "/jobs/analyze", json=body, headers={**GLOBEX, "Idempotency-Key": "u1"}
    )
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert other.json()["id"] != first.json()["id"]  # another tenant, another job
    assert other.json()["created"] is True


async def test_priority_delay_and_expiry_are_applied(
    client: httpx.AsyncClient, app: baton.App
) -> None:
    body = {"input": {"doc_id": "x"}, "priority": 7, "delay": 3600, "expires": 7200}
    r = await client.post("/jobs/analyze", json=body, headers=ACME)
    job = await app.get_job(r.json()["id"])
    assert job.priority == 7
    assert (job.run_at - job.created_at).total_seconds() > 3500


async def test_the_typed_route_documents_the_pipelines_input(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    op = schema["paths"]["/jobs/analyze"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    components = schema["components"]["schemas"]
    body = components[ref.rsplit("/", 1)[1]]
    inputs = components[body["properties"]["input"]["$ref"].rsplit("/", 1)[1]]
    assert inputs["required"] == ["doc_id"]
    assert set(inputs["properties"]) == {"doc_id", "options"}
    assert "Count a document's pages" in op["description"]
    assert "/jobs/{pipeline}" in schema["paths"]


async def test_an_idempotency_key_reused_for_another_input_is_422(
    client: httpx.AsyncClient,
) -> None:
    key = {"Idempotency-Key": "upload-7f3a", **ACME}
    first = await client.post("/jobs/analyze", json={"input": {"doc_id": "a"}}, headers=key)
    assert first.status_code == 202, first.text
    same = await client.post("/jobs/analyze", json={"input": {"doc_id": "a"}}, headers=key)
    assert same.status_code == 202 and same.json()["id"] == first.json()["id"]
    assert same.json()["created"] is False
    other = await client.post("/jobs/analyze", json={"input": {"doc_id": "b"}}, headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_key_reused"
    assert other.json()["field"] == "Idempotency-Key"
