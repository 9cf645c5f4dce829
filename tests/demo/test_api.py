"""`POST /documents` in-process (httpx over ASGI) on a SQLite file, with a real burst
worker: 202 at once, dedup by content, Idempotency-Key, type and size checks, the result
sealed at rest, callback_url passed through."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

import baton
from baton.demo.api import make_api
from baton.demo.pipeline import QUEUE, config

from .pdfgen import make_pdf

INVOICE = make_pdf([["INVOICE", "Bill to: Globex Corporation", "Total due: $10.00"]])


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=make_api()), base_url="http://t")


async def _upload(
    client: httpx.AsyncClient, data: bytes, headers: dict[str, str] | None = None, **params: str
) -> httpx.Response:
    files = {"file": ("doc.pdf", data, "application/pdf")}
    return await client.post("/documents", files=files, headers=headers or {}, params=params)


async def _drain(app: baton.App) -> None:
    await baton.run_worker(
        app, baton.WorkerConfig(queues=(QUEUE,), burst=True, process_pool_size=1)
    )


async def test_upload_run_and_dedup(demo_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # the app read BATON_WEBHOOK_SECRET when it was made (at import): give it one here
    monkeypatch.setattr(demo_app, "webhooks", dataclasses.replace(demo_app.webhooks, secret="s"))
    async with _client() as client:
        refused = await _upload(client, INVOICE, callback_url="http://127.0.0.1:9/hook")
        assert refused.status_code == 422 and "loopback" in refused.json()["message"]
        first = await _upload(client, INVOICE, callback_url="https://hooks.example.invalid/done")
        assert first.status_code == 202
        body = first.json()
        assert body["status"] == "queued" and body["duplicate"] is False
        assert body["status_url"] == f"/documents/{body['id']}"
        job = await demo_app.get_job(body["id"])
        assert job.callback_url == "https://hooks.example.invalid/done"

        await _drain(demo_app)
        done = (await client.get(body["status_url"])).json()
        assert done["status"] == "succeeded" and done["stage"] == "done"
        assert done["result"]["analysis"]["document_type"] == "invoice"
        assert done["result"]["sha256"] == body["sha256"]

        again = (await _upload(client, INVOICE)).json()  # same bytes: the earlier job
        assert again["id"] == body["id"] and again["duplicate"] is True
        assert (await client.get(again["status_url"])).json()["result"] == done["result"]
        assert (await client.get("/documents/nope")).status_code == 404


async def test_a_failed_document_reports_its_reason(demo_app: Any) -> None:
    async with _client() as client:
        r = await _upload(client, b"GIF89a not a pdf")
        assert r.status_code == 202
        await _drain(demo_app)
        done = (await client.get(r.json()["status_url"])).json()
    assert done["status"] == "failed" and done["error"] == "not a PDF: the file is a GIF image"


async def test_idempotency_key_is_bound_to_its_bytes(demo_app: Any) -> None:
    async with _client() as client:
        key = {"Idempotency-Key": "upload-1"}
        a = await _upload(client, INVOICE, key)
        b = await _upload(client, INVOICE, key)
        assert a.status_code == b.status_code == 202 and a.json()["id"] == b.json()["id"]
        other = await _upload(client, make_pdf([["other"]]), key)
        assert other.status_code == 409 and "another file" in other.json()["message"]


async def test_type_and_size_are_checked(demo_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DEMO_MAX_BYTES", "100")
    config.cache_clear()
    async with _client() as client:
        big = await _upload(client, INVOICE)
        assert big.status_code == 413 and "larger than the limit" in big.json()["message"]
        files = {"file": ("x.png", b"\x89PNG", "image/png")}
        wrong = await client.post("/documents", files=files)
        assert wrong.status_code == 415 and "expected a PDF" in wrong.json()["message"]
        missing = await client.post("/documents")
        assert missing.status_code == 422
        assert missing.json() == {
            "code": "invalid_request",
            "message": "file: Field required",
            "field": "file",
        }
        assert (
            big.json()["code"] == "too_large" and wrong.json()["code"] == "unsupported_media_type"
        )


async def test_results_are_sealed_when_a_key_is_set(
    demo_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DEMO_KEY", secrets.token_hex(32))
    config.cache_clear()
    async with _client() as client:
        r = await _upload(client, INVOICE)
        await _drain(demo_app)
        result = (await client.get(r.json()["status_url"])).json()["result"]
    assert result["encrypted"] is True
    _assert_sealed(Path(result["saved_to"]), b"Globex")
    _assert_sealed(next((tmp_path / "documents").rglob("*.pdf")), b"INVOICE")


def _assert_sealed(path: Path, plain: bytes) -> None:
    data = path.read_bytes()
    assert data.startswith(b"BTN1") and plain not in data


async def test_the_baton_router_is_mounted_with_the_same_tenants(
    demo_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_API_KEYS", "ka:acme,kb:globex")
    async with _client() as client:
        assert (await _upload(client, INVOICE)).status_code == 401
        acme = {"Authorization": "Bearer ka"}
        r = await _upload(client, INVOICE, acme)
        assert r.status_code == 202
        job_id = r.json()["id"]
        assert (await demo_app.get_job(job_id)).tenant == "acme"
        await _drain(demo_app)
        job = (await client.get(f"/jobs/{job_id}", headers=acme)).json()
        assert job["status"] == "succeeded"
        other = {"Authorization": "Bearer kb"}
        assert (await client.get(f"/jobs/{job_id}", headers=other)).status_code == 404
        assert (await client.get(f"/documents/{job_id}", headers=other)).status_code == 404
        doc = (await client.get(f"/documents/{job_id}", headers=acme)).json()
        assert doc["result"]["analysis"]["document_type"] == "invoice"
