"""The API's request and response bodies. They are the OpenAPI schema, so they say what
each field means."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from ..job import Job, StepInfo, brief_error
from ..models import QueueStats, Status


class EnqueueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: dict[str, Any] = Field(
        default_factory=dict, description="The pipeline's parameters by name."
    )
    priority: int | None = Field(
        None, ge=-1000, le=1000, description="Higher runs first; default: the pipeline's."
    )
    delay: float | None = Field(
        None, ge=0, le=366 * 86400, description="Seconds to wait before the job may start."
    )
    expires: float | None = Field(
        None, gt=0, le=366 * 86400, description="Seconds it may wait to start before `expired`."
    )
    callback_url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2048)] | None = Field(
        None,
        description="Gets a signed POST when the job ends. Loopback, link-local and private "
        "addresses are refused unless the server allows them.",
    )


class Enqueued(BaseModel):
    id: str
    status: Status
    created: bool = Field(description="False when the Idempotency-Key matched an earlier job.")
    status_url: str
    events_url: str


class StepOut(BaseModel):
    key: str
    name: str
    status: str
    attempts: int
    error: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = Field(None, description="Seconds from first start to end.")

    @classmethod
    def of(cls, step: StepInfo) -> StepOut:
        return cls(
            key=step.key,
            name=step.name,
            status=step.status,
            attempts=step.attempts,
            error=brief_error(step.error),
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration=step.duration,
        )


class DeliveryOut(BaseModel):
    id: str = Field(description="Stable across retries: sent as Baton-Delivery.")
    status: Status
    attempts: int
    response_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class JobSummary(BaseModel):
    id: str
    pipeline: str
    queue: str
    status: Status
    priority: int
    attempts: int
    progress: float
    progress_message: str | None = None
    current_step: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    status_url: str

    @classmethod
    def of(cls, job: Job, status_url: str) -> JobSummary:
        return cls(
            id=job.id,
            pipeline=job.pipeline,
            queue=job.queue,
            status=job.status,
            priority=job.priority,
            attempts=job.attempts,
            progress=job.progress,
            progress_message=job.progress_message,
            current_step=job.current_step,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            status_url=status_url,
        )


class JobOut(JobSummary):
    result: Any = None
    error: dict[str, Any] | None = Field(None, description="The last error: type, message, step.")
    run_at: datetime
    idempotency_key: str | None = None
    parent_id: str | None = None
    callback_url: str | None = None
    steps: list[StepOut] = []
    deliveries: list[DeliveryOut] = []
    events_url: str


class JobPage(BaseModel):
    jobs: list[JobSummary]
    next: str | None = Field(None, description="Pass as `before` for the next page.")


class QueueOut(BaseModel):
    queue: str
    depth: int = Field(description="Queued jobs (due or delayed).")
    running: int
    waiting: int = Field(description="Parked on children or a durable sleep.")
    failed: int
    succeeded: int
    cancelled: int
    expired: int
    oldest_waiting_age: float | None = Field(
        None, description="Seconds the oldest due job has waited to start."
    )

    @classmethod
    def of(cls, s: QueueStats) -> QueueOut:
        return cls(
            queue=s.queue,
            depth=s.queued,
            running=s.running,
            waiting=s.waiting,
            failed=s.failed,
            succeeded=s.succeeded,
            cancelled=s.cancelled,
            expired=s.expired,
            oldest_waiting_age=s.oldest_queued_age,
        )


class Health(BaseModel):
    """`/healthz` is public: it says whether the store answers and its kind, nothing more."""

    status: Literal["ok", "unavailable"]
    backend: str  # sqlite, postgres or redis
    code: str | None = None  # when unavailable: backend_unavailable, as every 503 body
    message: str | None = None
