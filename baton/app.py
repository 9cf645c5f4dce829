"""`App`: where steps and pipelines are declared, and the client door to the queue."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from . import codec
from .backends import Backend, open_backend, resolve_url
from .backends.callbacks import check_user_key
from .blobs import DEFAULT_THRESHOLD, BlobStore, default_location
from .engine.registry import (
    EnqueueOptions,
    Pipeline,
    Registry,
    Step,
    StepOptions,
    Task,
    enqueue_options_of,
)
from .errors import IdempotencyKeyReused, JobFailed, JobNotFound, UnknownPipeline
from .ids import uuid7
from .job import Job
from .models import Event, JobFilter, JobRecord, NewJob, Status
from .retry import Retry
from .schedule import Schedule
from .webhooks import WebhookConfig, check_callback_url
from .webhooks import register as register_webhooks

if TYPE_CHECKING:
    from fastapi import APIRouter

    from .engine.context import Context

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class App:
    """A baton application: one backend URL, its registered steps and pipelines.

    Nothing connects until first use, so importing the module that defines an App (for a
    worker, the CLI or a web app) is cheap and has no side effects.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        name: str | None = None,
        blobs: str | None = None,
        blob_threshold: int = DEFAULT_THRESHOLD,
        webhooks: WebhookConfig | None = None,
    ) -> None:
        self.url = resolve_url(url)
        self.name = name or "baton"
        self.registry = Registry()
        self._blob_location = blobs
        self._blob_threshold = blob_threshold
        self._backend: Backend | None = None
        self._blobs: BlobStore | None = None
        self._open_lock = threading.Lock()
        self._migrated = False
        self._sync: _SyncRunner | None = None
        self.webhooks = webhooks or WebhookConfig()
        register_webhooks(self, self.webhooks)

    # --- declaring ----------------------------------------------------------------------

    @overload
    def step(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Step[P, R]: ...
    @overload
    def step(self, fn: Callable[P, R], /) -> Step[P, R]: ...
    @overload
    def step(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        concurrency_key: str | Callable[..., str] | None = None,
        rate_limit: str | None = None,
        executor: str | None = None,
        fallback: list[Step[Any, Any]] | None = None,
    ) -> _StepDecorator: ...

    def step(
        self,
        fn: Any = None,
        /,
        *,
        name: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        concurrency_key: str | Callable[..., str] | None = None,
        rate_limit: str | None = None,
        executor: str | None = None,
        fallback: list[Step[Any, Any]] | None = None,
    ) -> Any:
        """Declare a step: a leaf function whose result is checkpointed."""
        options = _step_options(
            retry, timeout, concurrency, concurrency_key, rate_limit, executor, fallback
        )

        def register(f: Callable[..., Any]) -> Step[Any, Any]:
            item: Step[Any, Any] = Step(self, f, name or f.__name__, options)
            self.registry.add(item)
            return item

        return register(fn) if fn is not None else register

    @overload
    def task(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...
    @overload
    def task(self, fn: Callable[P, R], /) -> Task[P, R]: ...
    @overload
    def task(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        retry: Retry | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        concurrency_key: str | Callable[..., str] | None = None,
        rate_limit: str | None = None,
        executor: str | None = None,
        priority: int = 0,
        max_crashes: int = 3,
        fallback: list[Step[Any, Any]] | None = None,
        schedule: str | None = None,
        timezone: str = "UTC",
    ) -> _TaskDecorator: ...

    def task(
        self,
        fn: Any = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        retry: Retry | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        concurrency_key: str | Callable[..., str] | None = None,
        rate_limit: str | None = None,
        executor: str | None = None,
        priority: int = 0,
        max_crashes: int = 3,
        fallback: list[Step[Any, Any]] | None = None,
        schedule: str | None = None,
        timezone: str = "UTC",
    ) -> Any:
        """Declare a task: a background job of one step, with the step's retries and limits."""
        options = _step_options(
            retry, timeout, concurrency, concurrency_key, rate_limit, executor, fallback
        )
        job = EnqueueOptions(
            queue=queue,
            priority=priority,
            max_crashes=max_crashes,
            schedule=Schedule(schedule, timezone) if schedule else None,
        )

        def register(f: Callable[..., Any]) -> Task[Any, Any]:
            item: Task[Any, Any] = Task(self, f, name or f.__name__, options, job)
            self.registry.add(item)
            return item

        return register(fn) if fn is not None else register

    @overload
    def pipeline(
        self, fn: Callable[Concatenate[Context, P], Coroutine[Any, Any, R]], /
    ) -> Pipeline[P, R]: ...
    @overload
    def pipeline(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        timeout: float | None = None,
        priority: int = 0,
        max_crashes: int = 3,
        schedule: str | None = None,
        timezone: str = "UTC",
    ) -> _PipelineDecorator: ...

    def pipeline(
        self,
        fn: Any = None,
        /,
        *,
        name: str | None = None,
        queue: str = "default",
        timeout: float | None = None,
        priority: int = 0,
        max_crashes: int = 3,
        schedule: str | None = None,
        timezone: str = "UTC",
    ) -> Any:
        """Declare a pipeline: `async def p(ctx: baton.Context, ...)` orchestrating steps.

        `schedule` (cron syntax, read in `timezone`) enqueues a run at every tick, exactly
        once per tick however many workers serve `queue`.
        """
        options = EnqueueOptions(
            queue=queue,
            timeout=timeout,
            max_crashes=max_crashes,
            priority=priority,
            schedule=Schedule(schedule, timezone) if schedule else None,
        )

        def register(f: Callable[..., Any]) -> Pipeline[Any, Any]:
            item: Pipeline[Any, Any] = Pipeline(self, f, name or f.__name__, options)
            self.registry.add(item)
            return item

        return register(fn) if fn is not None else register

    # --- connecting ---------------------------------------------------------------------

    @property
    def blobs(self) -> BlobStore:
        if self._blobs is None:
            location = self._blob_location or default_location(self.url)
            self._blobs = BlobStore(location, self._blob_threshold)
        return self._blobs

    async def backend(self) -> Backend:
        """The connected backend, migrated on first use."""
        with self._open_lock:
            if self._backend is None:
                self._backend = open_backend(self.url)
        if not self._migrated:
            await self._backend.migrate()  # idempotent; concurrent first calls are harmless
            self._migrated = True
        return self._backend

    async def aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None
            self._migrated = False
        self._blobs = None
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def router(self, **options: Any) -> APIRouter:
        """The HTTP API (DESIGN §5) as a FastAPI `APIRouter`: `api.include_router(app.router())`.

        Options: `auth` (a dependency returning `baton.http.Caller`; default API keys from
        BATON_API_KEYS), `prefix`, `config` (`baton.http.RouterConfig`). Needs the `http` extra.
        """
        from .http import build_router

        return build_router(self, **options)

    def run_sync(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one of the app's coroutines from sync code (on a private event loop thread)."""
        with self._open_lock:  # threads racing here must share one loop (and one pool)
            if self._sync is None:
                self._sync = _SyncRunner()
        return self._sync.run(coro)

    # --- client -------------------------------------------------------------------------

    async def enqueue(
        self,
        target: Pipeline[Any, Any] | Step[Any, Any] | str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        tenant: str = "default",
        priority: int | None = None,
        delay: float | timedelta | datetime | None = None,
        expires: float | timedelta | datetime | None = None,
        callback_url: str | None = None,
        queue: str | None = None,
        same_request: bool = False,
    ) -> Job:
        """Store a job durably and return it. Same idempotency key (per tenant), same job.

        `same_request=True` (what the HTTP API asks) also requires the key to replay the
        request that made that job: another pipeline, input, queue, priority or callback
        raises `IdempotencyKeyReused`. Off by default, since keys such as a content hash
        mean "this document", whatever the rest of the call says."""
        check_user_key(idempotency_key)  # before any work: a reserved key is the caller's bug
        item = self._resolve(target)
        opts = enqueue_options_of(item)
        text = item.sig.encode_args(args, kwargs or {})
        if callback_url is not None:
            check_callback_url(callback_url, self.webhooks)
        spec = NewJob(
            id=uuid7(),
            pipeline=item.name,
            queue=queue or opts.queue,
            args=self.blobs.wrap(text),
            tenant=tenant,
            priority=opts.priority if priority is None else priority,
            delay=_seconds(delay) or 0.0,
            expires_in=_seconds(expires),
            idempotency_key=idempotency_key,
            callback_url=callback_url,
            timeout=opts.timeout,
            max_crashes=opts.max_crashes,
        )
        backend = await self.backend()
        (done,) = await backend.enqueue([spec])
        if done.created:  # no second round trip: we know what was stored
            now = time.time()
            rec: JobRecord | None = JobRecord(
                id=spec.id,
                pipeline=spec.pipeline,
                queue=spec.queue,
                tenant=spec.tenant,
                args=spec.args,
                status=Status.QUEUED,
                priority=spec.priority,
                run_at=now + spec.delay,
                attempts=0,
                created_at=now,
                idempotency_key=spec.idempotency_key,
                callback_url=spec.callback_url,
                timeout=spec.timeout,
                max_crashes=spec.max_crashes,
            )
        else:
            rec = await backend.get_job(done.id)
            if rec is not None and same_request:
                _same_request(rec, spec)
        assert rec is not None
        return self._job(rec, [], created=done.created)

    async def get_job(self, job_id: str, *, tenant: str | None = None) -> Job:
        backend = await self.backend()
        rec = await backend.get_job(job_id, tenant)
        if rec is None:
            raise JobNotFound(f"no job {job_id}")
        return self._job(rec, await backend.steps(job_id))

    async def list_jobs(
        self,
        *,
        status: Status | str | None = None,
        pipeline: str | None = None,
        queue: str | None = None,
        tenant: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[Job]:
        backend = await self.backend()
        filt = JobFilter(
            tenant=tenant,
            status=Status(status) if status else None,
            pipeline=pipeline,
            queue=queue,
            limit=limit,
            before=before,
        )
        return [self._job(r, []) for r in await backend.list_jobs(filt)]

    async def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        raise_on_failure: bool = False,
        tenant: str | None = None,
    ) -> Job:
        """Wait until the job ends (polling it with backoff, 5 ms growing to 250 ms)."""
        backend = await self.backend()
        pause = 0.005
        async with asyncio.timeout(timeout):
            while True:
                rec = await backend.get_job(job_id, tenant)
                if rec is None:
                    raise JobNotFound(f"no job {job_id}")
                if rec.status.terminal:
                    job = self._job(rec, await backend.steps(job_id))
                    if raise_on_failure and job.status != Status.SUCCEEDED:
                        raise JobFailed(job.id, job.status.value, job.error)
                    return job
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, 0.25)

    async def events(
        self, job_id: str, *, after: int = 0, limit: int = 1000, tenant: str | None = None
    ) -> list[Event]:
        """The job's event log from `after` on: what the live stream and the audit trail show."""
        backend = await self.backend()
        if tenant is not None and await backend.get_job(job_id, tenant) is None:
            raise JobNotFound(f"no job {job_id}")
        return await backend.events(job_id, after, limit)

    async def cancel(self, job_id: str, *, tenant: str | None = None) -> Job:
        backend = await self.backend()
        rec = await backend.cancel(job_id, tenant)
        if rec is None:
            raise JobNotFound(f"no job {job_id}")
        return self._job(rec, [])

    async def retry(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Run a failed job again from its last saved step."""
        backend = await self.backend()
        rec = await backend.retry(job_id, tenant)
        if rec is None:
            raise JobNotFound(f"no job {job_id}")
        return self._job(rec, [])

    # --- helpers ------------------------------------------------------------------------

    def _resolve(self, target: Pipeline[Any, Any] | Step[Any, Any] | str) -> Any:
        name = target if isinstance(target, str) else target.name
        item = self.registry.get(name)
        if item is None or not isinstance(item, Pipeline | Task):
            raise UnknownPipeline(f"no pipeline or task named {name!r} in this app")
        return item

    def _job(self, rec: JobRecord, steps: list[Any], created: bool = True) -> Job:
        result = None
        if rec.result is not None:
            item = self.registry.get(rec.pipeline)
            raw = self.blobs.unwrap(rec.result) or "null"
            try:
                result = item.sig.decode_result(raw) if item is not None else codec.decode(raw)
            except Exception:  # stored by another version of the code: show it raw
                result = codec.decode(raw)
        return Job.from_record(rec, result, steps, created)


class _StepDecorator(Protocol):
    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Step[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R], /) -> Step[P, R]: ...
    def __call__(self, fn: Any, /) -> Any: ...


class _PipelineDecorator(Protocol):
    def __call__(
        self, fn: Callable[Concatenate[Context, P], Coroutine[Any, Any, R]], /
    ) -> Pipeline[P, R]: ...


class _TaskDecorator(Protocol):
    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...
    @overload
    def __call__(self, fn: Callable[P, R], /) -> Task[P, R]: ...
    def __call__(self, fn: Any, /) -> Any: ...


def _step_options(
    retry: Retry | None,
    timeout: float | None,
    concurrency: int | None,
    concurrency_key: Any,
    rate_limit: str | None,
    executor: str | None,
    fallback: list[Step[Any, Any]] | None,
) -> StepOptions:
    return StepOptions(
        retry=retry or Retry(),
        timeout=timeout,
        concurrency=concurrency,
        concurrency_key=concurrency_key,
        rate_limit=rate_limit,
        executor=executor or "async",
        fallback=tuple(fallback or ()),
    )


def _seconds(value: float | timedelta | datetime | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (when - datetime.now(UTC)).total_seconds()
    return float(value)


class _SyncRunner:
    """A private event loop on a daemon thread, so sync callers share one connection."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._main, daemon=True, name=f"baton-sync-{os.getpid()}"
        )
        self._thread.start()

    def _main(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        if threading.current_thread() is not self._thread:  # run_sync(app.aclose()) is fine
            self._thread.join(timeout=5)


def _same_request(rec: JobRecord, spec: NewJob) -> None:
    """An idempotency key replays one request (the IETF idempotency-key draft): the same
    pipeline, input, queue, priority and callback. Args are compared as stored, which is
    exact because encoding is canonical and blobs are named by their digest. `delay` and
    `expires` are not compared: they are relative to now, so a retry a second later would
    differ."""
    for name in ("pipeline", "args", "queue", "priority", "callback_url"):
        if getattr(rec, name) != getattr(spec, name):
            raise IdempotencyKeyReused(
                f"idempotency key {spec.idempotency_key!r} was used for another request"
                f" (its {'input' if name == 'args' else name} differs)"
            )
