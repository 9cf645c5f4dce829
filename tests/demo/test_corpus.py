"""Every file of the shared PDF corpus (hostile ones included) through the real pipeline on
a real worker with its process pool: each ends `succeeded` or `failed` with a one-line
reason, in bounded time and memory, and no worker or parser process is lost."""

from __future__ import annotations

import csv
import resource
import time

from .conftest import corpus_dir, json_rows, run_demo

EXPECTED_FAILURE = {  # file -> words its reason must contain
    "synthetic-flate-bomb-2gib.pdf": "decompression bomb",
    "synthetic-image-dimension-bomb.pdf": "decompression bomb",
    "synthetic-100k-pages.pdf": "100,000 pages",
    "synthetic-10k-pages.pdf": "10,000 pages",
    "pdfplumber-password-example.pdf": "password-protected",
    "samplefiles-libreoffice-writer-password.pdf": "password-protected",
    "qpdf-20-pages.pdf": "password-protected",
    "samplefiles-smile-png-named.pdf": "not a PDF: the file is a PNG image",
    "samplefiles-odt-zip-named.pdf": "not a PDF: the file is a ZIP archive",
    "synthetic-html-error-page-named.pdf": "not a PDF: the file is an HTML page",
    "qpdf-bad1-not-a-pdf.pdf": "not a PDF",
    "pdfplumber-empty-0-bytes.pdf": "the file is empty",
    "truncated-warn-report-first-1kb.pdf": "cut off",
    "truncated-scotus-minus-last-64-bytes.pdf": "cut off",
    "truncated-federal-register-50pct.pdf": "cut off",
    "qpdf-pages-loop.pdf": "loops back",
    "qpdf-deep-pages.pdf": "nested too deeply",
    "pdfjs-bomb_giant.pdf": "JBIG2",
}
EXPECTED_SUCCESS = {
    "synthetic-deep-nesting-50k.pdf",  # the deep nesting is never read for text
    "pypdf-r2-empty-password.pdf",  # encrypted with an empty user password
    "pypdf-r6-user-password.pdf",  # its owner password is empty: pypdf opens it with that
    "pdfplumber-nics-background-checks-2015-11-rotated.pdf",
}
PEAK_LIMIT = 1536 * 1024 * 1024  # the parent, the worker and every parser process


def test_the_whole_corpus() -> None:
    pdfs = corpus_dir()
    with (pdfs / "manifest.csv").open() as f:
        manifest = list(csv.DictReader(f))
    files = [pdfs / row["filename"] for row in manifest]
    started = time.monotonic()
    rows = {r["file"]: r for r in json_rows(run_demo("--json", *map(str, files), timeout=400))}
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"corpus: {len(files)} files in {elapsed:.1f} s, peak RSS {peak / 2**20:.0f} MiB")

    assert sorted(rows) == sorted(f.name for f in files)
    for row in manifest:
        r = rows[row["filename"]]
        assert r["status"] in ("succeeded", "failed"), r
        if row["category"] == "normal":
            assert r["status"] == "succeeded", r
        if r["status"] == "failed":
            reason = r["error"] or ""
            assert reason and "\n" not in reason and len(reason) < 200, r
            assert "Traceback" not in reason and "worker lost" not in reason, r
            assert "died" not in reason and "longer than" not in reason, r
    for name, words in EXPECTED_FAILURE.items():
        assert rows[name]["status"] == "failed" and words in rows[name]["error"], rows[name]
    for name in EXPECTED_SUCCESS:
        assert rows[name]["status"] == "succeeded", rows[name]
    assert peak < PEAK_LIMIT
