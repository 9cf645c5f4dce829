"""`baton demo [PDF ...]`: the reference app end to end, in one process, offline.

It makes a temporary folder for the embedded SQLite store and the document store, starts
a worker (with its process pool for the parser) and the ingest API in this process, uploads
each PDF through `POST /documents` (in-process, over ASGI: no socket, no network), and
follows every job to its end with a progress bar per document. A document that fails is an
outcome, shown with its reason; the exit code is non-zero only if baton itself broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

POLL = 0.1


@dataclass(slots=True)
class Row:
    """One document's outcome, as the table and `--json` show it."""

    file: str
    status: str = "queued"
    job_id: str | None = None
    pages: int | None = None
    document_type: str | None = None
    fields_found: int | None = None
    pii: dict[str, int] = field(default_factory=dict)
    analyzer: str | None = None
    chunks: int | None = None
    tables: int | None = None
    seconds: float | None = None
    error: str | None = None
    failed_pages: list[dict[str, Any]] = field(default_factory=list)
    image_only_pages: list[int] = field(default_factory=list)
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def sample_paths() -> list[Path]:
    """The bundled sample PDFs (see samples/README.md for where they come from)."""
    folder = resources.files("baton.demo") / "samples"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".pdf"))


def run(
    paths: list[Path], as_json: bool = False, timeout: float = 300.0, workdir: Path | None = None
) -> int:
    """Run the demo on `paths` (the samples when empty); return the exit code.

    Everything is stored under `workdir` (kept), else a temporary folder (removed)."""
    tmp = str(workdir) if workdir else tempfile.mkdtemp(prefix="baton-demo-")
    os.makedirs(tmp, exist_ok=True)
    os.environ["BATON_URL"] = f"sqlite:///{tmp}/baton.db"  # always the embedded default
    os.environ["BATON_DEMO_STORE"] = f"{tmp}/documents"
    os.environ.pop("BATON_BLOBS", None)
    err = Console(stderr=True)
    try:
        return asyncio.run(_main(paths or sample_paths(), as_json, timeout, err))
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)


async def _main(paths: list[Path], as_json: bool, timeout: float, err: Console) -> int:
    import baton

    from .api import make_api
    from .pipeline import QUEUE, app, config

    cfg = config()
    names = ", ".join(p.config.name for p in cfg.providers)
    err.print(
        f"baton demo: {len(paths)} document(s); analyzer: "
        + (
            f"LLM providers {names} (offline rules if they all give up)"
            if names
            else "offline extractor (rules; no LLM provider configured)"
        ),
        soft_wrap=True,
    )
    pool = max(1, min(2, os.cpu_count() or 1))
    worker = baton.Worker(
        app, baton.WorkerConfig(queues=(QUEUE,), concurrency=8, process_pool_size=pool, grace=5)
    )
    running = asyncio.create_task(worker.run())
    rows = [Row(file=p.name) for p in paths]
    try:
        await _upload_all(make_api(auth=_local), paths, rows)
        await _follow(app, rows, running, timeout, show=not as_json and err.is_terminal, err=err)
    finally:
        worker.stop()
        with contextlib.suppress(Exception):
            await running
        await app.aclose()
    broke = running.done() and not running.cancelled() and running.exception() is not None
    _print(rows, as_json)
    unfinished = [
        r for r in rows if r.status not in ("succeeded", "failed", "cancelled", "expired")
    ]
    if broke:
        err.print(f"baton demo: the worker stopped: {running.exception()!r}", soft_wrap=True)
    elif unfinished:
        err.print(
            f"baton demo: {len(unfinished)} document(s) did not finish within {timeout:g} s",
            soft_wrap=True,
        )
    return 1 if broke or unfinished else 0


def _local() -> Any:
    """In-process uploads (no socket): the one local caller, in the default tenant."""
    from baton.http import Caller

    return Caller("default", None)


async def _upload_all(api: Any, paths: list[Path], rows: list[Row]) -> None:
    import httpx

    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        for path, row in zip(paths, rows, strict=True):
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                row.status, row.error = "failed", f"cannot read the file: {exc.strerror}"
                continue
            files = {"file": (path.name, data, "application/pdf")}
            r = await client.post("/documents", files=files)
            if r.status_code != 202:
                row.status, row.error = "failed", str(r.json().get("message", r.text))[:200]
                continue
            body = r.json()
            row.job_id, row.duplicate = body["id"], body["duplicate"]


async def _follow(
    app: Any, rows: list[Row], worker: asyncio.Task[None], timeout: float, show: bool, err: Console
) -> None:
    """Poll each job until it ends, drawing a bar per document."""
    progress = Progress(
        TextColumn("{task.fields[file]:<42.42}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]:<12.12}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
    )
    tasks: dict[int, TaskID] = {
        i: progress.add_task(r.file, total=1.0, file=r.file, stage=r.status)
        for i, r in enumerate(rows)
    }
    deadline = time.monotonic() + timeout
    with progress:
        while time.monotonic() < deadline and not worker.done():
            open_rows = [(i, r) for i, r in enumerate(rows) if r.job_id and r.status not in _DONE]
            if not open_rows:
                break
            for i, row in open_rows:
                job = await app.get_job(row.job_id)
                _update(row, job)
                stage = row.status if job.done else (job.progress_message or row.status)
                progress.update(tasks[i], completed=1.0 if job.done else job.progress, stage=stage)
            await asyncio.sleep(POLL)


_DONE = ("succeeded", "failed", "cancelled", "expired")


def _update(row: Row, job: Any) -> None:
    row.status = job.status.value
    if not job.done:
        return
    if job.finished_at is not None:
        row.seconds = round((job.finished_at - job.created_at).total_seconds(), 2)
    if row.duplicate:
        row.error = "the same bytes as an earlier upload: its job and result"
    if job.status.value == "succeeded" and job.result is not None:
        rep = job.result
        row.pages, row.pii = rep.pages, dict(rep.pii)
        row.document_type, row.analyzer = rep.analysis.document_type, rep.analysis.analyzer
        row.fields_found, row.chunks = rep.analysis.fields_found, rep.chunks
        row.tables = len(rep.tables)
        row.failed_pages = [f.model_dump() for f in rep.failed_pages]
        row.image_only_pages = list(rep.image_only_pages)
        if rep.image_only_pages:
            row.error = f"image-only pages (no text; need OCR): {_pages(rep.image_only_pages)}"
        if rep.notes:
            row.error = rep.notes[0]
        if rep.failed_pages:
            first = rep.failed_pages[0]
            row.error = (
                f"{len(rep.failed_pages)} page(s) unreadable, e.g. p{first.page}: {first.reason}"
            )
    else:
        row.error = str((job.error or {}).get("message", job.status.value))


def _pages(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:6]))
    return shown + (", …" if len(numbers) > 6 else "")


def _print(rows: list[Row], as_json: bool) -> None:
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row.as_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    table = Table(title="baton demo: documents")
    for col in ("file", "status", "pages", "document type", "fields", "PII", "time", "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        pii = ", ".join(f"{k} {v}" for k, v in sorted(r.pii.items())) or ("none" if r.pages else "")
        colour = "green" if r.status == "succeeded" else "red"
        table.add_row(
            r.file,
            f"[{colour}]{r.status}[/]",
            "" if r.pages is None else str(r.pages),
            r.document_type or "",
            "" if r.fields_found is None else str(r.fields_found),
            pii,
            "" if r.seconds is None else f"{r.seconds:.1f}s",
            r.error or "",
        )
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)
    out.print(table)
