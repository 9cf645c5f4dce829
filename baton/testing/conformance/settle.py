"""Settling a leased job, parking it on children, and saving its steps."""

from __future__ import annotations

import json

from ...backends.protocol import Backend
from ...models import Failed, JobFilter, Park, Release, RetryAt, Sleep, Status, Succeeded
from .harness import (
    LONG,
    QUEUE,
    Harness,
    child_jobs,
    claim_job,
    error_of,
    eventually,
    job_of,
    new_job,
    step,
    types_of,
)


class SettleTests(Harness):
    """Each settle outcome, parking on children, and step checkpoints."""

    # --- settle -----------------------------------------------------------------------------

    async def test_settle_succeeded_ends_the_job(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Succeeded('{"pages": 3}'))
        job = await job_of(backend, claimed.job.id)
        assert (job.status, job.result, job.error) == (Status.SUCCEEDED, '{"pages": 3}', None)
        assert job.finished_at is not None
        assert job.lease_owner is None
        assert (await types_of(backend, job.id))[-1] == "job.succeeded"
        assert await backend.claim("w", [QUEUE], 1, LONG) == []

    async def test_settle_succeeded_saves_the_tasks_step(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Succeeded("7", step=step("0:task", result="7")))
        (saved,) = await backend.steps(claimed.job.id)
        assert (saved.key, saved.status, saved.result) == ("0:task", "succeeded", "7")
        types = await types_of(backend, claimed.job.id)
        assert types[-2:] == ["step.succeeded", "job.succeeded"]

    async def test_settle_failed_ends_the_job(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        error = json.dumps({"type": "ValueError", "message": "bad pdf", "step": "0:parse"})
        failed_step = step("0:parse", "failed", result=None, error=error)
        await backend.settle(claimed.lease, Failed(error, step=failed_step))
        job = await job_of(backend, claimed.job.id)
        assert (job.status, job.result) == (Status.FAILED, None)
        assert error_of(job)["message"] == "bad pdf"
        assert job.finished_at is not None
        assert (await backend.steps(job.id))[0].status == "failed"
        assert (await types_of(backend, job.id))[-2:] == ["step.failed", "job.failed"]

    async def test_settle_retry_at_queues_the_job_later(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        retrying = step("0:call", "retrying", result=None, error='{"type": "Timeout"}')
        await backend.settle(claimed.lease, RetryAt(LONG, step=retrying))
        job = await job_of(backend, claimed.job.id)
        assert job.status == Status.QUEUED
        assert job.started_at is not None
        assert job.run_at >= job.started_at + LONG
        assert await backend.claim("w", [QUEUE], 1, LONG) == []
        assert [s.status for s in await backend.steps(job.id)] == ["retrying"]
        assert await backend.lost([claimed.lease]) == [job.id]

    async def test_settle_retry_at_runs_again_after_the_delay(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, RetryAt(0.1))
        again = await claim_job(backend, claimed.job.id)
        assert again.job.attempts == 2

    async def test_settle_release_is_claimable_at_once_without_an_attempt(
        self, backend: Backend
    ) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Release())
        assert (await job_of(backend, claimed.job.id)).status == Status.QUEUED
        (again,) = await backend.claim("w2", [QUEUE], 1, LONG)
        assert again.job.id == claimed.job.id
        assert again.job.attempts == claimed.job.attempts == 1
        assert again.lease.token > claimed.lease.token
        assert "job.released" in await types_of(backend, claimed.job.id)

    async def test_settle_sleep_saves_the_step_and_parks(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Sleep("1:sleep", LONG))
        job = await job_of(backend, claimed.job.id)
        assert job.status == Status.QUEUED
        assert job.started_at is not None
        assert job.run_at >= job.started_at + LONG
        assert [(s.key, s.status) for s in await backend.steps(job.id)] == [
            ("1:sleep", "succeeded")
        ]
        assert await backend.claim("w", [QUEUE], 1, LONG) == []

    async def test_settle_sleep_wakes_without_an_attempt(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.settle(claimed.lease, Sleep("1:sleep", 0.1))
        again = await claim_job(backend, claimed.job.id)
        assert again.job.attempts == 1

    # --- park and children ------------------------------------------------------------------

    async def test_park_waits_for_children(self, backend: Backend) -> None:
        parent, kids = await self.parked(backend, 3)
        assert parent.status == Status.WAITING
        assert [k.parent_index for k in kids] == [0, 1, 2]
        assert all(
            (k.status, k.parent_id, k.parent_key) == (Status.QUEUED, parent.id, "0:map")
            for k in kids
        )
        assert (await types_of(backend, parent.id))[-1] == "job.waiting"
        claimed = await backend.claim("w", [QUEUE], 10, LONG)
        assert sorted(c.job.id for c in claimed) == sorted(k.id for k in kids)

    async def test_parent_wakes_only_after_the_last_child_ends(self, backend: Backend) -> None:
        parent, _ = await self.parked(backend, 3)
        claimed = await backend.claim("w", [QUEUE], 10, LONG)
        for c in claimed[:-1]:
            await backend.settle(c.lease, Succeeded("1"))
            assert (await job_of(backend, parent.id)).status == Status.WAITING
            assert await backend.claim("w", [QUEUE], 1, LONG) == []
        await backend.settle(claimed[-1].lease, Succeeded("1"))
        again = await claim_job(backend, parent.id)
        assert again.job.attempts == 1  # a wake-up is not an attempt
        assert [k.status for k in await backend.children(parent.id, "0:map")] == [
            Status.SUCCEEDED
        ] * 3

    async def test_parent_wakes_when_the_last_child_fails(self, backend: Backend) -> None:
        parent, _ = await self.parked(backend, 2)
        first, last = await backend.claim("w", [QUEUE], 10, LONG)
        await backend.settle(first.lease, Succeeded("1"))
        await backend.settle(last.lease, Failed('{"type": "ValueError"}'))
        await claim_job(backend, parent.id)

    async def test_parent_wakes_when_the_last_child_is_cancelled(self, backend: Backend) -> None:
        parent, kids = await self.parked(backend, 2)
        (first,) = await backend.claim("w", [QUEUE], 1, LONG)
        await backend.settle(first.lease, Succeeded("1"))
        (last,) = [k for k in kids if k.id != first.job.id]
        await backend.cancel(last.id)
        await claim_job(backend, parent.id)

    async def test_parent_wakes_when_the_last_child_expires(self, backend: Backend) -> None:
        parent = await self.running(backend, pipeline="parent")
        kid = new_job(
            pipeline="child",
            parent_id=parent.job.id,
            parent_key="0:map",
            parent_index=0,
            delay=0.1,
            expires_in=0.05,
        )
        await backend.settle(parent.lease, Park("0:map", [kid]))
        await eventually(lambda: self._claimed_id(backend, parent.job.id), "the parent to wake")
        assert (await job_of(backend, kid.id)).status == Status.EXPIRED

    async def _claimed_id(self, backend: Backend, job_id: str) -> bool:
        claimed = await backend.claim("w", [QUEUE], 1, LONG)
        assert all(c.job.id == job_id for c in claimed)
        return bool(claimed)

    async def test_park_with_no_open_children_requeues_at_once(self, backend: Backend) -> None:
        parent = await self.running(backend)
        await backend.settle(parent.lease, Park("0:map", []))
        (again,) = await backend.claim("w", [QUEUE], 1, LONG)
        assert again.job.id == parent.job.id
        assert again.job.attempts == 1

    async def test_repark_after_children_ended_requeues_at_once(self, backend: Backend) -> None:
        parent, kids = await self.parked(backend, 2)
        for c in await backend.claim("w", [QUEUE], 10, LONG):
            await backend.settle(c.lease, Succeeded("1"))
        again = await claim_job(backend, parent.id)
        await backend.settle(again.lease, Park("0:map", child_jobs(parent, "0:map", 2)))
        assert [k.id for k in await backend.children(parent.id, "0:map")] == [k.id for k in kids]
        await claim_job(backend, parent.id)

    async def test_repark_with_open_children_adds_no_duplicates(self, backend: Backend) -> None:
        parent, kids = await self.parked(backend, 2)
        first, second = await backend.claim("w", [QUEUE], 10, LONG)
        await backend.settle(first.lease, Succeeded("1"))
        await backend.settle(second.lease, Failed('{"type": "ValueError"}'))
        woken = await claim_job(backend, parent.id)
        await backend.settle(woken.lease, Failed('{"type": "StepFailed"}'))
        await backend.retry(parent.id)  # queues the failed child again too
        claimed = {c.job.id: c for c in await backend.claim("w", [QUEUE], 10, LONG)}
        assert set(claimed) == {parent.id, second.job.id}
        again, rerun = claimed[parent.id], claimed[second.job.id]
        await backend.settle(again.lease, Park("0:map", child_jobs(parent, "0:map", 2)))
        assert [k.id for k in await backend.children(parent.id, "0:map")] == [k.id for k in kids]
        assert (await job_of(backend, parent.id)).status == Status.WAITING
        assert len(await backend.list_jobs(JobFilter(parent_id=parent.id))) == 2
        await backend.settle(rerun.lease, Succeeded("2"))
        await claim_job(backend, parent.id)

    async def test_repark_with_the_same_job_specs_is_idempotent(self, backend: Backend) -> None:
        parent = await self.running(backend, pipeline="parent")
        specs = child_jobs(parent.job, "0:map", 2)
        await backend.settle(parent.lease, Park("0:map", specs))
        for c in await backend.claim("w", [QUEUE], 10, LONG):
            await backend.settle(c.lease, Succeeded("1"))
        again = await claim_job(backend, parent.job.id)
        await backend.settle(again.lease, Park("0:map", specs))
        assert [k.id for k in await backend.children(parent.job.id, "0:map")] == [
            s.id for s in specs
        ]
        await claim_job(backend, parent.job.id)

    async def test_children_come_in_index_order(self, backend: Backend) -> None:
        parent = await self.running(backend, pipeline="parent")
        specs = child_jobs(parent.job, "2:map", 5)
        await backend.settle(parent.lease, Park("2:map", [specs[i] for i in (3, 0, 4, 2, 1)]))
        kids = await backend.children(parent.job.id, "2:map")
        assert [k.id for k in kids] == [s.id for s in specs]
        assert await backend.children(parent.job.id, "0:other") == []

    # --- steps and progress -----------------------------------------------------------------

    async def test_start_step_marks_the_current_step(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.start_step(claimed.lease, "0:parse")
        assert (await job_of(backend, claimed.job.id)).current_step == "0:parse"
        assert (await types_of(backend, claimed.job.id))[-1] == "step.started"

    async def test_save_step_and_steps(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.save_step(claimed.lease, step("0:parse", result='{"pages": 2}'))
        await backend.save_step(claimed.lease, step("1:llm", "failed", None, '{"type": "X"}', 5))
        saved = {s.key: s for s in await backend.steps(claimed.job.id)}
        assert set(saved) == {"0:parse", "1:llm"}
        assert (saved["0:parse"].status, saved["0:parse"].result) == ("succeeded", '{"pages": 2}')
        assert (saved["1:llm"].status, saved["1:llm"].attempts) == ("failed", 5)
        assert json.loads(saved["1:llm"].error or "{}") == {"type": "X"}
        assert saved["0:parse"].worker == "w"
        assert saved["0:parse"].finished_at is not None

    async def test_save_step_logs_its_event(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.save_step(claimed.lease, step("0:a", "retrying", None, '{"type": "X"}'))
        await backend.save_step(claimed.lease, step("0:a", "failed", None, '{"type": "X"}', 2))
        await backend.save_step(claimed.lease, step("1:b"))
        types = await types_of(backend, claimed.job.id)
        assert types[-3:] == ["step.retrying", "step.failed", "step.succeeded"]

    async def test_succeeded_step_is_never_overwritten(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.save_step(claimed.lease, step("0:a", result='"first"'))
        await backend.save_step(claimed.lease, step("0:a", result='"second"'))
        await backend.save_step(claimed.lease, step("0:a", "failed", None, '{"type": "X"}'))
        (saved,) = await backend.steps(claimed.job.id)
        assert (saved.status, saved.result, saved.error) == ("succeeded", '"first"', None)

    async def test_failed_step_record_is_overwritten(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.save_step(claimed.lease, step("0:a", "retrying", None, '{"n": 1}', 1))
        await backend.save_step(claimed.lease, step("0:a", "failed", None, '{"n": 2}', 2))
        (saved,) = await backend.steps(claimed.job.id)
        assert (saved.status, saved.error, saved.attempts) == ("failed", '{"n": 2}', 2)
        await backend.save_step(claimed.lease, step("0:a", result='"ok"', attempts=3))
        (saved,) = await backend.steps(claimed.job.id)
        assert (saved.status, saved.result, saved.attempts) == ("succeeded", '"ok"', 3)

    async def test_progress_is_stored_and_logged(self, backend: Backend) -> None:
        claimed = await self.running(backend)
        await backend.progress(claimed.lease, 0.25, "parsed")
        job = await job_of(backend, claimed.job.id)
        assert (job.progress, job.progress_message) == (0.25, "parsed")
        (event,) = (await backend.events(job.id))[-1:]
        assert (event.type, event.data.get("progress"), event.data.get("message")) == (
            "job.progress",
            0.25,
            "parsed",
        )
