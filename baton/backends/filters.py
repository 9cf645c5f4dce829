"""SQL shared by the SQL backends: the WHERE clause of `list_jobs`, built from fixed column
names only (every value is a parameter), in each driver's placeholder style."""

from __future__ import annotations

from typing import Any

from ..models import JobFilter


def job_filter_sql(filt: JobFilter, mark: str) -> tuple[str, list[Any]]:
    """(" WHERE …" or "", values) for `filt`, with `mark` ("?" or "%s") as each placeholder."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("tenant", filt.tenant),
        ("pipeline", filt.pipeline),
        ("queue", filt.queue),
        ("parent_id", filt.parent_id),
        ("status", filt.status.value if filt.status else None),
    ):
        if value is not None:
            clauses.append(f"{column} = {mark}")
            params.append(value)
    if filt.before is not None:
        clauses.append(f"id < {mark}")
        params.append(filt.before)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
