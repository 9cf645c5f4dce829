"""Parsing under limits: page failures kept apart, password and damage explained, and the
memory and CPU limits turning a runaway parse into a reason (in a child process, as in
production, so the test runner's own limits are never touched)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from baton.demo.models import Limits
from baton.demo.parse import Unreadable, explain, extract_pages

from .conftest import ROOT, corpus_dir
from .pdfgen import make_pdf


def test_text_per_page() -> None:
    found = extract_pages(make_pdf([["first page"], ["second page"]]), Limits())
    assert found.count == 2
    assert [t.strip() for t in found.texts] == ["first page", "second page"]
    assert not found.failed and not found.image_only and not found.truncated


def test_output_is_cut_at_the_text_limit() -> None:
    found = extract_pages(make_pdf([["a" * 80] * 20] * 3), Limits(max_text_chars=1000))
    assert found.truncated
    assert sum(map(len, found.texts)) == 1000 and len(found.texts) == 3


def test_damage_and_passwords_have_plain_reasons() -> None:
    with pytest.raises(Unreadable, match="cut off"):
        extract_pages(make_pdf([["x"]])[:200], Limits())
    pdfs = corpus_dir()
    with pytest.raises(Unreadable, match="password-protected"):
        extract_pages((pdfs / "qpdf-20-pages.pdf").read_bytes(), Limits())
    found = extract_pages((pdfs / "pypdf-r2-empty-password.pdf").read_bytes(), Limits())
    assert found.count == 1  # an empty user password opens like any other PDF


def test_one_bad_page_is_reported_and_the_rest_kept() -> None:
    found = extract_pages((corpus_dir() / "pdfjs-bomb_giant.pdf").read_bytes(), Limits())
    assert [f.page for f in found.failed] == [1]
    assert "JBIG2" in found.failed[0].reason


def test_image_only_pages_are_said() -> None:
    found = extract_pages((corpus_dir() / "samplefiles-grayscale-image.pdf").read_bytes(), Limits())
    assert found.image_only == [1]


def test_explain_keeps_to_one_line() -> None:
    reason = explain(ValueError("line one\nline two " + "x" * 500))
    assert "\n" not in reason and len(reason) < 220


def _limited_parse(path: Path, **limits: int) -> dict[str, str]:
    code = (
        "import json, sys\n"
        "from baton.demo.models import Limits\n"
        "from baton.demo.parse import Unreadable, extract_pages\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "try:\n"
        "    extract_pages(data, Limits(**json.loads(sys.argv[2])))\n"
        "    print(json.dumps({'ok': 'yes'}))\n"
        "except Unreadable as exc:\n"
        "    print(json.dumps({'reason': str(exc)}))\n"
        "extract_pages(data, Limits())  # limits restored: the process is still usable\n"
        "print(json.dumps({'after': 'ok'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), json.dumps(limits)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = out.stdout.splitlines()
    assert json.loads(second) == {"after": "ok"}
    result: dict[str, str] = json.loads(first)
    return result


def test_memory_limit_becomes_a_reason() -> None:
    result = _limited_parse(
        corpus_dir() / "samplefiles-GeoTopo-komprimiert.pdf", memory_bytes=2**20
    )
    assert result == {"reason": "the PDF needs more than 1 MiB of memory to read"}


def test_cpu_limit_becomes_a_reason() -> None:
    big = corpus_dir() / "samplefiles-GeoTopo-komprimiert.pdf"  # ~2 s of CPU in pypdf
    result = _limited_parse(big, cpu_seconds=0)
    assert result == {"reason": "reading the PDF used more than 0 s of CPU and was stopped"}


def test_parsing_on_a_thread_works_without_the_cpu_limit() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        found = pool.submit(extract_pages, make_pdf([["on a thread"]]), Limits()).result()
    assert found.texts[0].strip() == "on a thread"
