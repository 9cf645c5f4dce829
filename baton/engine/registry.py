"""What users declare: steps (leaf work), pipelines (orchestrators) and tasks (a one-step
pipeline). Definitions only; running them is `runner.py`'s job."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from ..codec import Signature
from ..limits import parse_rate
from ..models import Permit
from ..retry import Retry
from ..schedule import Schedule

if TYPE_CHECKING:
    from ..app import App
    from ..job import Job

P = ParamSpec("P")
R = TypeVar("R")

EXECUTORS = ("async", "thread", "process")


@dataclass(frozen=True, slots=True)
class StepOptions:
    retry: Retry = field(default_factory=Retry)
    timeout: float | None = None
    concurrency: int | None = None
    concurrency_key: str | Callable[..., str] | None = None
    rate_limit: str | None = None
    executor: str = "async"  # "async" | "thread" | "process"; sync functions default to "thread"
    fallback: tuple[Step[Any, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class EnqueueOptions:
    """Per-definition defaults for jobs of a pipeline or task."""

    queue: str = "default"
    timeout: float | None = None
    max_crashes: int = 3
    priority: int = 0
    schedule: Schedule | None = None


class Step(Generic[P, R]):
    """A leaf function whose result is checkpointed. Calling it directly just runs it."""

    def __init__(self, app: App, fn: Callable[P, Any], name: str, options: StepOptions) -> None:
        if options.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, not {options.executor!r}")
        self.app = app
        self.fn = fn
        self.name = name
        self.options = options
        self.is_async = inspect.iscoroutinefunction(fn)
        if options.executor in ("process", "thread") and self.is_async:
            raise ValueError(
                f"step {name}: executor={options.executor!r} needs a plain (sync) function; "
                "async steps run on the event loop"
            )
        if options.executor == "async" and not self.is_async:
            self.options = _replace(options, executor="thread")
        self.sig = Signature(fn)
        self.permits = _permits(name, options)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        return self.fn(*args, **kwargs)

    def concurrency_key_for(self, args: dict[str, Any]) -> str:
        key = self.options.concurrency_key
        if key is None:
            return ""
        if callable(key):
            return str(key(**args))
        return str(args.get(key, ""))

    def __repr__(self) -> str:
        return f"<baton step {self.name}>"


class Pipeline(Generic[P, R]):
    """An orchestrator: deterministic code that calls steps through its `Context`."""

    def __init__(
        self, app: App, fn: Callable[..., Awaitable[R]], name: str, options: EnqueueOptions
    ) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"pipeline {name} must be an async function taking ctx first")
        self.app = app
        self.fn = fn
        self.name = name
        self.options = options
        self.sig = Signature(fn, skip_first=True)
        _check_schedulable(name, self.sig, options)
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    async def enqueue(
        self,
        *args: Any,
        idempotency_key: str | None = None,
        tenant: str = "default",
        priority: int | None = None,
        delay: float | timedelta | datetime | None = None,
        expires: float | timedelta | datetime | None = None,
        callback_url: str | None = None,
        queue: str | None = None,
        **kwargs: Any,
    ) -> Job:
        return await self.app.enqueue(
            self,
            args,
            kwargs,
            idempotency_key=idempotency_key,
            tenant=tenant,
            priority=priority,
            delay=delay,
            expires=expires,
            callback_url=callback_url,
            queue=queue,
        )

    def enqueue_sync(self, *args: Any, **kwargs: Any) -> Job:
        """`enqueue` for sync code (a Flask view, a script, a sync FastAPI endpoint)."""
        return self.app.run_sync(self.enqueue(*args, **kwargs))

    def __repr__(self) -> str:
        return f"<baton pipeline {self.name}>"


class Task(Step[P, R]):
    """A pipeline of one step: a plain background job with the step's retries and limits."""

    def __init__(
        self, app: App, fn: Callable[P, Any], name: str, options: StepOptions, job: EnqueueOptions
    ) -> None:
        super().__init__(app, fn, name, options)
        self.job_options = job
        _check_schedulable(name, self.sig, job)

    enqueue = Pipeline.enqueue
    enqueue_sync = Pipeline.enqueue_sync

    def __repr__(self) -> str:
        return f"<baton task {self.name}>"


Runnable = Pipeline[Any, Any] | Step[Any, Any]


class Registry:
    def __init__(self) -> None:
        self._items: dict[str, Runnable] = {}

    def add(self, item: Runnable) -> None:
        existing = self._items.get(item.name)
        if existing is not None and existing.fn is not item.fn:
            raise ValueError(f"two steps or pipelines are named {item.name!r}; pass name=")
        self._items[item.name] = item

    def get(self, name: str) -> Runnable | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return sorted(self._items)

    def pipelines(self) -> list[Pipeline[Any, Any] | Task[Any, Any]]:
        return [i for i in self._items.values() if isinstance(i, Pipeline | Task)]


def enqueue_options_of(item: Runnable) -> EnqueueOptions:
    if isinstance(item, Pipeline):
        return item.options
    if isinstance(item, Task):
        return item.job_options
    return EnqueueOptions()


def _check_schedulable(name: str, sig: Signature, options: EnqueueOptions) -> None:
    if options.schedule is not None and sig.required:
        raise ValueError(
            f"{name} runs on a schedule, so it cannot take required arguments "
            f"({', '.join(sig.required)})"
        )


def _permits(name: str, options: StepOptions) -> Sequence[Permit]:
    permits: list[Permit] = []
    if options.rate_limit:
        count, per = parse_rate(options.rate_limit)
        permits.append(Permit("rate", f"rate:{name}", count, per=per))
    if options.concurrency is not None:
        if options.concurrency < 1:
            raise ValueError(f"step {name}: concurrency must be at least 1")
        permits.append(Permit("concurrency", f"step:{name}", options.concurrency))
    return permits


def _replace(options: StepOptions, **changes: Any) -> StepOptions:
    import dataclasses

    return dataclasses.replace(options, **changes)
