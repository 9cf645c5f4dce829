"""Claims, leases and fencing: who owns a job, and what happens when a worker vanishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from ...backends.protocol import Backend
from ...errors import LeaseLost
from ...models import (
    Claimed,
    Failed,
    Lease,
    Park,
    Permit,
    Release,
    RetryAt,
    Sleep,
    Status,
    Succeeded,
)
from .harness import (
    LONG,
    QUEUE,
    SHORT,
    Harness,
    claim_job,
    ends_without_running,
    enqueue_one,
    error_of,
    eventually,
    job_of,
    new_job,
    step,
    types_of,
)

# Writes a worker makes with its lease; each must be refused once the lease is stale.
WRITES: dict[str, Callable[[Backend, Lease], Awaitable[object]]] = {
    "start_step": lambda b, lease: b.start_step(lease, "1:late"),
    "save_step": lambda b, lease: b.save_step(lease, step("1:late")),
    "progress": lambda b, lease: b.progress(lease, 0.5, "late"),
    "settle_succeeded": lambda b, lease: b.settle(lease, Succeeded('"late"')),
    "settle_succeeded_with_step": lambda b, lease: b.settle(
        lease, Succeeded('"late"', step=step("0:late"))
    ),
    "settle_failed": lambda b, lease: b.settle(lease, Failed('{"type": "Late"}')),
    "settle_retry_at": lambda b, lease: b.settle(lease, RetryAt(0.0, step=step("0:late"))),
    "settle_release": lambda b, lease: b.settle(lease, Release()),
    "settle_sleep": lambda b, lease: b.settle(lease, Sleep("1:sleep", 0.0)),
    "settle_park": lambda b, lease: b.settle(
        lease,
        Park(
            "1:map",
            [new_job(pipeline="child", parent_id=lease.job_id, parent_key="1:map", parent_index=0)],
        ),
    ),
    "acquire_concurrency": lambda b, lease: b.acquire(lease, Permit("concurrency", "late", 5)),
    "acquire_rate": lambda b, lease: b.acquire(lease, Permit("rate", "late", 5)),
}


class LeaseTests(Harness):
    """Claim order, leases, fencing of stale writes, crash loops, renew and lost."""

    # --- claim ------------------------------------------------------------------------------

    async def test_claim_takes_higher_priority_first_then_oldest(self, backend: Backend) -> None:
        order = {}
        for name, priority in [("low", 0), ("high", 5), ("mid", 1), ("high2", 5), ("low2", 0)]:
            order[await enqueue_one(backend, priority=priority)] = name
        taken = []
        for _ in order:
            (claimed,) = await backend.claim("w", [QUEUE], 1, LONG)
            taken.append(order[claimed.job.id])
        assert taken == ["high", "high2", "mid", "low", "low2"]

    async def test_claim_respects_delay(self, backend: Backend) -> None:
        later = await enqueue_one(backend, delay=LONG * 10)
        soon = await enqueue_one(backend, delay=0.1)
        claimed = await claim_job(backend, soon)
        assert claimed.job.run_at >= claimed.job.created_at + 0.1
        assert await backend.claim("w", [QUEUE], 10, LONG) == []
        assert (await job_of(backend, later)).status == Status.QUEUED

    async def test_claim_respects_queues(self, backend: Backend) -> None:
        elsewhere = await enqueue_one(backend, queue="elsewhere")
        assert await backend.claim("w", [QUEUE], 10, LONG) == []
        (claimed,) = await backend.claim("w", [QUEUE, "elsewhere"], 10, LONG)
        assert claimed.job.id == elsewhere

    async def test_claim_takes_at_most_n(self, backend: Backend) -> None:
        await backend.enqueue([new_job() for _ in range(5)])
        first = await backend.claim("w", [QUEUE], 3, LONG)
        rest = await backend.claim("w", [QUEUE], 3, LONG)
        assert (len(first), len(rest)) == (3, 2)
        assert len({c.job.id for c in first + rest}) == 5

    async def test_claim_leases_the_job(self, backend: Backend) -> None:
        claimed = await self.running(backend, worker="w1")
        job = await job_of(backend, claimed.job.id)
        assert job.status == Status.RUNNING
        assert (job.lease_owner, job.lease_token) == ("w1", claimed.lease.token)
        assert claimed.lease == Lease(job.id, job.lease_token, "w1")
        assert job.lease_expires is not None
        assert job.started_at is not None
        assert job.attempts == claimed.job.attempts == 1
        assert await backend.lost([claimed.lease]) == []

    async def test_each_claim_bumps_the_token_and_counts_an_attempt(self, backend: Backend) -> None:
        first = await self.running(backend)
        await backend.settle(first.lease, RetryAt(0.0))
        second = await claim_job(backend, first.job.id)
        assert second.lease.token > first.lease.token
        assert (first.job.attempts, second.job.attempts) == (1, 2)

    async def test_fresh_only_on_the_first_claim(self, backend: Backend) -> None:
        first = await self.running(backend)
        await backend.settle(first.lease, Release())
        second = await claim_job(backend, first.job.id)
        assert (first.fresh, second.fresh) == (True, False)

    async def test_claim_logs_job_claimed(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        assert await types_of(backend, claimed.job.id) == ["job.enqueued", "job.claimed"]

    # --- lapsed leases and crash loops ------------------------------------------------------

    async def test_lapsed_lease_is_reclaimed_with_a_higher_token(self, backend: Backend) -> None:
        old, new = await self.stolen(backend)
        assert new.lease.token > old.lease.token
        assert new.lease.owner == "b"
        assert new.job.attempts == old.job.attempts + 1
        assert not new.fresh
        assert await backend.lost([old.lease, new.lease]) == [old.job.id]
        assert (await types_of(backend, old.job.id)).count("job.claimed") == 2

    @pytest.mark.parametrize("write", list(WRITES))
    async def test_stolen_lease_writes_raise_lease_lost(self, backend: Backend, write: str) -> None:
        old, new = await self.stolen(backend)
        seen = len(await backend.events(old.job.id))
        with pytest.raises(LeaseLost):
            await WRITES[write](backend, old.lease)
        job = await job_of(backend, old.job.id)
        assert (job.status, job.lease_token, job.lease_owner) == (
            Status.RUNNING,
            new.lease.token,
            "b",
        )
        assert (job.progress, job.result, job.current_step) == (0.0, None, None)
        assert await backend.steps(job.id) == []
        assert await backend.children(job.id, "1:map") == []
        assert len(await backend.events(job.id)) == seen
        assert await backend.acquire(new.lease, Permit("concurrency", "late", 1)) is None

    @pytest.mark.parametrize("write", list(WRITES))
    async def test_cancelled_lease_writes_raise_lease_lost(
        self, backend: Backend, write: str
    ) -> None:
        claimed = await self.running(backend)
        await backend.cancel(claimed.job.id)
        with pytest.raises(LeaseLost):
            await WRITES[write](backend, claimed.lease)
        job = await job_of(backend, claimed.job.id)
        assert job.status == Status.CANCELLED
        assert (await types_of(backend, job.id))[-1] == "job.cancelled"

    async def test_lapsed_but_unclaimed_lease_is_still_ours(self, backend: Backend) -> None:
        claimed = await self.running(backend, lease_for=SHORT)
        await asyncio.sleep(SHORT * 2)
        assert await backend.renew("w", LONG, [claimed.lease]) == []
        await backend.save_step(claimed.lease, step("0:a"))
        assert await backend.claim("other", [QUEUE], 1, LONG) == []

    async def test_crash_loop_ends_failed_worker_lost(self, backend: Backend) -> None:
        job_id = await enqueue_one(backend, max_crashes=3)
        claims = 0
        while (await job_of(backend, job_id)).status != Status.FAILED:
            assert claims < 10, "the crash loop never ended"
            claimed = await eventually(lambda: self._claim_or_end(backend, job_id), "a claim")
            if isinstance(claimed, Claimed):
                claims += 1
                await backend.start_step(claimed.lease, "0:parse")
        assert claims == 3  # three lost leases on one step, and the job is failed
        job = await job_of(backend, job_id)
        error = error_of(job)
        assert error["type"] == "WorkerLost"
        assert "0:parse" in error["message"]
        assert job.finished_at is not None
        assert (await types_of(backend, job_id))[-1] == "job.failed"

    async def _claim_or_end(self, backend: Backend, job_id: str) -> Claimed | bool:
        for claimed in await backend.claim("w", [QUEUE], 1, SHORT):
            assert claimed.job.id == job_id
            return claimed
        return (await job_of(backend, job_id)).status == Status.FAILED

    async def test_crash_count_resets_when_the_step_changes(self, backend: Backend) -> None:
        claimed = await self.running(backend, lease_for=SHORT, max_crashes=2)
        await backend.start_step(claimed.lease, "0:a")
        claimed = await claim_job(backend, claimed.job.id, lease_for=SHORT)  # crash 1 on 0:a
        await backend.start_step(claimed.lease, "1:b")
        claimed = await claim_job(backend, claimed.job.id, lease_for=SHORT)  # crash 1 on 1:b
        assert claimed.job.status == Status.RUNNING
        job = await ends_without_running(backend, claimed.job.id, Status.FAILED)  # crash 2 on 1:b
        assert error_of(job)["type"] == "WorkerLost"
        assert "1:b" in error_of(job)["message"]

    async def test_release_does_not_count_a_crash(self, backend: Backend) -> None:
        claimed = await self.running(backend, max_crashes=2)
        for _ in range(3):
            await backend.start_step(claimed.lease, "0:a")
            await backend.settle(claimed.lease, Release())
            claimed = await claim_job(backend, claimed.job.id, lease_for=SHORT)
        await backend.start_step(claimed.lease, "0:a")
        claimed = await claim_job(backend, claimed.job.id)  # the first crash on 0:a
        assert claimed.job.status == Status.RUNNING

    # --- renew and lost ---------------------------------------------------------------------

    async def test_renew_keeps_the_lease(self, backend: Backend) -> None:
        claimed = await self.running(backend, lease_for=0.5)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert await backend.renew("w", 0.5, [claimed.lease]) == []
            assert await backend.claim("thief", [QUEUE], 1, LONG) == []
            await asyncio.sleep(0.1)
        assert await backend.lost([claimed.lease]) == []

    async def test_renew_extends_only_the_listed_leases(self, backend: Backend) -> None:
        kept = await self.running(backend, lease_for=0.5)
        dropped = await self.running(backend, lease_for=0.5)

        async def recovered() -> bool:
            assert await backend.renew("w", 0.5, [kept.lease]) == []
            stolen = [c.job.id for c in await backend.claim("thief", [QUEUE], 2, LONG)]
            assert kept.job.id not in stolen
            return dropped.job.id in stolen

        await eventually(recovered, "the unlisted lease to lapse and be claimed")
        assert await backend.lost([kept.lease, dropped.lease]) == [dropped.job.id]

    async def test_renew_returns_the_leases_no_longer_ours(self, backend: Backend) -> None:
        kept = await self.running(backend)
        cancelled = await self.running(backend)
        old, _ = await self.stolen(backend)
        await backend.cancel(cancelled.job.id)
        lost = await backend.renew("w", LONG, [kept.lease, cancelled.lease, old.lease])
        assert sorted(lost) == sorted([cancelled.job.id, old.job.id])

    async def test_lost_reports_cancelled_stolen_and_ended_leases(self, backend: Backend) -> None:
        kept = await self.running(backend)
        cancelled = await self.running(backend)
        ended = await self.running(backend)
        old, new = await self.stolen(backend)
        await backend.cancel(cancelled.job.id)
        await backend.settle(ended.lease, Succeeded("1"))
        leases = [kept.lease, cancelled.lease, ended.lease, old.lease, new.lease]
        lost = await backend.lost(leases)
        assert sorted(lost) == sorted([cancelled.job.id, ended.job.id, old.job.id])
        assert await backend.lost([]) == []
