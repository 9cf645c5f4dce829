"""PII scrubbing: find emails, phone numbers, card numbers, IBANs and national ids, and
replace each with a placeholder such as `[EMAIL]`.

Candidates are found by loose patterns, then confirmed by the well-kept validators:
`phonenumbers` (Google's libphonenumber) for phones, `python-stdnum` for IBANs (mod 97),
card numbers (Luhn) and national ids (US SSN, Spanish DNI/NIE, French NIR, Italian codice
fiscale, Dutch BSN, German IdNr). Only the placeholder and a count by kind come out: the
raw values are never returned, logged or stored. Runs inside the parse step, so raw text
never reaches a checkpoint.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.us import ssn

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
CARD = re.compile(  # 13-19 digits together, or in the groups cards are printed in
    r"\b(?:\d{4}[ \-]){3}\d{4}(?:[ \-]?\d{3})?\b|\b\d{4}[ \-]\d{6}[ \-]\d{5}\b|\b\d{13,19}\b"
)
NATIONAL = re.compile(
    r"\b\d{3}-\d{2}-\d{4}\b"  # US SSN
    r"|\b[XYZ]?\d{7,8}[A-Z]\b"  # ES DNI / NIE
    r"|\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b"  # IT codice fiscale
    r"|\b[12]\d{12}(?:\s?\d{2})?\b"  # FR NIR (with key)
    r"|\b\d{9}\b|\b\d{11}\b"  # NL BSN, DE IdNr (checksummed, so digits alone are not enough)
)
_NATIONAL_CHECKS: tuple[Callable[[str], bool], ...] = (
    ssn.is_valid,
    dni.is_valid,
    nie.is_valid,
    codicefiscale.is_valid,
    nir.is_valid,
    bsn.is_valid,
    idnr.is_valid,
)


@dataclass(slots=True)
class Scrubbed:
    text: str
    counts: Counter[str] = field(default_factory=Counter)


def phone_region() -> str:
    """The region for numbers written without a country code ($BATON_DEMO_PHONE_REGION)."""
    return os.environ.get("BATON_DEMO_PHONE_REGION", "US").upper()


def scrub(text: str, region: str | None = None) -> Scrubbed:
    """Replace PII in `text` with placeholders; count what was replaced, by kind."""
    counts: Counter[str] = Counter()
    text = _replace(EMAIL, text, "EMAIL", counts, lambda s: True)
    text = _replace(IBAN, text, "IBAN", counts, lambda s: iban.is_valid(s))
    text = _replace(CARD, text, "CARD", counts, _is_card)
    text = _replace(NATIONAL, text, "NATIONAL_ID", counts, _is_national_id)
    text = _phones(text, region or phone_region(), counts)
    return Scrubbed(text, counts)


def _replace(
    pattern: re.Pattern[str],
    text: str,
    kind: str,
    counts: Counter[str],
    valid: Callable[[str], bool],
) -> str:
    def sub(match: re.Match[str]) -> str:
        if not valid(match.group(0)):
            return match.group(0)
        counts[kind.lower()] += 1
        return f"[{kind}]"

    return pattern.sub(sub, text)


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and digits[0] in "2345689" and luhn.is_valid(digits)


def _is_national_id(candidate: str) -> bool:
    for check in _NATIONAL_CHECKS:
        try:
            if check(candidate):
                return True
        except Exception:  # a validator that cannot parse this shape at all
            continue
    return False


def _phones(text: str, region: str, counts: Counter[str]) -> str:
    """Phone numbers by libphonenumber's matcher: valid, dialable numbers whose digit groups
    are written as the country writes them (STRICT_GROUPING), so runs of table figures that
    happen to form a valid number are left alone."""
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(
            text, region, phonenumbers.Leniency.STRICT_GROUPING
        )
    ]
    for start, end in reversed(spans):
        text = text[:start] + "[PHONE]" + text[end:]
    if spans:
        counts["phone"] += len(spans)
    return text
