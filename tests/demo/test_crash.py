"""A worker SIGKILLed while the LLM call is in flight: another worker resumes the document
from its checkpoints (the parse does not run again) and sends the LLM the same
Idempotency-Key, so a provider that deduplicates charges once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, providers_env
from .fakellm import FakeLLM
from .pdfgen import make_pdf


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "baton", "worker", "baton.demo.pipeline:app", "-Q", "documents"]
    return subprocess.Popen(
        [*cmd, "--lease", "1", "--process-pool", "1", "--quiet"],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # SIGKILL reaches its parser process too
    )


def _until(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


async def test_sigkill_during_the_llm_call(
    demo_app: Any, tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baton.demo.pipeline import DocumentRef, config, process_document
    from baton.demo.store import DocumentStore, digest_of

    data = make_pdf([["INVOICE", "Bill to: Globex Corporation", "Total due: $10.00"]])
    digest = digest_of(data)
    config().store().put(DocumentStore.document_name("default", digest), data)
    doc = DocumentRef(doc_id="d1", sha256=digest, filename="invoice.pdf", size=len(data))
    job = await process_document.enqueue(doc)

    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")} | {
        "BATON_URL": demo_app.url,
        "BATON_DEMO_STORE": os.environ["BATON_DEMO_STORE"],
        "BATON_DEMO_LLM_PROVIDERS": providers_env(("a", fake_llm), timeout=30.0),
        "FAKE_LLM_KEY": "sk-test",
    }
    fake_llm.script = ["hang"]  # the first worker's LLM call never returns
    first = _worker(env)
    try:
        _until(lambda: len(fake_llm.seen) == 1, "the first LLM request")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)

    second = _worker(env)  # resumes once the dead worker's 1 s lease has lapsed
    try:
        _until(lambda: len(fake_llm.seen) == 2, "the resumed LLM request")
        done = await demo_app.wait(job.id, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0

    assert done.status == "succeeded" and done.result.analysis.analyzer == "llm:a/fake-1"
    steps = {s.key: s for s in done.steps}
    assert steps["1:parse_document"].attempts == 1  # saved before the crash: not re-run
    keys = [s.headers["idempotency-key"] for s in fake_llm.seen]
    assert keys[0] == keys[1] == f"{job.id}:2:llm_a"
