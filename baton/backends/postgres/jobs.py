"""Job transitions, each run inside the caller's transaction (`Tx`). Same semantics as the
SQLite backend's: the conformance suite is the spec."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...models import (
    Claimed,
    Enqueued,
    Failed,
    JobRecord,
    Lease,
    NewJob,
    Outcome,
    Park,
    Release,
    RetryAt,
    Sleep,
    Status,
    StepRecord,
    Succeeded,
)
from .sql import NJOB, Tx, brief, deadline_error, job_from_row, lost


async def insert_jobs(tx: Tx, jobs: Sequence[NewJob]) -> list[Enqueued]:
    """Insert jobs idempotently per (tenant, key), each with its `job.enqueued` event."""
    out = []
    for job in jobs:
        params = {
            "id": job.id,
            "pipeline": job.pipeline,
            "queue": job.queue,
            "tenant": job.tenant,
            "args": job.args,
            "priority": job.priority,
            "delay": max(0.0, job.delay),
            "idempotency_key": job.idempotency_key,
            "parent_id": job.parent_id,
            "parent_key": job.parent_key,
            "parent_index": job.parent_index,
            "callback_url": job.callback_url,
            "expires_in": job.expires_in,
            "timeout": job.timeout,
            "max_crashes": job.max_crashes,
            "event": json.dumps({"pipeline": job.pipeline, "queue": job.queue}),
        }
        row = await tx.one("insert_job", params)
        if row is None:  # the tenant's key (or this very id, sent twice) exists already
            row = await tx.one("job_by_idem", params)
            assert row is not None, "idempotent insert found neither a new nor an old job"
            row = (row[0], False)
        out.append(Enqueued(str(row[0]), bool(row[1])))
    return out


# --- ending jobs ----------------------------------------------------------------------


async def end(tx: Tx, job_id: str, status: Status, error: str | None) -> None:
    """End a job that is not leased by the caller (cancel, expiry, crash loop, deadline)."""
    row = await tx.one("end_job", {"id": job_id, "status": status.value, "error": error})
    if row is None:
        return
    job, seq = job_from_row(row), int(row[NJOB])
    data = {} if error is None else {"error": brief(error)}
    await tx.emit(job_id, (f"job.{status.value}", data), last=seq)
    await tx.ended(job, seq)
    if job.parent_id is not None:
        await wake_parent(tx, job.parent_id)


async def wake_parent(tx: Tx, parent_id: str) -> None:
    row = await tx.one("wake_parent", {"id": parent_id})
    if row is not None and row[0] == "queued":
        tx.wake.add(str(row[1]))


async def end_leased(tx: Tx, lease: Lease, outcome: Succeeded | Failed) -> None:
    """End a leased job in one statement (see `end_leased_with_step`): fencing, the task's
    step, the ending, both events and the parent's wake-up. Only a callback adds another."""
    error = outcome.error if isinstance(outcome, Failed) else None
    record = outcome.step
    params: dict[str, Any] = {
        "id": lease.job_id,
        "token": lease.token,
        "status": "failed" if isinstance(outcome, Failed) else "succeeded",
        "result": outcome.result if isinstance(outcome, Succeeded) else None,
        "error": error,
        "end_type": "job.failed" if error else "job.succeeded",
        "end_data": json.dumps({"error": brief(error)} if error else {}),
        **step_params(lease, record),
    }
    row = await tx.one("end_leased_with_step", params)
    if row is None:
        raise lost(lease)
    job, seq = job_from_row(row), int(row[NJOB])
    await tx.ended(job, seq)


def step_params(lease: Lease, record: StepRecord | None) -> dict[str, Any]:
    """The step's columns and its event, as `end_leased_with_step` and `save_step_fenced`
    take them (no record: `has_step` is false and the rest is ignored)."""
    if record is None:
        record = StepRecord("", "")
    data: dict[str, Any] = {"step": record.key, "attempt": record.attempts}
    if record.error is not None:
        data["error"] = brief(record.error)
    return {
        "has_step": bool(record.key),
        "key": record.key,
        "step_status": record.status,
        "step_result": record.result,
        "step_error": record.error,
        "attempts": record.attempts,
        "worker": record.worker or lease.owner,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "step_type": _STEP_EVENT.get(record.status, "step.failed"),
        "step_data": json.dumps(data),
    }


_STEP_EVENT = {"succeeded": "step.succeeded", "retrying": "step.retrying"}


# --- steps ------------------------------------------------------------------------------


async def save_step(tx: Tx, lease: Lease, record: StepRecord) -> tuple[str, dict[str, Any]] | None:
    """Upsert a step record (unfenced: callers fence) and return the event to log, or None
    when a succeeded checkpoint already stood and nothing changed."""
    params = {
        "job_id": lease.job_id,
        "key": record.key,
        "status": record.status,
        "result": record.result,
        "error": record.error,
        "attempts": record.attempts,
        "worker": record.worker or lease.owner,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
    }
    row = await tx.one("upsert_step", params)
    if row is None:
        return None
    data: dict[str, Any] = {"step": record.key, "attempt": record.attempts}
    if record.error is not None:
        data["error"] = brief(record.error)
    if record.started_at is not None:
        data["duration"] = round(float(row[0]), 6)
    return _STEP_EVENT.get(record.status, "step.failed"), data


# --- settle -----------------------------------------------------------------------------


async def settle(tx: Tx, lease: Lease, outcome: Outcome) -> None:
    if isinstance(outcome, Succeeded | Failed):
        await end_leased(tx, lease, outcome)
        return
    events: list[tuple[str, dict[str, Any]]] = []
    if isinstance(outcome, RetryAt):
        # the step first: if the lease is stale, requeue raises and the transaction rolls
        # the step back too
        if outcome.step is not None and (ev := await save_step(tx, lease, outcome.step)):
            events.append(ev)
        await requeue(tx, lease, "queued", outcome.delay, woken=0)
        events.append(("job.released", {"reason": "retry", "delay": outcome.delay}))
    elif isinstance(outcome, Park):
        await park(tx, lease, outcome)
        return
    elif isinstance(outcome, Sleep):
        record = StepRecord(outcome.step_key, "succeeded", None, attempts=1)
        await tx.fence(lease)
        now = await _now(tx)
        wake = now + outcome.seconds
        record.result, record.started_at = json.dumps(wake), now
        if ev := await save_step(tx, lease, record):
            events.append(ev)
        await requeue(tx, lease, "queued", outcome.seconds, woken=1)
        events.append(("job.waiting", {"until": wake}))
    elif isinstance(outcome, Release):
        await requeue(tx, lease, "queued", 0.0, woken=1)
        events.append(("job.released", {"reason": "shutdown"}))
    await tx.emit(lease.job_id, *events)


async def park(tx: Tx, lease: Lease, outcome: Park) -> None:
    await tx.fence(lease)
    await insert_jobs(tx, outcome.children)
    row = await tx.one("open_children", {"id": lease.job_id, "key": outcome.key})
    open_ = int(row[0]) if row else 0
    if open_:
        await requeue(tx, lease, "waiting", 0.0, woken=1, waiting_for=open_)
    else:
        await requeue(tx, lease, "queued", 0.0, woken=1)
    data = {"children": len(outcome.children), "open": open_}
    await tx.emit(lease.job_id, ("job.waiting", data))


async def requeue(
    tx: Tx, lease: Lease, status: str, delay: float, woken: int, waiting_for: int = 0
) -> None:
    params = {
        "id": lease.job_id,
        "token": lease.token,
        "status": status,
        "delay": delay,
        "woken": woken,
        "waiting_for": waiting_for,
    }
    row = await tx.one("requeue_leased", params)
    if row is None:
        raise lost(lease)
    if status == "queued":  # idle workers look again at when the next job is due
        tx.wake.add(str(row[0]))


async def _now(tx: Tx) -> float:
    row = await tx.one("now", {})
    assert row is not None
    return float(row[0])


# --- claim ------------------------------------------------------------------------------


def claimed_from(job: JobRecord) -> Claimed:
    assert job.lease_owner is not None
    return Claimed(job, Lease(job.id, job.lease_token, job.lease_owner), job.lease_token == 1)


async def claim_due(
    tx: Tx, worker: str, queues: Sequence[str], n: int, lease_for: float
) -> tuple[list[Claimed], bool]:
    """Lease up to `n` due jobs in one statement (SKIP LOCKED), highest priority first; and
    whether lapsed leases or unrunnable jobs wait for the slow path (`claim_stale`)."""
    params = {"queues": list(queues), "n": n, "owner": worker, "lease_for": lease_for}
    rows = await tx.all("claim_due", params)
    claimed = [claimed_from(job_from_row(r)) for r in rows if r[0] is not None]
    claimed.sort(key=lambda c: (-c.job.priority, c.job.run_at, c.job.id))
    return claimed, bool(rows and rows[0][-1])


async def claim_stale(
    tx: Tx, worker: str, queues: Sequence[str], room: int, lease_for: float
) -> list[Claimed]:
    """The slow path of a claim: recover lapsed leases (up to `room`), and end queued jobs
    that must not start (expired, past their deadline)."""
    claimed: list[Claimed] = []
    if room > 0:
        for row in await tx.all("expired_leases", {"queues": list(queues), "n": room}):
            job, now = job_from_row(row), float(row[NJOB])
            recovered = await recover(tx, job, now)
            if recovered is not None:
                claimed.append(await take(tx, job, worker, lease_for, *recovered))
    for row in await tx.all("unrunnable", {"queues": list(queues)}):
        job, now = job_from_row(row), float(row[NJOB])
        if job.expires_at is not None and job.expires_at < now and job.started_at is None:
            error = {"type": "Expired", "message": "not started before it expired"}
            await end(tx, job.id, Status.EXPIRED, json.dumps(error))
        else:
            await end(tx, job.id, Status.FAILED, deadline_error(job))
    return claimed


async def recover(tx: Tx, job: JobRecord, now: float) -> tuple[str, int] | None:
    """A lapsed lease: its worker is presumed dead. Count the crash against the step it was
    running; return (step, crashes) to claim it again, or None if it ended here."""
    step = job.current_step or job.pipeline
    crashes = job.crash_count + 1 if step == (job.crash_step or "") else 1
    released = {"reason": "lease expired", "worker": job.lease_owner, "step": step}
    await tx.emit(job.id, ("job.released", released))
    if job.deadline_at is not None and job.deadline_at < now:
        await end(tx, job.id, Status.FAILED, deadline_error(job))
        return None
    if crashes >= job.max_crashes:
        message = (
            f"worker lost {crashes} times while running step {step} (max_crashes={job.max_crashes})"
        )
        error = {"type": "WorkerLost", "step": step, "message": message}
        await end(tx, job.id, Status.FAILED, json.dumps(error))
        return None
    return step, crashes


async def take(
    tx: Tx, job: JobRecord, worker: str, lease_for: float, crash_step: str, crash_count: int
) -> Claimed:
    params = {
        "id": job.id,
        "owner": worker,
        "lease_for": lease_for,
        "crash_step": crash_step,
        "crash_count": crash_count,
    }
    row = await tx.one("take", params)
    assert row is not None
    taken = job_from_row(row)
    data = {"worker": worker, "attempt": taken.attempts}
    await tx.emit(job.id, ("job.claimed", data), last=int(row[NJOB]))
    return claimed_from(taken)
