"""Test helpers: poll-with-deadline instead of sleep-and-hope, and worker control."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import baton

T = TypeVar("T")


async def until(
    check: Callable[[], Awaitable[T] | T],
    timeout: float = 15.0,
    interval: float = 0.01,
    what: str = "condition",
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value  # type: ignore[misc]
        if value:
            return value  # type: ignore[return-value]
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
