"""Schema, enqueue, durability, events and reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ...backends.protocol import Backend
from ...ids import uuid7
from ...models import Failed, JobFilter, Status, Succeeded
from .harness import LONG, QUEUE, Harness, enqueue_one, job_of, new_job, step, types_of


class StoreTests(Harness):
    """Schema, enqueue and idempotency, durability, the event log and the reads."""

    # --- schema and enqueue ---------------------------------------------------------------

    def test_backend_satisfies_the_protocol(self, backend: Backend) -> None:
        assert isinstance(backend, Backend)
        assert isinstance(backend.describe(), dict)

    async def test_migrate_is_idempotent(self, backend: Backend, store_url: str) -> None:
        job_id = await enqueue_one(backend)
        await backend.migrate()
        async with self.opened(store_url) as again:
            await again.migrate()
            assert (await job_of(again, job_id)).status == Status.QUEUED

    async def test_migrate_concurrently_from_many_instances(self, store_url: str) -> None:
        async with (
            self.opened(store_url, migrate=False) as a,
            self.opened(store_url, migrate=False) as b,
        ):
            await asyncio.gather(a.migrate(), b.migrate())
            job_id = await enqueue_one(a)
            assert (await job_of(b, job_id)).status == Status.QUEUED

    async def test_enqueue_stores_a_batch(self, backend: Backend) -> None:
        jobs = [new_job(args=json.dumps({"n": n}), priority=n, tenant="acme") for n in range(3)]
        done = await backend.enqueue(jobs)
        assert [(d.id, d.created) for d in done] == [(j.id, True) for j in jobs]
        for spec in jobs:
            job = await job_of(backend, spec.id)
            assert (job.status, job.pipeline, job.queue, job.tenant, job.args, job.priority) == (
                Status.QUEUED,
                spec.pipeline,
                spec.queue,
                "acme",
                spec.args,
                spec.priority,
            )
            assert job.attempts == 0
            assert job.lease_token == 0
            assert job.finished_at is None

    async def test_enqueue_logs_job_enqueued(self, backend: Backend) -> None:
        job_id = await enqueue_one(backend)
        (event,) = await backend.events(job_id)
        assert (event.job_id, event.seq, event.type) == (job_id, 1, "job.enqueued")

    async def test_idempotency_key_returns_the_existing_job(self, backend: Backend) -> None:
        first = await enqueue_one(backend, idempotency_key="upload-1", tenant="acme")
        (again,) = await backend.enqueue([new_job(idempotency_key="upload-1", tenant="acme")])
        assert (again.id, again.created) == (first, False)
        assert [j.id for j in await backend.list_jobs(JobFilter(tenant="acme"))] == [first]
        assert await types_of(backend, first) == ["job.enqueued"]

    async def test_idempotency_key_is_per_tenant(self, backend: Backend) -> None:
        first = await enqueue_one(backend, idempotency_key="upload-1", tenant="acme")
        (other,) = await backend.enqueue([new_job(idempotency_key="upload-1", tenant="globex")])
        assert other.created
        assert other.id != first
        assert (await job_of(backend, other.id)).tenant == "globex"

    async def test_idempotency_key_repeated_within_one_batch(self, backend: Backend) -> None:
        a, b = new_job(idempotency_key="k"), new_job(idempotency_key="k")
        done = await backend.enqueue([a, b])
        assert [(d.id, d.created) for d in done] == [(a.id, True), (a.id, False)]
        assert await backend.get_job(b.id) is None

    async def test_enqueued_job_is_visible_to_another_instance_at_once(
        self, backend: Backend, peer: Backend
    ) -> None:
        job_id = await enqueue_one(backend)
        assert (await job_of(peer, job_id)).status == Status.QUEUED
        (claimed,) = await peer.claim("w", [QUEUE], 1, LONG)
        assert claimed.job.id == job_id

    async def test_enqueued_job_survives_reopening_the_store(self, store_url: str) -> None:
        async with self.opened(store_url) as first:
            job_id = await enqueue_one(first, args='{"doc": "d1"}')
        async with self.opened(store_url) as second:
            job = await job_of(second, job_id)
            assert (job.status, job.args) == (Status.QUEUED, '{"doc": "d1"}')
            assert await types_of(second, job_id) == ["job.enqueued"]

    # --- events -----------------------------------------------------------------------------

    async def test_events_are_numbered_in_order_without_gaps(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.start_step(claimed.lease, "0:parse")
        await backend.progress(claimed.lease, 0.5, None)
        await backend.save_step(claimed.lease, step("0:parse"))
        await backend.settle(claimed.lease, Succeeded("1"))
        events = await backend.events(claimed.job.id)
        assert [e.type for e in events] == [
            "job.enqueued",
            "job.claimed",
            "step.started",
            "job.progress",
            "step.succeeded",
            "job.succeeded",
        ]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert all(e.job_id == claimed.job.id for e in events)
        assert [e.at for e in events] == sorted(e.at for e in events)
        assert isinstance(events[0].as_dict(), dict)

    async def test_events_after_and_limit(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        for n in range(5):
            await backend.progress(claimed.lease, n / 10, None)
        events = await backend.events(claimed.job.id)
        rest = await backend.events(claimed.job.id, after=3)
        assert [e.seq for e in rest] == [e.seq for e in events[3:]]
        assert [e.seq for e in await backend.events(claimed.job.id, after=2, limit=2)] == [3, 4]
        assert await backend.events(claimed.job.id, after=len(events)) == []
        assert await backend.events(uuid7()) == []

    async def test_events_of_jobs_are_numbered_apart(self, backend: Backend) -> None:
        first, second = await backend.enqueue([new_job(), new_job()])
        assert [e.seq for e in await backend.events(first.id)] == [1]
        assert [e.seq for e in await backend.events(second.id)] == [1]

    # --- reads ------------------------------------------------------------------------------

    async def test_get_job_is_scoped_to_the_tenant(self, backend: Backend) -> None:
        job_id = await enqueue_one(backend, tenant="acme")
        assert (await job_of(backend, job_id)).tenant == "acme"
        found = await backend.get_job(job_id, tenant="acme")
        assert found is not None
        assert found.id == job_id
        assert await backend.get_job(job_id, tenant="globex") is None
        assert await backend.get_job(uuid7()) is None

    async def test_list_jobs_filters_newest_first(self, backend: Backend) -> None:
        ids = sorted(uuid7() for _ in range(5))  # time-ordered: the last is the newest
        shapes = [
            ("p1", "q1", "acme"),
            ("p2", "q1", "acme"),
            ("p1", "q2", "globex"),
            ("p1", "q1", "acme"),
            ("p2", "q2", "acme"),
        ]
        for job_id, (pipeline, queue, tenant) in zip(ids, shapes, strict=True):
            await backend.enqueue(
                [new_job(id=job_id, pipeline=pipeline, queue=queue, tenant=tenant)]
            )
        (claimed,) = await backend.claim("w", ["q2"], 1, LONG)
        await backend.settle(claimed.lease, Failed('{"type": "X"}'))

        async def listed(**filt: Any) -> list[int]:
            return [ids.index(j.id) for j in await backend.list_jobs(JobFilter(**filt))]

        assert await listed() == [4, 3, 2, 1, 0]
        assert await listed(pipeline="p1") == [3, 2, 0]
        assert await listed(queue="q2") == [4, 2]
        assert await listed(tenant="acme") == [4, 3, 1, 0]
        assert await listed(status=Status.FAILED) == [ids.index(claimed.job.id)]
        assert await listed(status=Status.QUEUED, tenant="acme", queue="q1") == [3, 1, 0]
        assert await listed(limit=2) == [4, 3]
        assert await listed(limit=2, before=ids[3]) == [2, 1]
        assert await listed(before=ids[0]) == []

    async def test_list_jobs_by_parent(self, backend: Backend) -> None:
        parent, kids = await self.parked(backend, 3)
        listed = await backend.list_jobs(JobFilter(parent_id=parent.id))
        assert sorted(j.id for j in listed) == sorted(k.id for k in kids)

    async def test_queue_stats_counts_per_queue(self, backend: Backend) -> None:
        await self.parked(backend, 1, child_queue="q2")  # waiting in QUEUE, its child in q2
        await self.running(backend)
        failed = await self.running(backend)
        await backend.settle(failed.lease, Failed('{"type": "X"}'))
        await backend.enqueue([new_job(), new_job(delay=LONG)])
        stats = {s.queue: s for s in await backend.queue_stats()}
        mine = stats[QUEUE]
        assert (mine.queued, mine.running, mine.waiting, mine.failed) == (2, 1, 1, 1)
        assert mine.oldest_queued_age is not None
        assert mine.oldest_queued_age >= 0
        other = stats["q2"]
        assert (other.queued, other.running, other.waiting, other.failed) == (1, 0, 0, 0)

    async def test_queue_stats_counts_every_end_state(self, backend: Backend) -> None:
        for _ in range(2):
            done = await self.running(backend)
            await backend.settle(done.lease, Succeeded("1"))
        cancelled = await enqueue_one(backend)
        await backend.cancel(cancelled)
        (mine,) = [s for s in await backend.queue_stats() if s.queue == QUEUE]
        assert (mine.succeeded, mine.cancelled, mine.expired, mine.failed) == (2, 1, 0, 0)
        assert mine.oldest_queued_age is None  # nothing is waiting to start

    async def test_queue_stats_for_one_tenant(self, backend: Backend) -> None:
        await backend.enqueue([new_job(tenant="acme"), new_job(tenant="acme"), new_job()])
        await backend.enqueue([new_job(tenant="globex", queue="theirs")])
        (acme,) = await backend.queue_stats(tenant="acme")
        assert (acme.queue, acme.queued) == (QUEUE, 2)
        assert {s.queue for s in await backend.queue_stats(tenant="nobody")} == set()
        assert {s.queue for s in await backend.queue_stats()} == {QUEUE, "theirs"}

    async def test_pending_counts_unfinished_jobs(self, backend: Backend) -> None:
        await self.parked(backend, 1, child_queue="q2")
        await self.running(backend)
        done = await self.running(backend)
        await backend.settle(done.lease, Succeeded("1"))
        await backend.enqueue([new_job(), new_job(delay=LONG)])
        assert await backend.pending([QUEUE]) == 4  # waiting + running + two queued
        assert await backend.pending(["q2"]) == 1
        assert await backend.pending([QUEUE, "q2"]) == 5
        assert await backend.pending(["nothing-here"]) == 0
