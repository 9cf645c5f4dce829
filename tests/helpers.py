"""Test helpers: poll-with-deadline instead of sleep-and-hope, and worker control."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import baton

T = TypeVar("T")


@overload
async def until(
    check: Callable[[], Awaitable[T]], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...
@overload
async def until(
    check: Callable[[], T], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...
async def until(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.01, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def status_of(app: baton.App, job_id: str) -> str:
    return (await app.get_job(job_id)).status.value


def start_worker(app: baton.App, **config: Any) -> tuple[baton.Worker, asyncio.Task[None]]:
    worker = baton.Worker(app, baton.WorkerConfig(**config))
    return worker, asyncio.create_task(worker.run())


async def crash(worker: baton.Worker, task: asyncio.Task[None]) -> None:
    """Simulate a worker dying mid-step: its jobs stop without settling; leases stay held."""
    from baton.testing.helpers import abandon

    await abandon(worker, task)
