"""`baton demo` as a user runs it: the bundled samples, a table or one JSON object per
document, exit 0 when documents fail, offline and without keys."""

from __future__ import annotations

from pathlib import Path

from .conftest import json_rows, run_demo
from .pdfgen import make_pdf

SAMPLES = sorted(
    p.name for p in (Path(__file__).resolve().parents[2] / "baton/demo/samples").glob("*.pdf")
)


def test_samples_as_json() -> None:
    rows = json_rows(run_demo("--json"))
    assert [r["file"] for r in rows] == SAMPLES
    assert {r["status"] for r in rows} == {"succeeded"}
    scanned = next(r for r in rows if r["file"] == "samplefiles-grayscale-image.pdf")
    for r in rows:
        assert r["pages"] >= 1
        assert r["analyzer"] == ("offline" if r is not scanned else scanned["analyzer"])
    assert scanned["analyzer"].startswith("none: no text layer")
    assert scanned["image_only_pages"] == [1] and "OCR" in scanned["error"]
    register = next(r for r in rows if "federal-register" in r["file"])
    assert register["pages"] == 15 and register["document_type"] == "regulation"
    assert register["pii"].get("email", 0) >= 1  # contact addresses in the notice


def test_table_and_failures_are_outcomes(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-pdf.pdf"
    bad.write_bytes(b"<html><body>403 Forbidden</body></html>")
    good = tmp_path / "invoice.pdf"
    good.write_bytes(make_pdf([["INVOICE", "Bill to: Globex Corporation", "Total due: $10.00"]]))
    proc = run_demo(str(bad), str(good))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "offline extractor" in proc.stderr
    lines = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│" in line}
    assert "failed" in lines["not-a-pdf.pdf"] and "HTML page" in lines["not-a-pdf.pdf"]
    assert "succeeded" in lines["invoice.pdf"] and "invoice" in lines["invoice.pdf"]


def test_a_missing_file_is_reported_not_a_crash(tmp_path: Path) -> None:
    rows = json_rows(run_demo("--json", str(tmp_path / "nope.pdf")))
    assert rows[0]["status"] == "failed" and "cannot read" in rows[0]["error"]


def test_without_the_demo_extras_a_one_line_hint() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['phonenumbers'] = None\n"  # as if `baton[demo]` were absent
        "from baton.cli.main import cli\n"
        "cli(['demo'], prog_name='baton')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "baton demo needs the demo extras: pip install 'baton[demo]' (phonenumbers is missing)"
    ]


def test_long_documents_are_chunked_and_fanned_out() -> None:
    register = Path(__file__).resolve().parents[2] / "baton/demo/samples"
    [row] = json_rows(
        run_demo("--json", str(register / "pdfplumber-federal-register-2020-17221.pdf"))
    )
    assert row["status"] == "succeeded" and row["chunks"] >= 5  # 60,000 characters: ctx.map


def test_a_parse_past_its_timeout_is_killed_and_said(tmp_path: Path) -> None:
    slow = tmp_path / "long.pdf"  # 1,900 pages: several seconds of parsing
    lines = [f"line {i} of a long report with some words in it" for i in range(60)]
    slow.write_bytes(make_pdf([lines] * 1900))
    good = tmp_path / "small.pdf"
    good.write_bytes(make_pdf([["still fine"]]))
    env = {"BATON_DEMO_PARSE_TIMEOUT": "1.2"}
    rows = json_rows(run_demo("--json", str(slow), str(good), env=env))
    assert rows[0]["status"] == "failed"
    assert rows[0]["error"] == "reading the PDF took longer than 1.2 s and was stopped"
    assert rows[1]["status"] == "succeeded"  # the pool replaced the killed process


def test_the_same_file_twice_is_one_job(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(make_pdf([["same bytes"]]))
    b.write_bytes(a.read_bytes())
    first, second = json_rows(run_demo("--json", str(a), str(b)))
    assert first["job_id"] == second["job_id"] and second["duplicate"] is True
    assert first["status"] == second["status"] == "succeeded" and first["duplicate"] is False
