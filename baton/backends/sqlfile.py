"""Named SQL queries kept in `.sql` files (`-- name: claim_due` headers), as Procrastinate does."""

from __future__ import annotations

import re
from importlib import resources

_HEADER = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def load_queries(
    package: str, filename: str = "queries.sql", columns: dict[str, str] | None = None
) -> dict[str, str]:
    """Queries by name. `{name}` in the text is replaced by `columns[name]` (a column list
    kept in step with a record class, so rows map to it by position)."""
    text = resources.files(package).joinpath(filename).read_text()
    for name, value in (columns or {}).items():
        text = text.replace("{" + name + "}", value)
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        queries[name] = body.strip().rstrip(";")
    return queries


def migrations(package: str) -> list[tuple[int, str]]:
    """(version, sql) for every `NNNN_*.sql` in the package's `migrations/` folder, in order."""
    folder = resources.files(package).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text()))
    return sorted(found)
