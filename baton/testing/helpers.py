"""Helpers for testing code built on baton (and baton itself)."""

from __future__ import annotations

import asyncio
import contextlib

from ..worker import Worker


async def abandon(worker: Worker, task: asyncio.Task[None]) -> None:
    """Make an in-process worker vanish as if SIGKILLed: running jobs stop where they are,
    nothing is settled or released, and their leases stay held until they expire."""
    for entry in list(worker._running.values()):
        entry.reason = "lost"
        entry.task.cancel()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
