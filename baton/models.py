"""Plain data shared by every layer: job states, records the backends return, settle outcomes.

Payloads cross the backend seam as JSON text (`str`); decoding by type hints happens in the
engine, so a backend never needs to know user types.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class Status(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})
TERMINAL_VALUES = tuple(s.value for s in TERMINAL)
TERMINAL_EVENTS = frozenset(f"job.{s.value}" for s in TERMINAL)  # the event that ends a job


def ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class NewJob:
    """What `enqueue` stores. Times are relative so the backend applies its own clock."""

    id: str
    pipeline: str
    queue: str
    args: str  # JSON
    tenant: str = "default"
    priority: int = 0
    delay: float = 0.0
    expires_in: float | None = None
    idempotency_key: str | None = None
    callback_url: str | None = None
    timeout: float | None = None  # job deadline, counted from first start
    max_crashes: int = 3
    parent_id: str | None = None
    parent_key: str | None = None
    parent_index: int | None = None


@dataclass(frozen=True, slots=True)
class Enqueued:
    id: str
    created: bool  # False when an existing job was returned for the idempotency key


@dataclass(slots=True)
class JobRecord:
    id: str
    pipeline: str
    queue: str
    tenant: str
    args: str
    status: Status
    priority: int
    run_at: float
    attempts: int
    created_at: float
    idempotency_key: str | None = None
    parent_id: str | None = None
    parent_key: str | None = None
    parent_index: int | None = None
    progress: float = 0.0
    progress_message: str | None = None
    current_step: str | None = None
    result: str | None = None  # JSON
    error: str | None = None  # JSON
    callback_url: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    deadline_at: float | None = None
    timeout: float | None = None
    max_crashes: int = 3
    lease_owner: str | None = None
    lease_token: int = 0
    lease_expires: float | None = None
    crash_step: str | None = None
    crash_count: int = 0


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of ownership carried by every worker write (the fencing token)."""

    job_id: str
    token: int
    owner: str


@dataclass(frozen=True, slots=True)
class Claimed:
    job: JobRecord
    lease: Lease
    fresh: bool  # first claim ever: no step can be saved yet, skip reading them


@dataclass(slots=True)
class StepRecord:
    key: str  # "<call index>:<step name>", deterministic given the pipeline's code
    status: str  # "succeeded" | "failed" | "retrying" | "running"
    result: str | None = None  # JSON
    error: str | None = None  # JSON
    attempts: int = 0
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    job_id: str
    seq: int
    type: str
    at: float
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.seq,
            "type": self.type,
            "job_id": self.job_id,
            "at": ts(self.at).isoformat(),  # type: ignore[union-attr]
            **self.data,
        }


# --- settle outcomes: what a worker says happened to the job it leased ------------------


@dataclass(frozen=True, slots=True)
class Succeeded:
    result: str  # JSON
    step: StepRecord | None = None  # a task's single step, saved in the same transaction


@dataclass(frozen=True, slots=True)
class Failed:
    error: str  # JSON
    step: StepRecord | None = None


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Give the slot back and run again after `delay` seconds (a long backoff)."""

    delay: float
    step: StepRecord | None = None


@dataclass(frozen=True, slots=True)
class Park:
    """Wait for children: insert them (idempotently) and sleep until the last of the
    children spawned at step `key` ends."""

    key: str
    children: Sequence[NewJob]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Durable `ctx.sleep`: save the step and park the job until `seconds` from now."""

    step_key: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Release:
    """Graceful shutdown: hand the job back at once, without counting a crash."""


Outcome = Succeeded | Failed | RetryAt | Park | Sleep | Release


@dataclass(frozen=True, slots=True)
class Permit:
    """A fleet-wide limit to pass before a step runs.

    kind "concurrency": at most `limit` holders of (name, key) at once.
    kind "rate": a token bucket of `limit` tokens refilled over `per` seconds.
    """

    kind: str
    name: str
    limit: int
    key: str = ""
    per: float = 1.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue: str
    queued: int
    running: int
    waiting: int
    failed: int
    oldest_queued_age: float | None
    succeeded: int = 0
    cancelled: int = 0
    expired: int = 0


@dataclass(frozen=True, slots=True)
class JobFilter:
    tenant: str | None = None
    status: Status | None = None
    pipeline: str | None = None
    queue: str | None = None
    parent_id: str | None = None
    limit: int = 50
    before: str | None = None  # cursor: list jobs with id < before (newest first)
