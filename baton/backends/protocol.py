"""The one seam between baton and its stores.

Every method is one atomic state transition or one read, and every time it uses is the
backend's own clock (SQLite: the host's, shared by all its processes; PostgreSQL: `now()`;
Redis: `TIME`), never the caller's. Every write a worker makes takes its `Lease` and raises
`LeaseLost` when the token is stale or the job is no longer running, so a paused or
partitioned worker can never overwrite the new owner's work. State-change events are
written in the same transaction as the change, so a reader of the event log can never
miss one.

A new backend passes `baton.testing.conformance.BackendConformance` by subclassing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ..models import (
    Claimed,
    Enqueued,
    Event,
    JobFilter,
    JobRecord,
    Lease,
    NewJob,
    Outcome,
    Permit,
    QueueStats,
    StepRecord,
)


@runtime_checkable
class Backend(Protocol):
    url: str

    async def migrate(self) -> None:
        """Create or upgrade the schema. Idempotent; safe to call from many processes."""

    async def aclose(self) -> None:
        """Release connections and threads. The backend is unusable afterwards."""

    # --- producers ------------------------------------------------------------------

    async def enqueue(self, jobs: Sequence[NewJob]) -> list[Enqueued]:
        """Store jobs durably before returning, each with a `job.enqueued` event.

        A job whose (tenant, idempotency_key) already exists is not stored again: its
        existing id comes back with `created=False`.
        """

    async def cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """End a queued, waiting or running job as `cancelled`, and its unfinished children.

        A running job's lease is voided, so its worker's next write raises `LeaseLost`.
        Returns the job as it is afterwards (unchanged if already ended), None if unknown
        (or not in `tenant`).
        """

    async def retry(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """Queue a failed (or cancelled/expired) job again, keeping its saved steps.

        Failed step records are dropped so those steps run again; failed children are
        queued again too; the crash budget starts afresh.
        """

    # --- workers --------------------------------------------------------------------

    async def claim(
        self, worker: str, queues: Sequence[str], n: int, lease_for: float
    ) -> list[Claimed]:
        """Lease up to `n` runnable jobs, highest priority first, then oldest.

        Runnable: queued with run_at due, or running with an expired lease (the owner is
        presumed dead: this is the only crash recovery, and it needs no sweeper). Claiming
        an expired lease counts a crash against the job's current step; at `max_crashes`
        the job ends `failed` ("worker lost") instead. Queued jobs past their `expires_at`
        end `expired`; jobs past their deadline end `failed`. Each claim bumps the fencing
        token and counts an attempt (a wake-up from waiting or sleeping does not).
        """

    async def renew(self, worker: str, lease_for: float, leases: Sequence[Lease]) -> list[str]:
        """Extend `leases` (all held by `worker`) in one write; return the ids of those
        that are no longer ours (cancelled, or claimed by another worker). A lease the
        worker no longer lists is not extended: it lapses and the job is recovered."""

    async def lost(self, leases: Sequence[Lease]) -> list[str]:
        """Read-only: ids among `leases` that are no longer ours. Used to stop work at once."""

    async def steps(self, job_id: str) -> list[StepRecord]:
        """Every saved step record of a job."""

    async def start_step(self, lease: Lease, key: str) -> None:
        """Mark `key` as the step in flight (for the crash budget) and log `step.started`."""

    async def save_step(self, lease: Lease, record: StepRecord) -> None:
        """Save a step's checkpoint (succeeded, failed, or a failed attempt kept for the
        retry budget), with its event. A succeeded checkpoint is never overwritten."""

    async def progress(self, lease: Lease, fraction: float, message: str | None) -> None:
        """Update the job's progress and log `job.progress`."""

    async def settle(self, lease: Lease, outcome: Outcome) -> None:
        """Apply what happened to a leased job, ending the lease:

        Succeeded / Failed: terminal (a parent waiting on it is woken when its last child ends).
        RetryAt: queued again after a delay. Park: insert children, wait for them.
        Sleep: save the sleep step, queued again after the given seconds.
        Release: queued again at once, the attempt not counted.
        """

    async def children(self, job_id: str, parent_key: str) -> list[JobRecord]:
        """The children a pipeline spawned at one step, in their index order."""

    async def acquire(self, lease: Lease, permit: Permit) -> float | None:
        """Take a concurrency slot or rate token. None when taken, else seconds to wait.

        Concurrency slots are held until `release_permit` or until the holder's lease
        ends; a dead worker's slots free themselves.
        """

    async def release_permit(self, lease: Lease, permit: Permit) -> None:
        """Give back a concurrency slot."""

    async def pause_rate(self, name: str, seconds: float) -> None:
        """Empty a rate bucket for `seconds` for the whole fleet (a 429's Retry-After)."""

    async def wait_for_work(self, queues: Sequence[str], timeout: float) -> None:
        """Return when a job may have become runnable in `queues`, or after `timeout`."""

    # --- reads ----------------------------------------------------------------------

    async def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        """One job, or None if unknown or in another tenant."""

    async def list_jobs(self, filt: JobFilter) -> list[JobRecord]:
        """Jobs matching the filter, newest first."""

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[Event]:
        """A job's events with seq > after, in order."""

    async def queue_stats(self, tenant: str | None = None) -> list[QueueStats]:
        """Per queue: jobs in each status and the oldest due job's age (all tenants, or one)."""

    async def pending(self, queues: Sequence[str]) -> int:
        """Jobs in `queues` not yet ended (queued, running or waiting)."""

    def describe(self) -> dict[str, Any]:
        """A few facts for logs and /healthz (kind, location)."""
