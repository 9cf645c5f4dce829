"""What every conformance test stands on: the store a backend provides, and small helpers.

Times are short leases and poll-with-deadline (`eventually`), never sleeps-and-hope and
never wall-clock thresholds, so the suite runs as fast as the backend and does not flake
under load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from ...backends import open_backend
from ...backends.protocol import Backend
from ...ids import uuid7
from ...models import Claimed, JobRecord, NewJob, Park, Status, StepRecord

T = TypeVar("T")

QUEUE = "conformance"
LONG = 30.0  # a lease that does not lapse during a test
SHORT = 0.05  # a lease that lapses almost at once
PATIENCE = 10.0  # how long `eventually` waits before it calls a test failed


# --- helpers ----------------------------------------------------------------------------


def new_job(**fields: Any) -> NewJob:
    """A job for the suite's queue; any NewJob field may be given."""
    fields.setdefault("id", uuid7())
    fields.setdefault("pipeline", "pipe")
    fields.setdefault("queue", QUEUE)
    fields.setdefault("args", "{}")
    return NewJob(**fields)


def child_jobs(parent: JobRecord, key: str, count: int, queue: str = QUEUE) -> list[NewJob]:
    """Children as the engine makes them: fresh ids, a stable idempotency key per index."""
    return [
        new_job(
            pipeline="child",
            queue=queue,
            tenant=parent.tenant,
            parent_id=parent.id,
            parent_key=key,
            parent_index=n,
            idempotency_key=f"{parent.id}:{key}:{n}",
        )
        for n in range(count)
    ]


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    what: str,
    timeout: float = PATIENCE,
    interval: float = 0.01,
) -> T:
    """Await `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def claim_job(
    backend: Backend,
    job_id: str,
    worker: str = "w",
    lease_for: float = LONG,
    queues: Sequence[str] = (QUEUE,),
) -> Claimed:
    """Claim until `job_id` comes back; claiming any other job is a test failure."""

    async def probe() -> Claimed | None:
        for claimed in await backend.claim(worker, queues, 1, lease_for):
            assert claimed.job.id == job_id, f"claimed {claimed.job.id}, expected {job_id}"
            return claimed
        return None

    return await eventually(probe, f"job {job_id} to be claimable")


async def ends_without_running(backend: Backend, job_id: str, status: Status) -> JobRecord:
    """Claim until the job ends as `status`; claiming it on the way is a test failure."""

    async def probe() -> JobRecord | None:
        assert [c.job.id for c in await backend.claim("w", [QUEUE], 1, LONG)] == []
        job = await backend.get_job(job_id)
        return job if job is not None and job.status == status else None

    return await eventually(probe, f"job {job_id} to end {status}")


async def enqueue_one(backend: Backend, **fields: Any) -> str:
    (done,) = await backend.enqueue([new_job(**fields)])
    assert done.created
    return done.id


async def job_of(backend: Backend, job_id: str) -> JobRecord:
    job = await backend.get_job(job_id)
    assert job is not None, f"job {job_id} is gone"
    return job


async def types_of(backend: Backend, job_id: str) -> list[str]:
    return [e.type for e in await backend.events(job_id)]


def error_of(job: JobRecord) -> dict[str, Any]:
    assert job.error is not None, f"job {job.id} has no error"
    value: dict[str, Any] = json.loads(job.error)
    return value


def step(
    key: str,
    status: str = "succeeded",
    result: str | None = "1",
    error: str | None = None,
    attempts: int = 1,
) -> StepRecord:
    return StepRecord(key, status, result=result, error=error, attempts=attempts)


class Harness:
    """The one thing a backend provides (`store_url`), and the fixtures built on it."""

    # --- what a backend provides ----------------------------------------------------------

    @pytest.fixture
    def store_url(self) -> str:
        """The URL of a fresh, empty store for one test. Override in the subclass."""
        raise NotImplementedError("override the `store_url` fixture in the backend's subclass")

    def open_backend(self, url: str) -> Backend:
        return open_backend(url)

    @contextlib.asynccontextmanager
    async def opened(self, url: str, migrate: bool = True) -> AsyncIterator[Backend]:
        backend = self.open_backend(url)
        try:
            if migrate:
                await backend.migrate()
            yield backend
        finally:
            await backend.aclose()

    @pytest.fixture
    async def backend(self, store_url: str) -> AsyncIterator[Backend]:
        async with self.opened(store_url) as backend:
            yield backend

    @pytest.fixture
    async def peer(self, store_url: str, backend: Backend) -> AsyncIterator[Backend]:
        """A second instance on the same store: another process's view of it."""
        async with self.opened(store_url) as other:
            yield other

    async def running(
        self, backend: Backend, worker: str = "w", lease_for: float = LONG, **fields: Any
    ) -> Claimed:
        """Enqueue one job and claim it."""
        job_id = await enqueue_one(backend, **fields)
        return await claim_job(backend, job_id, worker, lease_for)

    async def stolen(self, backend: Backend, **fields: Any) -> tuple[Claimed, Claimed]:
        """A job whose first lease lapsed and was claimed by worker "b": (old, new)."""
        old = await self.running(backend, "a", SHORT, **fields)
        new = await claim_job(backend, old.job.id, "b", LONG)
        return old, new

    async def parked(
        self, backend: Backend, count: int, key: str = "0:map", child_queue: str = QUEUE
    ) -> tuple[JobRecord, list[JobRecord]]:
        """A parent waiting on `count` queued children spawned at `key`."""
        parent = await self.running(backend, pipeline="parent")
        await backend.settle(
            parent.lease, Park(key, child_jobs(parent.job, key, count, child_queue))
        )
        return await job_of(backend, parent.job.id), await backend.children(parent.job.id, key)
