"""The webhook outbox: every ending of a job with a callback URL inserts its delivery job
in the same transaction (see `baton.backends.callbacks`)."""

from __future__ import annotations

import json

from ...backends.callbacks import CALLBACK_PIPELINE, delivery_id
from ...backends.protocol import Backend
from ...errors import LeaseLost
from ...models import (
    TERMINAL_EVENTS,
    Claimed,
    Failed,
    JobFilter,
    JobRecord,
    RetryAt,
    Status,
    Succeeded,
)
from .harness import LONG, QUEUE, SHORT, Harness, eventually, job_of, new_job

URL = "https://hooks.example.com/baton"


async def deliveries(backend: Backend, tenant: str | None = None) -> list[JobRecord]:
    return await backend.list_jobs(JobFilter(pipeline=CALLBACK_PIPELINE, tenant=tenant))


async def terminal_seq(backend: Backend, job_id: str) -> int:
    """The number of the job's latest terminal event."""
    ends = [e for e in await backend.events(job_id) if e.type in TERMINAL_EVENTS]
    assert ends, f"job {job_id} has no terminal event"
    return ends[-1].seq


async def claim_past_deliveries(backend: Backend, job_id: str) -> Claimed:
    """Claim `job_id`, settling any delivery job claimed on the way (they share its queue)."""

    async def probe() -> Claimed | None:
        for claimed in await backend.claim("w", [QUEUE], 1, LONG):
            if claimed.job.id == job_id:
                return claimed
            assert claimed.job.pipeline == CALLBACK_PIPELINE, f"claimed {claimed.job.id}"
            await backend.settle(claimed.lease, Succeeded("null"))
        return None

    return await eventually(probe, f"job {job_id} to be claimable")


class CallbackTests(Harness):
    """Deliveries are written with the ending, exactly once per ending, by every path."""

    async def assert_one_delivery(self, backend: Backend, job: JobRecord) -> JobRecord:
        seq = await terminal_seq(backend, job.id)
        found = [d for d in await deliveries(backend) if json.loads(d.args)["job_id"] == job.id]
        assert len(found) == 1, f"expected one delivery for {job.id}, found {len(found)}"
        (delivery,) = found
        assert delivery.id == delivery_id(job.id, seq)
        assert json.loads(delivery.args) == {"job_id": job.id, "seq": seq}
        assert (delivery.queue, delivery.tenant, delivery.priority) == (
            job.queue,
            job.tenant,
            job.priority,
        )
        assert delivery.status in (Status.QUEUED, Status.RUNNING)  # a claim may take it at once
        assert delivery.callback_url is None
        return delivery

    async def test_success_inserts_its_delivery(self, backend: Backend) -> None:
        claimed = await self.running(backend, callback_url=URL, tenant="acme", priority=3)
        await backend.settle(claimed.lease, Succeeded("1"))
        await self.assert_one_delivery(backend, await job_of(backend, claimed.job.id))

    async def test_failure_inserts_its_delivery(self, backend: Backend) -> None:
        claimed = await self.running(backend, callback_url=URL)
        await backend.settle(claimed.lease, Failed(json.dumps({"type": "E", "message": "x"})))
        await self.assert_one_delivery(backend, await job_of(backend, claimed.job.id))

    async def test_no_url_no_delivery(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Succeeded("1"))
        assert await deliveries(backend) == []

    async def test_a_stale_settle_inserts_nothing(self, backend: Backend) -> None:
        old, new = await self.stolen(backend, callback_url=URL)
        try:
            await backend.settle(old.lease, Succeeded("1"))
            raise AssertionError("a stale settle was accepted")
        except LeaseLost:
            pass
        assert await deliveries(backend) == []
        await backend.settle(new.lease, Succeeded("2"))
        await self.assert_one_delivery(backend, await job_of(backend, new.job.id))

    async def test_cancel_inserts_its_delivery(self, backend: Backend) -> None:
        claimed = await self.running(backend, callback_url=URL)
        await backend.cancel(claimed.job.id)
        await self.assert_one_delivery(backend, await job_of(backend, claimed.job.id))
        again = await backend.cancel(claimed.job.id)  # already ended: no second delivery
        assert again is not None
        assert len(await deliveries(backend)) == 1

    async def test_expiry_inserts_its_delivery(self, backend: Backend) -> None:
        (done,) = await backend.enqueue(
            [new_job(callback_url=URL, delay=0.1, expires_in=0.05, queue="ends")]
        )

        async def expired() -> JobRecord | None:
            await backend.claim("w", ["ends"], 1, LONG)
            job = await job_of(backend, done.id)
            return job if job.status == Status.EXPIRED else None

        job = await eventually(expired, "the job to expire")
        delivery = await self.assert_one_delivery(backend, job)
        assert delivery.queue == "ends"

    async def test_worker_lost_inserts_its_delivery(self, backend: Backend) -> None:
        claimed = await self.running(backend, lease_for=SHORT, max_crashes=1, callback_url=URL)
        await backend.start_step(claimed.lease, "0:poison")

        async def failed() -> JobRecord | None:
            for c in await backend.claim("w", [QUEUE], 1, LONG):
                assert c.job.pipeline == CALLBACK_PIPELINE, "the lost job was claimed again"
            job = await job_of(backend, claimed.job.id)
            return job if job.status == Status.FAILED else None

        job = await eventually(failed, "the job to fail as worker lost")
        seq = await terminal_seq(backend, job.id)
        (delivery,) = await deliveries(backend)
        assert delivery.id == delivery_id(job.id, seq)

    async def test_each_ending_of_a_retried_job_gets_its_own_delivery(
        self, backend: Backend
    ) -> None:
        claimed = await self.running(backend, callback_url=URL)
        await backend.settle(claimed.lease, Failed(json.dumps({"type": "E", "message": "x"})))
        first = await self.assert_one_delivery(backend, await job_of(backend, claimed.job.id))
        await backend.retry(claimed.job.id)
        again = await claim_past_deliveries(backend, claimed.job.id)
        await backend.settle(again.lease, RetryAt(0.0))
        again = await claim_past_deliveries(backend, claimed.job.id)
        await backend.settle(again.lease, Succeeded("1"))
        seq = await terminal_seq(backend, claimed.job.id)
        ids = {d.id for d in await deliveries(backend)}
        assert ids == {first.id, delivery_id(claimed.job.id, seq)}
        assert first.id != delivery_id(claimed.job.id, seq)

    async def test_delivery_ids_are_stable_and_distinct(self) -> None:
        job = "019a0000-0000-7000-8000-000000000001"
        assert delivery_id(job, 5) == delivery_id(job, 5)
        assert delivery_id(job, 5) != delivery_id(job, 6)
        assert delivery_id(job, 5)[:13] == job[:13]  # sorts beside its job
