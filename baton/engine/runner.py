"""Run one claimed job to its outcome and settle it. The worker calls `run_job`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from .. import codec
from ..errors import LeaseLost, NonDeterminismError, PayloadError, StepFailed, Suspend
from ..models import Claimed, Failed, Outcome, StepRecord, Succeeded
from ..retry import describe
from .context import Context, run_chain
from .registry import Pipeline, Step
from .runtime import Runtime


async def run_job(rt: Runtime, claimed: Claimed) -> Outcome:
    """Run the job and settle it; returns the outcome settled. LeaseLost propagates."""
    outcome = await outcome_of(rt, claimed)
    await rt.backend.settle(claimed.lease, outcome)
    return outcome


async def outcome_of(rt: Runtime, claimed: Claimed) -> Outcome:
    """Run the job until it ends or suspends; what to settle. LeaseLost propagates."""
    job = claimed.job
    target = rt.app.registry.get(job.pipeline)
    if target is None:
        return _fail(
            "UnknownPipeline",
            f"no pipeline or task named {job.pipeline!r} is registered "
            f"in this worker's app ({rt.app.name}); is the worker running the right APP?",
        )
    try:
        args = target.sig.decode_args(rt.blobs.unwrap(job.args) or "{}")
    except Exception as exc:
        return _fail(
            "InvalidInput", f"input of {job.pipeline} does not match its parameters: {exc}"
        )
    saved: dict[str, StepRecord] = {}
    if not claimed.fresh:
        saved = {r.key: r for r in await rt.backend.steps(job.id)}
    remaining = None if job.deadline_at is None else max(0.0, job.deadline_at - time.time())
    deadline = asyncio.timeout(remaining)
    try:
        async with deadline:
            if isinstance(target, Pipeline):
                return await _run_pipeline(rt, claimed, target, args, saved)
            return await _run_task(rt, claimed, target, args, saved)
    except Suspend as suspend:
        outcome: Outcome = suspend.outcome
        return outcome
    except TimeoutError:
        if not deadline.expired():
            raise
        return _fail("DeadlineExceeded", f"job deadline of {job.timeout}s exceeded")


async def _run_task(
    rt: Runtime,
    claimed: Claimed,
    step: Step[Any, Any],
    args: dict[str, Any],
    saved: dict[str, StepRecord],
) -> Outcome:
    chain = [step, *step.options.fallback]
    try:
        done = await run_chain(rt, claimed.job, claimed.lease, chain, 0, args, saved, save=False)
    except StepFailed as exc:
        return Failed(json.dumps(exc.error | {"step": exc.step}))
    # A first-try success needs no step row: the job's result is the checkpoint. After
    # retries, the step row (with its attempts) is brought up to date in the same write.
    keep = done.unsaved and done.record.attempts > 1
    return Succeeded(done.record.result or "null", step=done.record if keep else None)


async def _run_pipeline(
    rt: Runtime,
    claimed: Claimed,
    pipeline: Pipeline[Any, Any],
    args: dict[str, Any],
    saved: dict[str, StepRecord],
) -> Outcome:
    ctx = Context(rt, claimed, saved)
    try:
        value = await pipeline.fn(ctx, **args)
    except StepFailed as exc:
        return Failed(json.dumps(exc.error | {"step": exc.step, "message": str(exc)}))
    except NonDeterminismError as exc:
        return _fail("NonDeterminismError", str(exc))
    except LeaseLost:
        raise
    except Exception as exc:
        return Failed(json.dumps(describe(exc)))
    try:
        text = codec.encode(value, f"result of pipeline {pipeline.name}")
    except PayloadError as exc:
        return _fail("PayloadError", str(exc))
    return Succeeded(rt.blobs.wrap(text))


def _fail(kind: str, message: str) -> Failed:
    return Failed(json.dumps({"type": kind, "message": message}))
