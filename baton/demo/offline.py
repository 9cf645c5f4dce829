"""The offline analyzer: rules and regular expressions instead of an LLM.

It runs when no LLM provider is configured (and stands in when every provider has given
up), so the demo needs no network and no keys. It is honest about what it is: every
result it makes says `analyzer="offline"`. It triages by keywords and extracts parties
(company names, labelled counterparties), dates (normalised to ISO 8601), amounts with
their currency, and the total.
"""

from __future__ import annotations

import re
from datetime import date

from .models import Amount, Analysis, Party

_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("invoice", ("invoice", "amount due", "bill to", "invoice number", "vat")),
    ("receipt", ("receipt", "thank you for your purchase", "paid with")),
    ("contract", ("agreement", "hereinafter", "party", "parties", "terms and conditions")),
    ("transcript", ("transcript", "oral argument", "proceedings", "appearances", "petitioner")),
    ("regulation", ("federal register", "rule", "regulation", "cfr", "agency")),
    ("report", ("report", "summary", "statistics", "totals", "quarterly", "annual")),
    ("form", ("application form", "please fill", "signature", "check one", "applicant")),
    ("letter", ("dear ", "sincerely", "regards")),
)
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split())}
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December)"
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_US = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_DATE_LONG = re.compile(_MONTH + r"\s+(\d{1,2}),?\s+(\d{4})", re.IGNORECASE)
_DATE_EU = re.compile(r"\b(\d{1,2})\.?\s+" + _MONTH + r"\s+(\d{4})", re.IGNORECASE)
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_AMOUNT = re.compile(
    r"(?P<pre>[$€£¥]|\b(?:USD|EUR|GBP|CHF|JPY)\b)\s?(?P<num>\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d{2})?)"
    r"|(?P<num2>\d{1,3}(?:[,.]\d{3})*(?:[.,]\d{2}))\s?(?P<post>[€£]|\b(?:USD|EUR|GBP|CHF)\b)"
)
_TOTAL = re.compile(r"\b(grand total|total due|amount due|total)\b", re.IGNORECASE)
_COMPANY = re.compile(
    r"\b([A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,4}\s+"
    r"(?:Inc\.?|LLC|Ltd\.?|GmbH|S\.A\.|S\.L\.|AG|plc|Corporation|Corp\.?|Company))"
)
_LABELLED = re.compile(
    r"^\s*(Bill to|Billed to|Sold to|Ship to|From|To|Seller|Buyer|Vendor|Customer|Client|"
    r"Petitioner|Respondent|Landlord|Tenant|Employer|Employee)\s*:\s*(.{3,80})$",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_ITEMS = 20


def analyze(text: str) -> Analysis:
    """Triage and extract fields from scrubbed text, by rules alone."""
    amounts = _amounts(text)
    return Analysis(
        document_type=_triage(text),
        parties=_parties(text),
        dates=_dates(text),
        amounts=amounts[:_MAX_ITEMS],
        total=_total(text),
        analyzer="offline",
    )


def _triage(text: str) -> str:
    low = text.lower()
    best, score = "unknown", 0
    for kind, words in _TYPES:
        hits = sum(len(re.findall(rf"\b{re.escape(w)}\b", low)) for w in words)
        if hits > score:
            best, score = kind, hits
    return best if score >= 2 else "unknown"


def _parties(text: str) -> list[Party]:
    seen: dict[str, Party] = {}
    for m in _LABELLED.finditer(text):
        name = m.group(2).strip().strip(",;")
        if "[" not in name:  # a placeholder is not a name
            seen.setdefault(name.lower(), Party(name=name, role=m.group(1).lower()))
    for m in _COMPANY.finditer(text):
        name = " ".join(m.group(1).split())
        seen.setdefault(name.lower(), Party(name=name))
    return list(seen.values())[:_MAX_ITEMS]


def _dates(text: str) -> list[str]:
    found: list[str] = []
    for y, mo, d in _DATE_ISO.findall(text):
        _add_date(found, int(y), int(mo), int(d))
    for mo, d, y in _DATE_US.findall(text):
        _add_date(found, int(y), int(mo), int(d))
    for mo, d, y in _DATE_LONG.findall(text):
        _add_date(found, int(y), _MONTHS[mo.lower()], int(d))
    for d, mo, y in _DATE_EU.findall(text):
        _add_date(found, int(y), _MONTHS[mo.lower()], int(d))
    return found[:_MAX_ITEMS]


def _add_date(found: list[str], y: int, mo: int, d: int) -> None:
    try:
        iso = date(y, mo, d).isoformat()
    except ValueError:
        return
    if iso not in found:
        found.append(iso)


def _amounts(text: str) -> list[Amount]:
    out: list[Amount] = []
    for m in _AMOUNT.finditer(text):
        value = _number(m.group("num") or m.group("num2"))
        if value is None:
            continue
        code = m.group("pre") or m.group("post")
        out.append(Amount(value=value, currency=_SYMBOLS.get(code, code)))
    return out


def _total(text: str) -> Amount | None:
    for line in reversed(text.splitlines()):
        if _TOTAL.search(line):
            amounts = _amounts(line)
            if amounts:
                last = amounts[-1]
                return Amount(value=last.value, currency=last.currency, label="total")
    return None


def _number(raw: str) -> float | None:
    """Read 1,234.56 / 1.234,56 / 1 234,56 by which separator comes last."""
    s = raw.replace(" ", "")
    if "," in s and "." in s:
        s = (
            s.replace(",", "")
            if s.rfind(".") > s.rfind(",")
            else s.replace(".", "").replace(",", ".")
        )
    elif "," in s:
        head, _, tail = s.rpartition(",")
        s = head.replace(",", "") + ("." + tail if len(tail) == 2 else tail)
    try:
        return float(s)
    except ValueError:
        return None
