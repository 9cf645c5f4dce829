"""An existing FastAPI app whose slow endpoint moves onto baton in a handful of lines.

Before, `POST /reports` ran the whole pipeline inside the request: 30-60 s, a proxy
timeout, a restart from zero after every deploy. After, it enqueues and answers 202 at
once; a worker runs the stages, each saved as it finishes; the page below watches the
job's live event stream and shows "Stage 2 of 4: analyzing" instead of a spinner.

Run it (two processes, or one with EMBEDDED_WORKER=1):

    uvicorn examples.fastapi_offload:api --port 8000
    baton worker examples.fastapi_offload:jobs

then open http://127.0.0.1:8000/.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

import baton

STEP_SECONDS = float(os.environ.get("EXAMPLE_STEP_SECONDS", "1.0"))  # pretend work

jobs = baton.App(os.environ.get("BATON_URL", "sqlite:///offload.db"))


class ReportRequest(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    pages: int = Field(3, ge=1, le=50)


class Report(BaseModel):
    url: str
    pages: int
    summary: str
    digest: str


# --- the slow work, unchanged but for the decorators ------------------------------------


@jobs.step(retry=baton.Retry(attempts=3), timeout=60)
async def download(url: str) -> str:
    await asyncio.sleep(STEP_SECONDS)  # was: an httpx download
    return f"contents of {url}"


@jobs.step
async def read_page(page: str) -> str:
    await asyncio.sleep(STEP_SECONDS / 2)  # was: PDF parsing, one page
    return f"text of {page}"


@jobs.step(retry=baton.Retry(attempts=5, max_delay=30), rate_limit="60/minute")
async def analyze(pages: list[str]) -> str:
    await asyncio.sleep(STEP_SECONDS)  # was: an LLM call
    return f"{len(pages)} pages read"


@jobs.pipeline
async def build_report(ctx: baton.Context, url: str, pages: int = 3) -> Report:
    await ctx.progress(0.0, "Stage 1 of 4: downloading")
    text = await ctx.run(download, url)
    await ctx.progress(0.25, "Stage 2 of 4: reading pages")
    read = await ctx.map(read_page, [f"{text}#page={n}" for n in range(1, pages + 1)])
    await ctx.progress(0.5, "Stage 3 of 4: analyzing")
    summary = await ctx.run(analyze, read)
    await ctx.progress(0.75, "Stage 4 of 4: saving")
    digest = hashlib.sha256(summary.encode()).hexdigest()[:12]
    return Report(url=url, pages=pages, summary=summary, digest=digest)


# --- the existing app ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """With EMBEDDED_WORKER=1 the app runs a worker beside itself (one process, for demos)."""
    worker = None
    if os.environ.get("EMBEDDED_WORKER") == "1":
        worker = baton.Worker(jobs, baton.WorkerConfig())
        task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()
            await task
        await jobs.aclose()


api = FastAPI(title="Acme reports", lifespan=lifespan)
api.include_router(jobs.router(), prefix="/baton")  # status, live events, metrics


@api.post("/reports", status_code=202)
async def create_report(request: ReportRequest) -> dict[str, str]:
    # Before: `return await build_report_inline(request.url, request.pages)` (60 s)
    job = await build_report.enqueue(request.url, request.pages)
    return {"job_id": job.id, "events_url": f"/baton/jobs/{job.id}/events"}


@api.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> str:
    return PAGE


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme reports</title>
<style>
 body { font: 16px system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; }
 progress { width: 100%; height: 1.2rem; }
 #result { white-space: pre-wrap; background: #f4f4f4; padding: 1rem; }
</style></head>
<body>
<h1>Build a report</h1>
<form id="form">
  <input id="url" value="https://example.com/annual-report.pdf" size="40">
  <button id="go" type="submit">Build</button>
</form>
<p id="stage">Nothing running.</p>
<progress id="bar" max="1" value="0"></progress>
<pre id="result"></pre>
<script>
const $ = (id) => document.getElementById(id);
$("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("go").disabled = true;
  $("result").textContent = "";
  const r = await fetch("/reports", {method: "POST", headers: {"Content-Type": "application/json"},
                                     body: JSON.stringify({url: $("url").value, pages: 3})});
  const job = await r.json();
  $("stage").textContent = "Queued";
  const events = new EventSource(job.events_url);  // live, resumable, ends with the job
  events.addEventListener("job.progress", (m) => {
    const d = JSON.parse(m.data);
    $("bar").value = d.progress; $("stage").textContent = d.message;
  });
  const end = async (m) => {
    events.close();
    const status = await (await fetch("/baton/jobs/" + job.job_id)).json();
    $("bar").value = 1;
    $("stage").textContent = "Done: " + status.status;
    $("result").textContent = JSON.stringify(status.result || status.error, null, 2);
    $("go").disabled = false;
  };
  for (const t of ["job.succeeded", "job.failed", "job.cancelled", "job.expired"])
    events.addEventListener(t, end);
});
</script>
</body></html>
"""
