"""Between baton's records and the Redis hashes and JSON the Lua scripts read and write.

A job is one hash whose fields are JobRecord's names (absent when None) plus a few of the
scripts' own (`woken`, `waiting_for`, `rkey`); every value is a string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from ...models import Event, JobRecord, NewJob, Status, StepRecord

FIELDS = tuple(JobRecord.__dataclass_fields__)
_INTS = frozenset(
    {"priority", "attempts", "parent_index", "max_crashes", "lease_token", "crash_count"}
)
_FLOATS = frozenset(
    {
        "run_at",
        "created_at",
        "progress",
        "started_at",
        "finished_at",
        "expires_at",
        "deadline_at",
        "timeout",
        "lease_expires",
    }
)
_STATUS = {s.value: s for s in Status}
_STEP_FIELDS = tuple(StepRecord.__dataclass_fields__)


def pairs(flat: Sequence[Any]) -> dict[str, str]:
    """A flat [field, value, ...] reply (HGETALL inside a script) as a dict."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def _converter(name: str) -> Callable[[str], Any]:
    if name in _INTS:
        return int
    if name in _FLOATS:
        return float
    if name == "status":
        return _STATUS.__getitem__
    return str


_CONVERT = tuple((name, _converter(name)) for name in FIELDS)


def job_from_hash(h: dict[str, str]) -> JobRecord:
    return JobRecord(**{name: conv(h[name]) for name, conv in _CONVERT if name in h})


def job_from_values(values: Sequence[str | None]) -> JobRecord:
    """A job read by HMGET of FIELDS (what the scripts return): values in that order."""
    return JobRecord(
        **{
            name: conv(value)
            for (name, conv), value in zip(_CONVERT, values, strict=True)
            if value is not None
        }
    )


def new_job_data(job: NewJob) -> dict[str, Any]:
    """A NewJob as the scripts' `insert` reads it: None fields left out. The timeout goes
    as text so the deadline error quotes it as Python wrote it."""
    data: dict[str, Any] = {
        "id": job.id,
        "pipeline": job.pipeline,
        "queue": job.queue,
        "tenant": job.tenant,
        "args": job.args,
        "priority": job.priority,
        "delay": job.delay,
        "max_crashes": job.max_crashes,
    }
    optional = {
        "expires_in": job.expires_in,
        "idempotency_key": job.idempotency_key,
        "callback_url": job.callback_url,
        "timeout": None if job.timeout is None else repr(float(job.timeout)),
        "parent_id": job.parent_id,
        "parent_key": job.parent_key,
        "parent_index": job.parent_index,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def jobs_json(jobs: Sequence[NewJob]) -> str:
    return json.dumps([new_job_data(j) for j in jobs])


def step_json(record: StepRecord | None) -> str:
    if record is None:
        return ""
    data = {k: getattr(record, k) for k in _STEP_FIELDS}
    return json.dumps({k: v for k, v in data.items() if v is not None})


def step_from_json(text: str) -> StepRecord:
    data = json.loads(text)
    return StepRecord(**{k: data[k] for k in _STEP_FIELDS if k in data})


def step_order(record: StepRecord) -> tuple[int, float]:
    """Steps in call order, as SQLite sorts them (the key's leading call index)."""
    head = record.key.split(":", 1)[0]
    return (int(head) if head.isdigit() else 0, record.finished_at or 0.0)


def event_from_entry(job_id: str, seq: int, entry: str) -> Event:
    """Entry `seq` of a job's event list: "type<TAB>at<TAB>data JSON"."""
    typ, at, data = entry.split("\t", 2)
    return Event(job_id, seq, typ, float(at), json.loads(data))
