"""PII is found by validators, not just shapes, and replaced by placeholders."""

from __future__ import annotations

from baton.demo.scrub import scrub

PII = {
    "email": ["jane.doe@example.com", "ops+billing@sub.example.co.uk"],
    "phone": ["+1 415-555-0132", "(650) 253-0000", "+44 20 7946 0958", "+34 612 345 678"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
    "national_id": ["123-45-6789", "12345678Z", "X1234567L"],
}


def test_every_kind_is_replaced_and_counted() -> None:
    for kind, values in PII.items():
        for value in values:
            out = scrub(f"Contact: {value}, thanks.")
            assert value not in out.text, (kind, value, out.text)
            assert out.counts == {kind: 1}, (kind, value, out.counts)
            assert f"[{kind.upper()}]" in out.text


def test_lookalikes_are_kept() -> None:
    text = (
        "Invoice 2024-03-15, order 1234567890123, total USD 1,234.56, page 12 of 40, "
        "card 4111 1111 1111 1112 (bad Luhn), IBAN DE00 3704 0044 0532 0130 00 (bad check)."
    )
    out = scrub(text)
    assert out.text == text and not out.counts


def test_counts_add_up_in_a_document() -> None:
    text = "a@example.com b@example.com\n+1 415-555-0132\nSSN 123-45-6789"
    out = scrub(text)
    assert dict(out.counts) == {"email": 2, "phone": 1, "national_id": 1}
    assert out.text == "[EMAIL] [EMAIL]\n[PHONE]\nSSN [NATIONAL_ID]"


def test_region_decides_national_numbers() -> None:
    assert scrub("call 612 345 678", region="ES").counts == {"phone": 1}
