"""The reference app's data, as Pydantic models: what crosses step boundaries and what a
client gets back. Nothing here ever holds raw PII: text is scrubbed before it leaves the
parse step, so every model below is safe to checkpoint, log, stream and return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Limits(BaseModel):
    """Safety limits for one document; defaults suit invoices, contracts and reports."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2000
    max_stream_bytes: int = 64 * 1024 * 1024  # one stream, inflated
    max_inflated_bytes: int = 256 * 1024 * 1024  # all streams, inflated
    max_image_pixels: int = 250_000_000
    memory_bytes: int = 768 * 1024 * 1024  # RLIMIT_AS head-room for the parser
    cpu_seconds: int = 60  # RLIMIT_CPU for the parser
    max_text_chars: int = 2_000_000  # output limit: text kept per document
    parse_timeout: float = 90.0  # wall clock; the parser's process is killed past it


class ScanReport(BaseModel):
    """The cheap pre-flight's verdict: `reason` says why a file is refused."""

    ok: bool
    reason: str | None = None
    size: int = 0
    pages: int = 0  # page objects counted in the raw file (0 if none were visible)
    encrypted: bool = False
    inflated_bytes: int = 0


class PageFailure(BaseModel):
    page: int  # 1-based
    reason: str


class Table(BaseModel):
    """Rows of cells found on a page by column alignment (a heuristic, not a ruled grid)."""

    page: int
    rows: list[list[str]]


class Parsed(BaseModel):
    """Parse + scrub output. `pages` holds scrubbed text only."""

    ok: bool
    reason: str | None = None
    page_count: int = 0
    pages: list[str] = Field(default_factory=list)
    failed_pages: list[PageFailure] = Field(default_factory=list)
    image_only_pages: list[int] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    truncated: bool = False
    pii: dict[str, int] = Field(default_factory=dict)  # kind -> how many were replaced


class Party(BaseModel):
    name: str
    role: str | None = None


class Amount(BaseModel):
    value: float
    currency: str | None = None
    label: str | None = None


class Analysis(BaseModel):
    """Triage + field extraction for one chunk (or, merged, one document). The LLM's answer
    must validate against this model; `analyzer` says who produced it."""

    document_type: str = "unknown"
    parties: list[Party] = Field(default_factory=list)
    dates: list[str] = Field(default_factory=list)  # ISO 8601 (YYYY-MM-DD) where possible
    amounts: list[Amount] = Field(default_factory=list)
    total: Amount | None = None
    analyzer: str = "offline"
    note: str | None = None  # e.g. why the offline rules stood in for the LLM

    @property
    def fields_found(self) -> int:
        return len(self.parties) + len(self.dates) + len(self.amounts) + (self.total is not None)


class Chunk(BaseModel):
    index: int
    text: str


class Report(BaseModel):
    """What a document's job returns (and what is saved, encrypted when a key is set)."""

    doc_id: str
    sha256: str
    filename: str
    status: Literal["succeeded"] = "succeeded"
    pages: int
    failed_pages: list[PageFailure] = Field(default_factory=list)
    image_only_pages: list[int] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    truncated: bool = False
    pii: dict[str, int] = Field(default_factory=dict)
    analysis: Analysis
    analyzers: list[str] = Field(default_factory=list)  # one per chunk, in order
    notes: list[str] = Field(default_factory=list)  # what a reader should know (LLM gave up)
    chunks: int = 1
    saved_to: str | None = None
    encrypted: bool = False
