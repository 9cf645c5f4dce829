"""Parsing of limit specs such as rate_limit="60/minute"."""

from __future__ import annotations

_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def parse_rate(spec: str) -> tuple[int, float]:
    """'60/minute' -> (60, 60.0); '5/10s' -> (5, 10.0)."""
    try:
        count_s, unit = spec.replace(" ", "").split("/", 1)
        count = int(count_s)
        digits = ""
        while unit and (unit[0].isdigit() or unit[0] == "."):
            digits, unit = digits + unit[0], unit[1:]
        unit = unit.rstrip("s") if unit not in ("s",) and unit.endswith("s") else unit
        per = float(digits or 1) * _UNITS[unit]
    except (ValueError, KeyError):
        raise ValueError(f"bad rate limit {spec!r}: expected e.g. '60/minute' or '5/10s'") from None
    if count < 1 or per <= 0:
        raise ValueError(f"bad rate limit {spec!r}: count and period must be positive")
    return count, per
