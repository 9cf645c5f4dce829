"""The offline analyzer: triage and fields by rules, and it says it is offline."""

from __future__ import annotations

from baton.demo.offline import analyze
from baton.demo.pipeline import make_chunks, merge

INVOICE = """INVOICE
Invoice number 117
Bill to: Globex Corporation
From: Acme Widgets Inc.
Date: March 15, 2024   Due 2024-04-14
Widgets 10 x $12.50  $125.00
VAT 21% 26,25 EUR
Total due: $1,234.56
"""


def test_an_invoice() -> None:
    a = analyze(INVOICE)
    assert a.analyzer == "offline" and a.document_type == "invoice"
    assert [(p.name, p.role) for p in a.parties] == [
        ("Globex Corporation", "bill to"),
        ("Acme Widgets Inc.", "from"),
    ]
    assert sorted(a.dates) == ["2024-03-15", "2024-04-14"]
    assert (a.total and a.total.value, a.total and a.total.currency) == (1234.56, "USD")
    assert {(x.value, x.currency) for x in a.amounts} >= {(125.0, "USD"), (26.25, "EUR")}
    assert a.fields_found == len(a.parties) + len(a.dates) + len(a.amounts) + 1


def test_nothing_to_find() -> None:
    a = analyze("lorem ipsum dolor sit amet")
    assert a.document_type == "unknown" and a.fields_found == 0


def test_placeholders_are_not_parties() -> None:
    assert analyze("Bill to: [EMAIL]\nTotal $5.00").parties == []


def test_chunks_and_merge() -> None:
    pages = ["x" * 7000, "y" * 7000, "z" * 30000, ""]
    chunks = make_chunks(pages)
    assert [len(c.text) for c in chunks] == [7000, 7000, 12000, 12000, 6000]
    assert [c.index for c in chunks] == list(range(5))
    merged = merge([analyze(INVOICE), analyze(INVOICE), analyze("nothing here")])
    assert merged.document_type == "invoice" and merged.analyzer == "offline"
    assert len(merged.parties) == 2  # de-duplicated across chunks
