"""The public view of a job: what `get_job`, `wait` and the HTTP API return."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .models import JobRecord, Status, StepRecord, ts


def brief_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """An error without its traceback: what the HTTP API and webhooks show (the traceback
    stays in `baton jobs show`)."""
    return None if error is None else {k: v for k, v in error.items() if k != "traceback"}


@dataclass(frozen=True, slots=True)
class StepInfo:
    key: str
    status: str
    attempts: int
    error: dict[str, Any] | None
    worker: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def name(self) -> str:
        return self.key.split(":", 1)[-1]

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @classmethod
    def from_record(cls, rec: StepRecord) -> StepInfo:
        return cls(
            key=rec.key,
            status=rec.status,
            attempts=rec.attempts,
            error=None if rec.error is None else json.loads(rec.error),
            worker=rec.worker,
            started_at=ts(rec.started_at),
            finished_at=ts(rec.finished_at),
        )


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    pipeline: str
    queue: str
    tenant: str
    status: Status
    priority: int
    attempts: int
    progress: float
    progress_message: str | None
    current_step: str | None
    result: Any
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime
    idempotency_key: str | None = None
    parent_id: str | None = None
    callback_url: str | None = None
    steps: list[StepInfo] = field(default_factory=list)
    created: bool = True  # False when enqueue returned an existing job for its idempotency key

    @property
    def done(self) -> bool:
        return self.status.terminal

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_record(
        cls,
        rec: JobRecord,
        result: Any,
        steps: list[StepRecord] | None = None,
        created: bool = True,
    ) -> Job:
        return cls(
            id=rec.id,
            pipeline=rec.pipeline,
            queue=rec.queue,
            tenant=rec.tenant,
            status=rec.status,
            priority=rec.priority,
            attempts=rec.attempts,
            progress=rec.progress,
            progress_message=rec.progress_message,
            current_step=rec.current_step,
            result=result,
            error=None if rec.error is None else json.loads(rec.error),
            created_at=ts(rec.created_at),  # type: ignore[arg-type]
            started_at=ts(rec.started_at),
            finished_at=ts(rec.finished_at),
            run_at=ts(rec.run_at),  # type: ignore[arg-type]
            idempotency_key=rec.idempotency_key,
            parent_id=rec.parent_id,
            callback_url=rec.callback_url,
            steps=[StepInfo.from_record(s) for s in steps or []],
            created=created,
        )
