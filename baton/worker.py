"""The worker: claim -> run -> settle, with heartbeats, cancellation and graceful shutdown.

One worker is one asyncio loop holding up to `concurrency` leased jobs. It claims in
batches, renews every lease it holds with one write per interval, checks for cancelled or
stolen leases often (a read), and on SIGTERM stops claiming, lets running jobs finish
within `grace` seconds, then hands the rest back (`Release`) so another worker resumes
them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .engine.registry import enqueue_options_of
from .engine.runner import outcome_of
from .engine.runtime import Runtime
from .errors import BackendUnavailable, LeaseLost
from .models import Claimed, Lease, Release
from .schedule import MISFIRE_GRACE

if TYPE_CHECKING:
    from .app import App
    from .backends import Backend

log = logging.getLogger("baton.worker")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 10
    lease: float = 30.0  # seconds a claim lasts without a heartbeat
    heartbeat: float | None = None  # default lease / 3
    check_interval: float = 0.5  # how often to look for cancelled or stolen leases
    poll: float = 1.0  # safety-net poll when no wake-up arrives
    grace: float = 30.0  # SIGTERM: how long running jobs may take to finish
    burst: bool = False  # exit once nothing is left to do in these queues
    process_pool_size: int | None = None


class _Running:
    __slots__ = ("lease", "reason", "settling", "task")

    def __init__(self, lease: Lease, task: asyncio.Task[None]) -> None:
        self.lease = lease
        self.task = task
        self.reason: str | None = None  # why we cancelled it: "lost" or "shutdown"
        self.settling = False  # its work is done; only its final write is in flight


class Worker:
    def __init__(self, app: App, config: WorkerConfig | None = None) -> None:
        self.app = app
        self.config = config or WorkerConfig()
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._running: dict[str, _Running] = {}
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self.processed = 0

    def stop(self) -> None:
        """Stop claiming; running jobs get `grace` seconds to finish."""
        self._stopping.set()

    async def run(self) -> None:
        backend = await self._connect()
        for name in self.app.registry.names():
            item = self.app.registry.get(name)
            if item is not None:
                item.sig.warm()
        rt = Runtime(self.app, backend, self.app.blobs, self.id, self.config.process_pool_size)
        helpers = [
            asyncio.create_task(self._heartbeat(rt)),
            asyncio.create_task(self._watch(rt)),
            asyncio.create_task(self._schedule()),
        ]
        try:
            await self._loop(rt)
        finally:
            await self._drain(rt)
            for h in helpers:
                h.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            rt.close()

    async def _connect(self) -> Backend:
        """The store, waiting for it when it is down at start (a deploy racing a database
        restart must not leave the fleet without workers)."""
        delay = 0.1
        while True:
            try:
                return await self.app.backend()
            except BackendUnavailable as exc:
                if self._stopping.is_set():
                    raise
                _log_store_error(exc, "store unavailable at start", delay)
                await self._wait(asyncio.sleep(delay), delay, on_slot=False)
                delay = min(delay * 2, 5.0)

    @property
    def _busy(self) -> int:
        """Slots in use: a job whose final write is in flight no longer holds one, so the
        next claim can share that write's transaction (group commit)."""
        return sum(1 for r in self._running.values() if not r.settling)

    async def _loop(self, rt: Runtime) -> None:
        cfg = self.config
        backoff = 0.1
        while not self._stopping.is_set():
            free = cfg.concurrency - self._busy
            if free <= 0:
                await self._wait(self._slot_freed.wait(), None)
                await asyncio.sleep(0)  # let jobs finishing in the same tick free theirs too
                continue
            try:
                claimed = await rt.backend.claim(self.id, cfg.queues, free, cfg.lease)
                for c in claimed:
                    self._start(rt, c)
                if claimed:
                    await asyncio.sleep(0)  # the jobs begin before we go back to the store
                if len(claimed) == free:
                    continue  # there may be more: claim again as soon as a slot frees
                # The queues ran dry. Wait for new work, not for our own jobs to end:
                # claiming again on every finish would be an empty write each time.
                idle = not self._running and not claimed
                if cfg.burst and idle and await rt.backend.pending(cfg.queues) == 0:
                    return
                work = rt.backend.wait_for_work(cfg.queues, cfg.poll)
                await self._wait(work, cfg.poll, on_slot=cfg.burst)
            except Exception as exc:  # the store is down or locked: keep the worker, try again
                _log_store_error(exc, "claim failed", backoff)
                await self._wait(asyncio.sleep(backoff), backoff, on_slot=False)
                backoff = min(backoff * 2, cfg.poll * 10)
                continue
            backoff = 0.1

    async def _wait(
        self, aw: Awaitable[object], timeout: float | None, on_slot: bool = True
    ) -> None:
        """Wait for `aw`, the stop signal or (if `on_slot`) a freed slot, whichever is first."""
        self._slot_freed.clear()
        waiters = [asyncio.ensure_future(aw), asyncio.ensure_future(self._stopping.wait())]
        if on_slot:
            waiters.append(asyncio.ensure_future(self._slot_freed.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _start(self, rt: Runtime, claimed: Claimed) -> None:
        task = asyncio.create_task(self._run_one(rt, claimed), name=f"baton-job-{claimed.job.id}")
        self._running[claimed.job.id] = _Running(claimed.lease, task)

    async def _run_one(self, rt: Runtime, claimed: Claimed) -> None:
        job_id = claimed.job.id
        try:
            outcome = await outcome_of(rt, claimed)
            entry = self._running.get(job_id)
            if entry is not None:
                entry.settling = True
                self._slot_freed.set()
            await rt.backend.settle(claimed.lease, outcome)
            self.processed += 1
        except LeaseLost:
            log.info("job %s: lease lost (cancelled or taken over); stopped", job_id)
        except asyncio.CancelledError:
            entry = self._running.get(job_id)
            if entry is not None and entry.reason == "shutdown":
                with contextlib.suppress(LeaseLost, Exception):
                    await rt.backend.settle(claimed.lease, Release())
            elif entry is None or entry.reason is None:
                raise
        except Exception:
            log.exception("job %s: worker error; the lease will expire and the job resume", job_id)
        finally:
            self._running.pop(job_id, None)
            self._slot_freed.set()

    async def _heartbeat(self, rt: Runtime) -> None:
        interval = self.config.heartbeat or self.config.lease / 3
        while True:
            await asyncio.sleep(interval)
            try:
                leases = [r.lease for r in self._running.values()]
                lost = await rt.backend.renew(self.id, self.config.lease, leases)
                self._cancel(lost, "lost")
            except Exception:
                log.exception("heartbeat failed; retrying")

    async def _watch(self, rt: Runtime) -> None:
        while True:
            await asyncio.sleep(self.config.check_interval)
            if not self._running:
                continue
            try:
                lost = await rt.backend.lost([r.lease for r in self._running.values()])
                self._cancel(lost, "lost")
            except Exception:
                log.exception("lease check failed; retrying")

    async def _schedule(self) -> None:
        """Enqueue every tick of the scheduled pipelines on our queues. Each tick's key is
        the tick, so every worker may try and exactly one job results."""
        items = [
            (item, opts.schedule)
            for item in self.app.registry.pipelines()
            if (opts := enqueue_options_of(item)).schedule is not None
            and opts.queue in self.config.queues
        ]
        if not items:
            return
        done: dict[str, datetime] = {}
        while True:
            now = datetime.now(UTC)
            for item, sched in items:
                tick = sched.previous(now)
                if now - tick > MISFIRE_GRACE or done.get(item.name) == tick:
                    continue
                try:
                    await self.app.enqueue(item, idempotency_key=sched.key(item.name, tick))
                    done[item.name] = tick
                except Exception:
                    log.exception("could not enqueue %s for %s; will retry", item.name, tick)
            wake = min(sched.next(now) for _, sched in items)
            await asyncio.sleep(min(60.0, max(0.01, (wake - datetime.now(UTC)).total_seconds())))

    def _cancel(self, job_ids: list[str], reason: str) -> None:
        for job_id in job_ids:
            entry = self._running.get(job_id)
            if entry is not None and entry.reason is None:
                entry.reason = reason
                entry.task.cancel()

    async def _drain(self, rt: Runtime) -> None:
        if not self._running:
            return
        tasks = [r.task for r in self._running.values()]
        _, pending = await asyncio.wait(tasks, timeout=self.config.grace)
        if pending:
            log.warning("grace period over: releasing %d job(s) to other workers", len(pending))
            self._cancel([jid for jid, r in self._running.items() if r.task in pending], "shutdown")
            await asyncio.gather(*pending, return_exceptions=True)


def _log_store_error(exc: Exception, what: str, retry_in: float) -> None:
    """An unreachable store is expected weather: one line. Anything else: the traceback."""
    if isinstance(exc, BackendUnavailable):
        log.warning("%s: %s; retrying in %.1fs", what, exc, retry_in)
    else:
        log.exception("%s; retrying in %.1fs", what, retry_in)


async def run_worker(
    app: App, config: WorkerConfig | None = None, install_signals: bool = False
) -> Worker:
    """Run a worker until it is stopped (or, in burst mode, until its queues are drained)."""
    worker = Worker(app, config)
    if install_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
    await worker.run()
    return worker
