"""`Context`: how a pipeline calls steps, fans out, sleeps and reports progress, with replay.

Every call gets a deterministic key, "<call index>:<name>". On resume the pipeline function
runs again from the top; a call whose key has a saved result returns it without running,
so only unfinished work is redone. A saved history that names a different step at the
same index means the code or its input changed under a running job: NonDeterminismError.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from .. import codec
from ..errors import NonDeterminismError, StepFailed, Suspend
from ..ids import uuid7
from ..models import Claimed, JobRecord, Lease, NewJob, Park, Sleep, Status, StepRecord
from .registry import Pipeline, Step, Task, enqueue_options_of
from .runtime import Runtime
from .steps import execute

R = TypeVar("R")


class Context:
    """Handed to every pipeline as its first argument."""

    def __init__(self, rt: Runtime, claimed: Claimed, saved: dict[str, StepRecord]) -> None:
        self._rt = rt
        self._job = claimed.job
        self._lease = claimed.lease
        self._saved = saved
        self._index = 0
        self._names_at: dict[int, set[str]] = {}
        for key in saved:
            idx, _, name = key.partition(":")
            if idx.isdigit():
                self._names_at.setdefault(int(idx), set()).add(name)

    @property
    def job_id(self) -> str:
        return self._job.id

    @property
    def tenant(self) -> str:
        return self._job.tenant

    @property
    def attempt(self) -> int:
        return self._job.attempts

    # --- calls ------------------------------------------------------------------------

    @overload
    async def run(self, target: Step[Any, R], *args: Any, **kwargs: Any) -> R: ...
    @overload
    async def run(self, target: Pipeline[Any, R], *args: Any, **kwargs: Any) -> R: ...

    async def run(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a step (checkpointed) or another pipeline (as a child job) and return its result."""
        if isinstance(target, Pipeline):
            bound = target.sig.bind(args, kwargs)
            return (await self._spawn(target, target.name, [bound]))[0]
        if not isinstance(target, Step):
            raise TypeError(f"ctx.run takes a baton step or pipeline, not {target!r}")
        index = self._next()
        chain = [target, *target.options.fallback]
        self._check(index, {s.name for s in chain}, target.name)
        bound = target.sig.bind(args, kwargs)
        done = await run_chain(self._rt, self._job, self._lease, chain, index, bound, self._saved)
        return done.value

    async def map(self, step: Step[Any, R] | Pipeline[Any, R], items: Iterable[Any]) -> list[R]:
        """Call `step(item)` for every item as child jobs any worker may run; results in order.

        The pipeline gives up its worker slot while the children run and is woken when the
        last one ends. If any child fails, StepFailed is raised once all have ended.
        """
        bound = [step.sig.bind((item,), {}) for item in items]
        return await self._spawn(step, f"map:{step.name}", bound)

    async def sleep(self, seconds: float) -> None:
        """Park the job (not a worker) for `seconds`; survives restarts."""
        index = self._next()
        key = f"{index}:sleep"
        self._check(index, {"sleep"}, "sleep")
        if key in self._saved:
            return
        raise Suspend(Sleep(key, max(0.0, float(seconds))))

    async def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress (0..1) to watchers; not checkpointed, re-sent on replay."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"progress must be between 0 and 1, not {fraction}")
        await self._rt.backend.progress(self._lease, fraction, message)

    # --- internals --------------------------------------------------------------------

    def _next(self) -> int:
        index = self._index
        self._index += 1
        return index

    def _check(self, index: int, allowed: set[str], called: str) -> None:
        saved = self._names_at.get(index)
        if saved and not saved & allowed:
            raise NonDeterminismError(
                f"replay diverged at call {index}: the pipeline now calls {called!r} but its "
                f"saved history has {', '.join(sorted(saved))!r} there; the pipeline's code or "
                "input changed while the job was running"
            )

    async def _spawn(
        self, target: Step[Any, Any] | Pipeline[Any, Any], name: str, bound: list[dict[str, Any]]
    ) -> list[Any]:
        index = self._next()
        key = f"{index}:{name}"
        self._check(index, {name}, name)
        rec = self._saved.get(key)
        if rec is None:
            kids = await self._rt.backend.children(self._job.id, key)
            if len(kids) < len(bound) or any(not k.status.terminal for k in kids):
                raise Suspend(Park(key, self._child_specs(target, key, bound)))
            rec = self._gather(key, kids)
            await self._rt.backend.save_step(self._lease, rec)
            self._saved[key] = rec
        if rec.status != "succeeded":
            raise StepFailed(key, json.loads(rec.error or "{}"))
        return decode_list(self._rt, target, rec.result or "[]")

    def _child_specs(
        self, target: Step[Any, Any] | Pipeline[Any, Any], key: str, bound: list[dict[str, Any]]
    ) -> list[NewJob]:
        opts = enqueue_options_of(target)
        queue = opts.queue if isinstance(target, Pipeline | Task) else self._job.queue
        return [
            NewJob(
                id=uuid7(),
                pipeline=target.name,
                queue=queue,
                tenant=self._job.tenant,
                args=self._rt.blobs.wrap(codec.encode(args, f"arguments of {target.name}")),
                priority=self._job.priority,
                idempotency_key=f"{self._job.id}:{key}:{n}",
                timeout=opts.timeout,
                max_crashes=opts.max_crashes,
                parent_id=self._job.id,
                parent_key=key,
                parent_index=n,
            )
            for n, args in enumerate(bound)
        ]

    def _gather(self, key: str, kids: list[JobRecord]) -> StepRecord:
        for kid in kids:
            if kid.status != Status.SUCCEEDED:
                cause = json.loads(kid.error or "{}")
                error = {
                    "type": cause.get("type", "ChildFailed"),
                    "step": key,
                    "message": f"child {kid.parent_index} ({kid.id}) ended {kid.status.value}: "
                    f"{cause.get('message', '')}",
                    "child": kid.id,
                }
                return StepRecord(key, "failed", error=json.dumps(error), attempts=1)
        text = "[" + ",".join(kid.result or "null" for kid in kids) + "]"
        return StepRecord(key, "succeeded", result=self._rt.blobs.wrap(text), attempts=1)


@dataclass(slots=True)
class ChainResult:
    value: Any
    record: StepRecord  # the succeeded checkpoint
    unsaved: bool  # True when `save=False` left saving it to the caller


async def run_chain(
    rt: Runtime,
    job: JobRecord,
    lease: Lease,
    chain: list[Step[Any, Any]],
    index: int,
    args: dict[str, Any],
    saved: dict[str, StepRecord],
    *,
    save: bool = True,
) -> ChainResult:
    """Run a step, then its fallbacks in turn while they give up; StepFailed at the end.

    With `save=False` a fresh success is returned unsaved, so a task can fold its only
    checkpoint into the job's final settle: one transaction instead of two.
    """
    failure: StepRecord | None = None
    for step in chain:
        key = f"{index}:{step.name}"
        rec = saved.get(key)
        if rec is not None and rec.status == "succeeded":
            return ChainResult(decode_one(rt, step, rec.result), rec, unsaved=False)
        if rec is not None and rec.status == "failed":
            failure = rec
            continue
        res = await execute(rt, lease, job.tenant, step, key, args, rec, announce=save)
        if res.ok and not save:
            return ChainResult(res.value, res.record, unsaved=True)
        await rt.backend.save_step(lease, res.record)
        saved[key] = res.record
        if res.ok:
            return ChainResult(res.value, res.record, unsaved=False)
        failure = res.record
    assert failure is not None
    raise StepFailed(failure.key, json.loads(failure.error or "{}"))


def decode_one(rt: Runtime, step: Step[Any, Any] | Pipeline[Any, Any], text: str | None) -> Any:
    raw = rt.blobs.unwrap(text)
    return None if raw is None else step.sig.decode_result(raw)


def decode_list(rt: Runtime, step: Step[Any, Any] | Pipeline[Any, Any], text: str) -> list[Any]:
    items = codec.decode(rt.blobs.unwrap(text) or "[]")
    out = []
    for item in items:
        if rt.blobs.is_ref(item):
            item = codec.decode(rt.blobs.load_ref(item))
        out.append(codec.validate(item, step.sig.returns))
    return out
