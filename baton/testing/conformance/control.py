"""Cancel, retry, queue expiry and job deadlines."""

from __future__ import annotations

import pytest

from ...backends.protocol import Backend
from ...errors import LeaseLost
from ...ids import uuid7
from ...models import Failed, Park, RetryAt, Status, Succeeded
from .harness import (
    LONG,
    QUEUE,
    SHORT,
    Harness,
    child_jobs,
    claim_job,
    ends_without_running,
    enqueue_one,
    error_of,
    job_of,
    step,
    types_of,
)


class ControlTests(Harness):
    """Cancel, retry, queue expiry and job deadlines."""

    # --- cancel -----------------------------------------------------------------------------

    async def test_cancel_a_queued_job(self, backend: Backend) -> None:
        job_id = await enqueue_one(backend)
        job = await backend.cancel(job_id)
        assert job is not None
        assert (job.status, job.id) == (Status.CANCELLED, job_id)
        assert job.finished_at is not None
        assert (await types_of(backend, job_id))[-1] == "job.cancelled"
        assert await backend.claim("w", [QUEUE], 1, LONG) == []

    async def test_cancel_a_running_job_voids_its_lease(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        job = await backend.cancel(claimed.job.id)
        assert job is not None
        assert job.status == Status.CANCELLED
        assert await backend.lost([claimed.lease]) == [claimed.job.id]
        with pytest.raises(LeaseLost):
            await backend.save_step(claimed.lease, step("0:a"))

    async def test_cancel_cascades_to_unfinished_children(self, backend: Backend) -> None:
        parent, _ = await self.parked(backend, 3)
        done, busy = await backend.claim("w", [QUEUE], 2, LONG)
        await backend.settle(done.lease, Succeeded("1"))
        await backend.settle(busy.lease, Park("0:map", child_jobs(busy.job, "0:map", 1)))
        (grandchild,) = await backend.children(busy.job.id, "0:map")
        cancelled = await backend.cancel(parent.id)
        assert cancelled is not None
        assert cancelled.status == Status.CANCELLED
        statuses = {k.id: k.status for k in await backend.children(parent.id, "0:map")}
        assert statuses.pop(done.job.id) == Status.SUCCEEDED
        assert set(statuses.values()) == {Status.CANCELLED}
        assert (await job_of(backend, grandchild.id)).status == Status.CANCELLED
        assert await backend.claim("w", [QUEUE], 10, LONG) == []

    async def test_cancel_an_unknown_job(self, backend: Backend) -> None:
        assert await backend.cancel(uuid7()) is None

    async def test_cancel_is_scoped_to_the_tenant(self, backend: Backend) -> None:
        job_id = await enqueue_one(backend, tenant="acme")
        assert await backend.cancel(job_id, tenant="globex") is None
        assert (await job_of(backend, job_id)).status == Status.QUEUED
        job = await backend.cancel(job_id, tenant="acme")
        assert job is not None
        assert job.status == Status.CANCELLED

    async def test_cancel_leaves_an_ended_job_unchanged(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Succeeded("1"))
        job = await backend.cancel(claimed.job.id)
        assert job is not None
        assert (job.status, job.result) == (Status.SUCCEEDED, "1")
        assert (await types_of(backend, job.id))[-1] == "job.succeeded"

    # --- retry ------------------------------------------------------------------------------

    async def test_retry_requeues_a_failed_job_keeping_saved_steps(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.save_step(claimed.lease, step("0:parse"))
        await backend.save_step(claimed.lease, step("1:llm", "retrying", None, '{"type": "X"}'))
        await backend.settle(
            claimed.lease,
            Failed('{"type": "X"}', step=step("1:llm", "failed", None, '{"type": "X"}', 2)),
        )
        job = await backend.retry(claimed.job.id)
        assert job is not None
        assert (job.status, job.finished_at) == (Status.QUEUED, None)
        assert [(s.key, s.status) for s in await backend.steps(job.id)] == [
            ("0:parse", "succeeded")
        ]
        again = await claim_job(backend, job.id)
        assert again.lease.token > claimed.lease.token
        assert not again.fresh

    async def test_retry_requeues_failed_children(self, backend: Backend) -> None:
        parent, _ = await self.parked(backend, 2)
        ok, bad = await backend.claim("w", [QUEUE], 10, LONG)
        await backend.settle(ok.lease, Succeeded("1"))
        await backend.settle(bad.lease, Failed('{"type": "ValueError"}'))
        woken = await claim_job(backend, parent.id)
        await backend.settle(woken.lease, Failed('{"type": "StepFailed"}'))
        await backend.retry(parent.id)
        statuses = {k.id: k.status for k in await backend.children(parent.id, "0:map")}
        assert statuses == {ok.job.id: Status.SUCCEEDED, bad.job.id: Status.QUEUED}
        assert (await job_of(backend, parent.id)).status == Status.QUEUED

    async def test_retry_resets_the_crash_budget(self, backend: Backend) -> None:
        claimed = await self.running(backend, lease_for=SHORT, max_crashes=2)
        await backend.start_step(claimed.lease, "0:a")
        claimed = await claim_job(backend, claimed.job.id, lease_for=SHORT)  # crash 1 on 0:a
        await ends_without_running(backend, claimed.job.id, Status.FAILED)  # crash 2: failed
        await backend.retry(claimed.job.id)
        again = await claim_job(backend, claimed.job.id, lease_for=SHORT)
        await backend.start_step(again.lease, "0:a")
        survived = await claim_job(backend, claimed.job.id)  # crash 1 again, not 3
        assert survived.job.status == Status.RUNNING

    async def test_retry_of_an_unknown_or_foreign_job(self, backend: Backend) -> None:
        claimed = await self.running(backend, tenant="acme")
        await backend.settle(claimed.lease, Failed('{"type": "X"}'))
        assert await backend.retry(uuid7()) is None
        assert await backend.retry(claimed.job.id, tenant="globex") is None
        assert (await job_of(backend, claimed.job.id)).status == Status.FAILED

    async def test_retry_leaves_a_job_that_did_not_fail_unchanged(self, backend: Backend) -> None:
        queued = await enqueue_one(backend, delay=LONG)
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Succeeded("1"))
        again = await backend.retry(claimed.job.id)
        assert again is not None
        assert again.status == Status.SUCCEEDED
        still = await backend.retry(queued)
        assert still is not None
        assert still.status == Status.QUEUED

    # --- expiry and deadlines ---------------------------------------------------------------

    async def test_queued_job_past_expiry_ends_expired_without_running(
        self, backend: Backend
    ) -> None:
        job_id = await enqueue_one(backend, delay=0.1, expires_in=0.05)
        job = await ends_without_running(backend, job_id, Status.EXPIRED)
        assert (job.attempts, job.started_at) == (0, None)
        assert job.finished_at is not None
        assert (await types_of(backend, job_id))[-1] == "job.expired"

    async def test_job_claimed_before_expiry_runs(self, backend: Backend) -> None:
        claimed = await self.running(backend, expires_in=LONG)
        assert claimed.job.status == Status.RUNNING

    async def test_deadline_passed_under_a_lapsed_lease_fails_at_claim(
        self, backend: Backend
    ) -> None:
        claimed = await self.running(backend, lease_for=SHORT, timeout=SHORT)
        await backend.start_step(claimed.lease, "0:parse")
        job = await ends_without_running(backend, claimed.job.id, Status.FAILED)
        assert error_of(job)["type"] == "DeadlineExceeded"
        assert (await types_of(backend, job.id))[-1] == "job.failed"

    async def test_deadline_passed_while_queued_fails_at_claim(self, backend: Backend) -> None:
        claimed = await self.running(backend, timeout=0.05)
        await backend.settle(claimed.lease, RetryAt(0.1))
        job = await ends_without_running(backend, claimed.job.id, Status.FAILED)
        assert error_of(job)["type"] == "DeadlineExceeded"
        assert (await types_of(backend, job.id))[-1] == "job.failed"
