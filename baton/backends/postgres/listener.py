"""LISTEN/NOTIFY wake-ups: one listening connection per backend (per process), not per slot.

A transaction that makes work runnable ends with `pg_notify('baton_work', queue)`; the
notification is delivered at commit, so a woken worker always finds the job. Every waiter in
the process shares the one connection: it counts notifications per queue, and a waiter
returns once a count it watches moved past the mark it took before looking for work. When
the connection drops, every waiter is woken (a notification may have been missed) and the
listener reconnects with backoff; the caller's slow poll remains the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence

import psycopg

log = logging.getLogger("baton.postgres")

CHANNEL = "baton_work"
_ANY = ""  # counted on every notification and every reconnect: wakes every waiter


class Listener:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._counts: Counter[str] = Counter()
        self._changed = asyncio.Event()
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float) -> bool:
        """Start listening if not yet; True once LISTEN is in place (False if the server
        did not answer within `timeout`: the caller then falls back to polling)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="baton-pg-listener")
        if not self._listening.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._listening.wait()
        return self._listening.is_set()

    def mark(self, queues: Sequence[str]) -> tuple[int, ...]:
        return (self._counts[_ANY], *(self._counts[q] for q in queues))

    async def wait(self, queues: Sequence[str], mark: tuple[int, ...], timeout: float) -> bool:
        """Wait until a notification for `queues` (or a reconnect) came after `mark`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.mark(queues) == mark:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        return True

    def _bump(self, queue: str) -> None:
        self._counts[queue] += 1
        self._changed.set()

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except psycopg.OperationalError as exc:
                log.debug("listener cannot connect (%s); retrying in %.2fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    self._bump(_ANY)  # anything sent while we were away is looked for now
                    backoff = 0.05
                    async for note in conn.notifies():
                        self._bump(note.payload)
            except psycopg.OperationalError as exc:
                log.warning("wake-up listener lost its connection (%s); reconnecting", exc)
            finally:
                self._listening.clear()
                self._bump(_ANY)
            await asyncio.sleep(backoff)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
