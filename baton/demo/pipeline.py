"""The document pipeline: scan -> parse+scrub -> analyze (per chunk) -> save.

Everything here is plain baton: steps for the work, one pipeline to orchestrate it, and
a child pipeline per chunk for long documents (`ctx.map`). Run a worker for it with

    baton worker baton.demo.pipeline:app --queues documents

The parse step runs in baton's process executor: a hostile PDF can only take down (or
time out) a child process, which baton kills and replaces; the worker carries on. Text is
scrubbed inside that same step, so no raw PII is ever checkpointed, logged or sent on.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import pydantic

import baton

from . import offline
from .config import DemoConfig
from .llm import Provider
from .models import Analysis, Chunk, Limits, Parsed, Report, ScanReport, Table
from .parse import Unreadable, extract_pages
from .scan import scan
from .scrub import scrub
from .store import DocumentStore

app = baton.App(name="baton-demo")
QUEUE = "documents"
CHUNK_CHARS = 12_000
MAX_CHUNKS = 24
MAX_TABLES = 50
PARSE_TIMEOUT = float(os.environ.get("BATON_DEMO_PARSE_TIMEOUT", Limits().parse_timeout))


class DocumentRef(pydantic.BaseModel):
    """A stored upload: what a document's job takes as input."""

    doc_id: str
    sha256: str
    filename: str
    size: int


class DocumentRejected(baton.Permanent):
    """The document cannot be processed; the message is the one-line reason."""


@functools.cache
def config() -> DemoConfig:
    """Read once per process (worker, API or parse child) from the environment."""
    return DemoConfig.from_env()


# --- steps ----------------------------------------------------------------------------


@app.step(retry=baton.Retry(attempts=2, base_delay=0.1))
def scan_document(tenant: str, digest: str, limits: Limits) -> ScanReport:
    """The cheap pre-flight, on raw bytes (bounded work, so a thread is enough)."""
    data = config().store().get(DocumentStore.document_name(tenant, digest))
    return scan(data, limits)


@app.step(executor="process", timeout=PARSE_TIMEOUT, retry=baton.Retry(attempts=1))
def parse_document(tenant: str, digest: str, limits: Limits) -> Parsed:
    """Text per page under memory, CPU and output limits, scrubbed before it leaves.

    One attempt: the same bytes under the same limits fail the same way, so a retry would
    only double the cost of a hostile file. (A worker that dies mid-parse is a crash, not
    an attempt: another worker resumes the job, up to the pipeline's `max_crashes`.)"""
    data = config().store().get(DocumentStore.document_name(tenant, digest))
    try:
        found = extract_pages(data, limits)
    except Unreadable as exc:
        return Parsed(ok=False, reason=str(exc))
    counts: Counter[str] = Counter()

    def clean(text: str, count: bool = True) -> str:
        done = scrub(text)
        if count:  # a table's cells are also in its page's text: count them once
            counts.update(done.counts)
        return done.text

    pages = [clean(text) for text in found.texts]
    tables = [
        Table(page=page, rows=[[clean(cell, count=False) for cell in row] for row in rows])
        for page, rows in found.tables[:MAX_TABLES]
    ]
    parsed = Parsed(
        ok=True,
        page_count=found.count,
        pages=pages,
        failed_pages=found.failed,
        image_only_pages=found.image_only,
        tables=tables,
        truncated=found.truncated,
        pii=dict(counts),
    )
    if len(found.failed) == found.count:
        parsed.ok, parsed.reason = False, f"no page could be read: {found.failed[0].reason}"
    return parsed


@app.step
def analyze_offline(chunk: Chunk) -> Analysis:
    """Rules and regexes: the analyzer when no LLM is configured, or when every one gave up."""
    return offline.analyze(chunk.text)


def _provider_step(
    provider: Provider, fallback: list[baton.Step[Any, Any]]
) -> baton.Step[Any, Any]:
    cfg = provider.config

    async def ask(chunk: Chunk) -> Analysis:
        return await provider.analyze(chunk)

    return app.step(
        name=f"llm_{cfg.name}",
        retry=baton.Retry(attempts=cfg.attempts, base_delay=0.2, max_delay=10.0),
        timeout=cfg.timeout + 5,  # httpx's own timeout fires first; this is the backstop
        rate_limit=cfg.rate_limit,
        fallback=fallback,
    )(ask)


def _chain() -> baton.Step[Any, Any] | None:
    """The first provider, falling back to each next one in order (None: no provider)."""
    providers = config().providers
    if not providers:
        return None
    rest = [_provider_step(p, []) for p in providers[1:]]
    return _provider_step(providers[0], rest)


LLM = _chain()


@app.step
def save_report(tenant: str, report: Report) -> Report:
    """Keep the result next to the document, sealed when a key is set."""
    store = config().store()
    name = DocumentStore.result_name(tenant, report.sha256)
    where = store.put(name, report.model_dump_json().encode())
    return report.model_copy(update={"saved_to": where, "encrypted": store.encrypted})


# --- pipelines ------------------------------------------------------------------------


@app.pipeline(queue=QUEUE, timeout=300)
async def analyze_chunk(ctx: baton.Context, chunk: Chunk) -> Analysis:
    """One chunk through the provider chain (a child job, so any worker may take it)."""
    return await analyze_one(ctx, chunk)


async def analyze_one(ctx: baton.Context, chunk: Chunk) -> Analysis:
    """The provider chain; when every provider gave up, the offline rules, saying why."""
    if LLM is None:
        return await ctx.run(analyze_offline, chunk)
    try:
        return await ctx.run(LLM, chunk)
    except baton.StepFailed as exc:  # saved as failed, so a replay takes this path again
        why = " ".join(f"{exc.error.get('type')}: {exc.error.get('message')}".split())[:160]
        answer = await ctx.run(analyze_offline, chunk)
        return answer.model_copy(update={"note": f"every LLM provider gave up ({why})"})


@app.pipeline(queue=QUEUE, timeout=600)
async def process_document(ctx: baton.Context, document: DocumentRef) -> Report:
    """The whole document: every stage checkpointed, so a restart resumes where it was."""
    limits = config().limits
    await ctx.progress(0.05, "scanning")
    scanned = await ctx.run(scan_document, ctx.tenant, document.sha256, limits)
    if not scanned.ok:
        raise DocumentRejected(scanned.reason or "refused by the pre-flight check")
    await ctx.progress(0.15, "parsing")
    parsed = await _stage(ctx.run(parse_document, ctx.tenant, document.sha256, limits))
    if not parsed.ok:
        raise DocumentRejected(parsed.reason or "the PDF could not be read")
    await ctx.progress(0.5, "analyzing")
    chunks = make_chunks(parsed.pages)
    analyses = await _analyze(ctx, chunks)
    await ctx.progress(0.9, "saving")
    report = Report(
        doc_id=document.doc_id,
        sha256=document.sha256,
        filename=document.filename,
        pages=parsed.page_count,
        failed_pages=parsed.failed_pages,
        image_only_pages=parsed.image_only_pages,
        tables=parsed.tables,
        truncated=parsed.truncated,
        pii=parsed.pii,
        analysis=merge(analyses),
        analyzers=[a.analyzer for a in analyses],
        notes=list(dict.fromkeys(a.note for a in analyses if a.note)),
        chunks=len(chunks),
    )
    saved = await ctx.run(save_report, ctx.tenant, report)
    await ctx.progress(1.0, "done")
    return saved


async def _analyze(ctx: baton.Context, chunks: list[Chunk]) -> list[Analysis]:
    if not chunks:
        return [Analysis(analyzer="none: no text layer (scanned pages need OCR)")]
    if len(chunks) == 1:
        return [await analyze_one(ctx, chunks[0])]
    return await ctx.map(analyze_chunk, chunks)


async def _stage(call: Awaitable[Parsed]) -> Parsed:
    """A parse step that gave up (killed past its timeout, its process died) as a reason."""
    try:
        return await call
    except baton.StepFailed as exc:
        kind = exc.error.get("type", "")
        if kind == "StepTimeout":
            reason = f"reading the PDF took longer than {PARSE_TIMEOUT:g} s and was stopped"
        elif kind == "ProcessDied":
            reason = "the parser crashed on this PDF (its process died) and was replaced"
        else:  # not the PDF's fault (the store, a bug): say what happened
            said = " ".join(str(exc.error.get("message", "")).split())[:120]
            reason = f"the document could not be processed ({kind}: {said})"
        raise DocumentRejected(reason) from None


def make_chunks(pages: list[str]) -> list[Chunk]:
    """Pages packed into chunks of at most CHUNK_CHARS (long pages split), at most MAX_CHUNKS."""
    pieces: list[str] = []
    for text in pages:
        text = text.strip()
        pieces.extend(text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS))
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + len(piece) + 2 <= CHUNK_CHARS:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return [Chunk(index=i, text=t) for i, t in enumerate(chunks[:MAX_CHUNKS])]


def merge(analyses: list[Analysis]) -> Analysis:
    """One document's analysis from its chunks': the commonest type, fields de-duplicated."""
    kinds = Counter(a.document_type for a in analyses if a.document_type != "unknown")
    merged = Analysis(
        document_type=kinds.most_common(1)[0][0] if kinds else "unknown",
        analyzer=", ".join(dict.fromkeys(a.analyzer for a in analyses)),
    )
    for a in analyses:
        merged.parties.extend(p for p in a.parties if p not in merged.parties)
        merged.dates.extend(d for d in a.dates if d not in merged.dates)
        merged.amounts.extend(x for x in a.amounts if x not in merged.amounts)
        merged.total = a.total or merged.total
    merged.parties, merged.dates, merged.amounts = (
        merged.parties[:50],
        merged.dates[:50],
        merged.amounts[:50],
    )
    return merged
