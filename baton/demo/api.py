"""Ingest over HTTP: `POST /documents` stores an upload and enqueues its job in milliseconds.

The handler does only what must happen before answering: a check of the declared type, a
size cap while reading, a content hash, a write to the document store, and `enqueue`.
Everything slow or risky (the pre-flight, the parser, the LLM) runs on a worker. The
content hash is the job's idempotency key, so the same bytes uploaded twice give the same
job (and, once it has run, the same result). An `Idempotency-Key` header is honoured too:
reused with other bytes it is refused with 409, not silently mapped to the wrong document.

`GET /documents/{job_id}` reports a document's job (status, stage, progress, result or
the one-line reason it failed). baton's own API (`app.router()`: `/jobs/{id}`, the live
`/jobs/{id}/events` stream, cancel, retry, `/queues`, `/metrics`) is mounted beside it, and
both use the same auth: API keys from `BATON_API_KEYS` (one tenant per key), else open and
single-tenant. Run it with `uvicorn --factory baton.demo.api:make_api`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Header, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import baton
from baton.http import Caller, api_key_auth

from .pipeline import DocumentRef, app, config, process_document
from .store import DocumentStore, digest_of

CODES = {
    404: "not_found",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}
PDF_TYPES = {"application/pdf", "application/x-pdf", "application/octet-stream", ""}
_READ = 1024 * 1024


def make_api(auth: Any = None) -> FastAPI:
    """The ingest API plus baton's router; `auth` is any dependency returning a Caller."""
    who = auth or api_key_auth()
    api = FastAPI(title="baton reference app: documents")
    api.include_router(app.router(auth=who))
    _problems(api)

    @api.post("/documents", status_code=202)
    async def upload(
        file: Annotated[UploadFile, File(description="a PDF")],
        idempotency_key: Annotated[str | None, Header()] = None,
        callback_url: str | None = None,
        caller: Caller = Depends(who),  # noqa: B008  (`who` is local: no Annotated string)
    ) -> JSONResponse:
        tenant = caller.tenant
        _check_type(file)
        data = await _read_capped(file, config().limits.max_bytes)
        digest = digest_of(data)
        store = config().store()
        await asyncio.to_thread(_remember, store, tenant, idempotency_key, digest)
        name = DocumentStore.document_name(tenant, digest)
        if not await asyncio.to_thread(store.exists, name):
            await asyncio.to_thread(store.put, name, data)
        doc = DocumentRef(
            doc_id=f"doc_{digest[:16]}",
            sha256=digest,
            filename=(file.filename or "upload.pdf")[-200:],
            size=len(data),
        )
        try:
            job = await process_document.enqueue(
                doc, idempotency_key=f"sha256:{digest}", tenant=tenant, callback_url=callback_url
            )
        except baton.PayloadError as exc:  # e.g. a callback_url baton will not call
            raise HTTPException(422, str(exc)) from None
        body = {
            "id": job.id,
            "status": job.status.value,
            "doc_id": doc.doc_id,
            "sha256": digest,
            "duplicate": not job.created,
            "status_url": f"/documents/{job.id}",
            "events_url": f"/jobs/{job.id}/events",
        }
        return JSONResponse(body, status_code=202)

    @api.get("/documents/{job_id}")
    async def status(job_id: str, caller: Caller = Depends(who)) -> dict[str, Any]:  # noqa: B008
        try:
            job = await app.get_job(job_id, tenant=caller.scope)
        except baton.JobNotFound:
            raise HTTPException(404, "no such document job") from None
        return describe(job)

    return api


def _problems(api: FastAPI) -> None:
    """Errors as `{code, message, field?}`, the shape of baton's own router beside them."""

    def problem(status: int, message: str, field: str | None = None, **kw: Any) -> JSONResponse:
        body = {"code": CODES.get(status, "error"), "message": message}
        return JSONResponse(body | ({"field": field} if field else {}), status_code=status, **kw)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = (exc.errors() or [{"loc": (), "msg": "invalid request"}])[0]
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return problem(422, f"{field}: {first.get('msg')}" if field else first["msg"], field)

    @api.exception_handler(baton.BackendUnavailable)
    async def unavailable(_: Request, exc: baton.BackendUnavailable) -> JSONResponse:
        body = {"code": "unavailable", "message": str(exc)}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


def describe(job: baton.Job) -> dict[str, Any]:
    """A document job for clients: never the traceback, only the reason."""
    result = job.result.model_dump(mode="json") if hasattr(job.result, "model_dump") else None
    return {
        "id": job.id,
        "status": job.status.value,
        "progress": job.progress,
        "stage": job.progress_message,
        "current_step": job.current_step,
        "result": result,
        "error": (job.error or {}).get("message") if job.error else None,
    }


async def _read_capped(file: UploadFile, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await file.read(_READ):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the file is larger than the limit of {limit:,} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _check_type(file: UploadFile) -> None:
    """The declared type only: the bytes themselves are judged by the pipeline's pre-flight,
    so every upload that got a job has a durable outcome and a reason."""
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if content_type not in PDF_TYPES:
        raise HTTPException(415, f"expected a PDF (application/pdf), got {content_type}")


def _remember(store: DocumentStore, tenant: str, key: str | None, digest: str) -> None:
    """Bind an Idempotency-Key to the bytes it first came with; refuse it for other bytes."""
    if not key:
        return
    name = DocumentStore.key_name(tenant, key)
    if store.exists(name):
        if store.get(name).decode() != digest:
            raise HTTPException(409, "this Idempotency-Key was already used for another file")
        return
    store.put(name, digest.encode())
