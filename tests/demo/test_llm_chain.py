"""The provider chain inside the real pipeline (`baton demo` with two scripted fake
providers): baton's Retry retries 429 (after Retry-After), 5xx, timeouts, cut streams and
invalid answers; 400/401 go straight to the fallback; when every provider gave up, the
offline analyzer stands in and the result says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import json_rows, providers_env, run_demo
from .fakellm import FakeLLM
from .pdfgen import make_pdf


@pytest.fixture
def pair() -> Iterator[tuple[FakeLLM, FakeLLM]]:
    a, b = FakeLLM().start(), FakeLLM().start()
    yield a, b
    a.stop()
    b.stop()


def _run(tmp_path: Path, a: FakeLLM, b: FakeLLM) -> dict[str, object]:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(make_pdf([["INVOICE", "Bill to: Globex Corporation", "Total due: $10.00"]]))
    env = {"BATON_DEMO_LLM_PROVIDERS": providers_env(("a", a), ("b", b), timeout=1.0)}
    proc = run_demo("--json", str(pdf), env=env)
    assert "LLM providers a, b" in proc.stderr
    [row] = json_rows(proc)
    assert row["status"] == "succeeded", row
    return row


@pytest.mark.parametrize(
    ("script_a", "script_b", "analyzer", "calls_a", "calls_b"),
    [
        (["429", "500", "ok"], [], "llm:a/fake-1", 3, 0),
        (["hang", "cut", "ok"], [], "llm:a/fake-1", 3, 0),
        (["400"], [], "llm:b/fake-1", 1, 1),
        (["401"], [], "llm:b/fake-1", 1, 1),
        (["garbage", "invalid", "garbage"], [], "llm:b/fake-1", 3, 1),
        (["500", "500", "500"], ["500", "429", "500"], "offline", 3, 3),
    ],
    ids=["retried-then-ok", "timeout-and-cut-retried", "400-not-retried", "401-not-retried",
         "invalid-answers-retried-then-fallback", "all-down-offline"],
)  # fmt: skip
def test_chain(
    tmp_path: Path,
    pair: tuple[FakeLLM, FakeLLM],
    script_a: list[str],
    script_b: list[str],
    analyzer: str,
    calls_a: int,
    calls_b: int,
) -> None:
    a, b = pair
    a.script, b.script = list(script_a), list(script_b)
    row = _run(tmp_path, a, b)
    assert row["analyzer"] == analyzer
    assert (len(a.seen), len(b.seen)) == (calls_a, calls_b)
    if analyzer.startswith("llm:"):
        assert row["document_type"] == "invoice" and row["fields_found"] == 4
        assert row["error"] is None
    else:  # reported, not hidden: the offline rules stood in, and the row says why
        assert row["error"].startswith("every LLM provider gave up (HTTPStatusError: ")
    keys = {s.headers["idempotency-key"] for s in a.seen}
    assert len(keys) == (1 if a.seen else 0)  # one step: the same key on every retry


def test_retry_after_is_honoured(tmp_path: Path, pair: tuple[FakeLLM, FakeLLM]) -> None:
    a, b = pair
    a.retry_after = 1.5
    a.script = ["429"]
    row = _run(tmp_path, a, b)
    assert row["analyzer"] == "llm:a/fake-1" and len(a.seen) == 2
    assert a.seen[1].at - a.seen[0].at >= 1.4  # waited at least what the server asked


def test_a_failing_provider_trips_its_breaker(
    tmp_path: Path, pair: tuple[FakeLLM, FakeLLM]
) -> None:
    a, b = pair
    a.script = ["500"] * 100
    pdfs = []
    for n in range(4):
        pdf = tmp_path / f"doc{n}.pdf"
        pdf.write_bytes(make_pdf([["INVOICE", f"number {n}", "Total due: $10.00"]]))
        pdfs.append(str(pdf))
    env = {
        "BATON_DEMO_LLM_PROVIDERS": providers_env(("a", a), ("b", b), failures_to_open=3),
    }
    rows = json_rows(run_demo("--json", *pdfs, env=env))
    assert [r["analyzer"] for r in rows] == ["llm:b/fake-1"] * 4
    # without the breaker: 4 documents x 3 attempts = 12 requests to `a`; with it, the
    # 3 that open it plus at most one in flight per other document
    assert 3 <= len(a.seen) <= 6
