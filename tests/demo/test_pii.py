"""No raw PII anywhere: seed a document with it, run the whole app (sealed store, an LLM
provider), then grep everything baton stored, printed and sent for the raw values."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from .conftest import json_rows, providers_env, run_demo
from .fakellm import FakeLLM
from .pdfgen import make_pdf

RAW = [
    "jane.doe@example.com",
    "+1 415-555-0132",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "123-45-6789",
]


def _forms(value: str) -> set[bytes]:
    """The value as written and with separators dropped (how a number may be re-encoded)."""
    return {value.encode(), re.sub(r"[\s\-+()]", "", value).encode()}


def test_nothing_raw_is_stored_logged_returned_or_sent(tmp_path: Path, fake_llm: FakeLLM) -> None:
    pdf = tmp_path / "pii.pdf"
    lines = ["INVOICE", "Bill to: Globex Corporation"] + [f"Contact: {v}" for v in RAW]
    table = [
        f"{name:<14}{value:<31}{n}0.00"
        for name, value, n in zip("ABCD", RAW[:4], "1234", strict=True)
    ]
    table.insert(0, f"{'Name':<14}{'Contact':<31}Amount")
    pdf.write_bytes(make_pdf([lines, table, ["Total due: $10.00", f"Questions: {RAW[0]}"]]))
    assert all(v.encode() in pdf.read_bytes() for v in RAW)  # the seed is really there
    work = tmp_path / "work"
    env = {
        "BATON_DEMO_KEY": secrets.token_hex(32),
        "BATON_DEMO_LLM_PROVIDERS": providers_env(("fake", fake_llm)),
    }
    proc = run_demo("--json", "--workdir", str(work), str(pdf), env=env)
    [row] = json_rows(proc)
    assert row["status"] == "succeeded" and row["analyzer"] == "llm:fake/fake-1"
    assert row["pii"] == {"email": 3, "phone": 2, "card": 2, "iban": 2, "national_id": 1}
    assert row["tables"] == 1  # its cells are scrubbed too (and grepped below)

    stored = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in stored) and any("results" in p.parts for p in stored)
    sent = b"".join(str(s.body).encode() for s in fake_llm.seen)
    assert b"[EMAIL]" in sent and b"[CARD]" in sent
    places = {str(p): p.read_bytes() for p in stored}
    places |= {"stdout": proc.stdout.encode(), "stderr": proc.stderr.encode(), "llm": sent}
    for value in RAW:
        for form in _forms(value):
            hits = [name for name, data in places.items() if form in data]
            assert not hits, f"raw {value!r} found in {hits}"
