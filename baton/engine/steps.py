"""Running one step: fleet-wide permits, timeout, executor, and the retry loop.

The outcome is returned rather than settled, so a task can fold its only step into the
job's final settle (one transaction), while a pipeline saves it as a checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import codec
from ..errors import Suspend
from ..metrics import observe_step
from ..models import Lease, RetryAt, StepRecord
from ..retry import describe, http_status, is_retryable, retry_after
from .current import StepContext, reset_current, set_current
from .executors import RemoteError, StepTimeout

if TYPE_CHECKING:
    from .registry import Step
    from .runtime import Runtime


@dataclass(slots=True)
class StepResult:
    ok: bool
    record: StepRecord  # status "succeeded" (result JSON, maybe a blob ref) or "failed"
    value: Any = None  # the Python value, when ok and it was computed here


async def execute(
    rt: Runtime,
    lease: Lease,
    tenant: str,
    step: Step[Any, Any],
    key: str,
    args: dict[str, Any],
    prior: StepRecord | None,
    announce: bool = True,
) -> StepResult:
    """Run `step` until it succeeds or gives up. A long backoff raises Suspend(RetryAt)."""
    policy = step.options.retry
    attempt = prior.attempts if prior is not None else 0
    first_start = prior.started_at if prior is not None else None
    while True:
        attempt += 1
        await _acquire(rt, lease, step, args)
        began = time.perf_counter()
        try:
            if announce:
                # Awaited, not pipelined: if this step takes the worker down before the
                # write lands, the crash would be charged to the previous step.
                await rt.backend.start_step(lease, key)
            first_start = first_start or time.time()
            info = StepContext(lease.job_id, key, attempt, tenant)
            token = set_current(info)
            try:
                value = await _invoke(rt, step, args, info)
                observe_step(step.name, "ok", time.perf_counter() - began)
                if isinstance(value, _Raw):  # already JSON, from a child process
                    text, value = str(value), step.sig.decode_result(str(value))
                else:  # a result that cannot be stored is this step's error, not the worker's
                    text = codec.encode(value, f"result of step {step.name}")
            finally:
                reset_current(token)
        except Exception as exc:
            observe_step(step.name, "error", time.perf_counter() - began)
            error, retryable, wait_hint = await _classify(rt, step, exc, key, attempt)
            rec = StepRecord(
                key,
                "failed",
                error=json.dumps(error),
                attempts=attempt,
                worker=lease.owner,
                started_at=first_start,
            )
            if not retryable or attempt >= policy.attempts:
                return StepResult(False, rec)
            rec.status = "retrying"
            delay = policy.delay(attempt, wait_hint)
            if delay > policy.inline_max:
                raise Suspend(RetryAt(delay, step=rec)) from None
            await rt.backend.save_step(lease, rec)
            await asyncio.sleep(delay)
            continue
        finally:
            await _release(rt, lease, step, args)
        rec = StepRecord(
            key,
            "succeeded",
            result=rt.blobs.wrap(text),
            attempts=attempt,
            worker=lease.owner,
            started_at=first_start,
        )
        return StepResult(True, rec, value)


async def _classify(
    rt: Runtime, step: Step[Any, Any], exc: Exception, key: str, attempt: int
) -> tuple[dict[str, Any], bool, float | None]:
    """(error record, retryable?, Retry-After seconds). A 429 with Retry-After also pauses
    the step's rate bucket for the whole fleet."""
    remote = exc if isinstance(exc, RemoteError) else None
    wait_hint = remote.retry_after if remote else retry_after(exc)
    status = remote.info.get("http_status") if remote else http_status(exc)
    if wait_hint and status == 429:
        for permit in step.permits:
            if permit.kind == "rate":
                await rt.backend.pause_rate(permit.name, float(wait_hint))
    error = describe(exc) | {"step": key, "attempt": attempt}
    if remote:
        error.update({k: v for k, v in remote.info.items() if k in _REMOTE_FIELDS})
    retryable = remote.retryable if remote else is_retryable(exc, step.options.retry)
    return error, retryable, wait_hint


_REMOTE_FIELDS = ("type", "message", "traceback", "http_status")


class _Raw(str):
    """A result already encoded as JSON (from the process executor)."""


async def _invoke(
    rt: Runtime, step: Step[Any, Any], args: dict[str, Any], info: StepContext
) -> Any:
    timeout = step.options.timeout
    executor = step.options.executor
    if executor == "process":
        encoded = codec.encode(args, f"arguments of step {step.name}")
        return _Raw(
            await rt.processes().run(step.fn.__module__, _attr_of(step), encoded, timeout, info)
        )
    try:
        async with asyncio.timeout(timeout):
            if executor == "async":
                return await step.fn(**args)
            return await asyncio.to_thread(_call_with_context, step, args, info)
    except TimeoutError as exc:
        if isinstance(exc, StepTimeout):
            raise
        raise StepTimeout(f"step {step.name} ran past its timeout of {timeout}s") from None


def _attr_of(step: Step[Any, Any]) -> str:
    """The module attribute under which the Step object is found (its function's name)."""
    return step.fn.__qualname__


def _call_with_context(step: Step[Any, Any], args: dict[str, Any], info: StepContext) -> Any:
    token = set_current(info)
    try:
        return step.fn(**args)
    finally:
        reset_current(token)


async def _acquire(rt: Runtime, lease: Lease, step: Step[Any, Any], args: dict[str, Any]) -> None:
    if not step.permits:
        return
    key = step.concurrency_key_for(args)
    for permit in step.permits:
        p = permit if permit.kind == "rate" else _keyed(permit, key)
        pause = 0.01
        while True:
            wait = await rt.backend.acquire(lease, p)
            if wait is None:
                break
            await asyncio.sleep(min(max(wait, pause), 1.0))
            pause = min(pause * 2, 0.5)


async def _release(rt: Runtime, lease: Lease, step: Step[Any, Any], args: dict[str, Any]) -> None:
    key = step.concurrency_key_for(args)
    for permit in step.permits:
        if permit.kind == "concurrency":
            with contextlib.suppress(Exception):
                await rt.backend.release_permit(lease, _keyed(permit, key))


def _keyed(permit: Any, key: str) -> Any:
    import dataclasses

    return dataclasses.replace(permit, key=key) if key else permit
