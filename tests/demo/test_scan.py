"""The pre-flight refuses what is not a PDF, too big, too many pages, or a bomb, from raw
bytes alone."""

from __future__ import annotations

import zlib

from baton.demo.models import Limits
from baton.demo.scan import scan

from .pdfgen import make_pdf


def _with_stream(dict_text: str, body: bytes) -> bytes:
    pdf = make_pdf([["hello"]])
    extra = b"9 0 obj\n" + dict_text.encode() + b"\nstream\n" + body + b"\nendstream\nendobj\n"
    return pdf.replace(b"xref\n", extra + b"xref\n", 1)


def test_a_plain_pdf_passes_and_its_pages_are_counted() -> None:
    report = scan(make_pdf([["one"], ["two"], ["three"]]), Limits())
    assert report.ok and report.reason is None
    assert report.pages == 3 and not report.encrypted


def test_empty_and_oversized_files_are_refused() -> None:
    assert scan(b"", Limits()).reason == "the file is empty"
    big = scan(make_pdf([["x"]]), Limits(max_bytes=100))
    assert not big.ok and "the limit is" in (big.reason or "")


def test_other_formats_are_named() -> None:
    cases = {
        b"\x89PNG\r\n\x1a\n....": "a PNG image",
        b"PK\x03\x04....": "a ZIP archive",
        b"<!DOCTYPE html><html><body>403 Forbidden</body></html>": "an HTML page",
        b"oops\n": "does not start with a PDF header",
    }
    for data, words in cases.items():
        report = scan(data, Limits())
        assert not report.ok and words in (report.reason or ""), (data, report.reason)
        assert (report.reason or "").startswith("not a PDF")


def test_too_many_pages_is_refused_before_any_parser() -> None:
    report = scan(make_pdf([["p"]] * 12), Limits(max_pages=10))
    assert not report.ok and report.reason == "the PDF has 12 pages; the limit is 10"


def test_pages_hidden_in_object_streams_are_counted() -> None:
    objstm = zlib.compress(b"<< /Type /Page >> " * 50)
    data = _with_stream(
        f"<< /Type /ObjStm /N 50 /Filter /FlateDecode /Length {len(objstm)} >>", objstm
    )
    report = scan(data, Limits(max_pages=40))
    assert not report.ok and "51 pages" in (report.reason or "")


def test_a_nested_flate_bomb_is_caught_within_the_cap() -> None:
    inner = zlib.compress(b"\0" * (8 * 1024 * 1024), 9)
    outer = zlib.compress(inner, 9)
    dict_text = f"<< /Filter [/FlateDecode /FlateDecode] /Length {len(outer)} >>"
    report = scan(_with_stream(dict_text, outer), Limits(max_stream_bytes=1024 * 1024))
    assert not report.ok and "decompression bomb" in (report.reason or "")
    fine = scan(_with_stream(dict_text, outer), Limits())  # 8 MiB is within the default
    assert fine.ok and fine.inflated_bytes >= 8 * 1024 * 1024


def test_an_image_declaring_huge_dimensions_is_refused() -> None:
    dict_text = "<< /Type /XObject /Subtype /Image /Width 200000 /Height 200000 /Length 3 >>"
    report = scan(_with_stream(dict_text, b"abc"), Limits())
    assert not report.ok and "200,000 x 200,000 pixels" in (report.reason or "")


def test_encryption_is_noticed() -> None:
    data = make_pdf([["x"]]).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 9 0 R")
    assert scan(data, Limits()).encrypted


def test_a_file_of_stream_keywords_is_bounded() -> None:
    from baton.demo import scan as scan_module

    data = b"%PDF-1.4\n" + b"1 0 obj << /Filter /FlateDecode >> stream\nxx\n" * 3000
    report = scan(data, Limits())
    assert report.ok  # no endstream anywhere: each stream runs to the end, found by bisect
    old = scan_module.MAX_STREAMS
    scan_module.MAX_STREAMS = 1000
    try:
        assert scan(data, Limits()).reason == "the PDF has more than 1,000 streams"
    finally:
        scan_module.MAX_STREAMS = old
