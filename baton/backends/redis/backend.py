"""The Redis backend: every state transition is one Lua script, timed by the server's clock.

Layout (every key starts with the URL's `prefix`, default `baton:`): a hash per job
(`job:<id>`), its steps (`steps:<id>`, key -> JSON) and its event log (a list `ev:<id>`
whose n-th entry is event n); per queue a ready set (priority, then run_at, then id), a
delayed set and a lease set (both by time), and expiry/deadline sets for the few jobs that
have them; lexicographic id indexes for `list_jobs`; per-queue counts for `queue_stats`.
Work made runnable is announced on `wake:<queue>` (see `wake.py`). Ended root jobs are
deleted with their children after the retention period (`?retention=7d`).

Connection failures raise `BackendUnavailable`. A worker's fenced writes (settle, steps,
progress, permits) are retried for a while first, so a Redis restart costs a pause, not the
step: replaying a fenced write whose first attempt did land is refused as `LeaseLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...errors import BackendUnavailable, ConfigError, LeaseLost
from ...models import (
    Claimed,
    Enqueued,
    Event,
    Failed,
    JobFilter,
    JobRecord,
    Lease,
    NewJob,
    Outcome,
    Park,
    Permit,
    QueueStats,
    Release,
    RetryAt,
    Sleep,
    StepRecord,
    Succeeded,
)
from .. import redact
from . import codec
from .config import parse_url
from .conn import Clients
from .scripts import Scripts
from .wake import Waker

log = logging.getLogger("baton.redis")
T = TypeVar("T")

# unreachable, loading its data, a replica after a failover, or full (maxmemory with
# noeviction): the caller should back off and come back, which is what BackendUnavailable says
_DOWN = (RedisConnectionError, RedisTimeoutError, OutOfMemoryError, ReadOnlyError, OSError)
WRITE_RETRY = 30.0  # seconds a worker's fenced write keeps trying through an outage
PURGE_EVERY = 60.0  # seconds between retention sweeps, per backend instance
PURGE_BATCH = 200
ENQUEUE_CHUNK = 1000  # jobs per enqueue script, so one huge batch never blocks Redis for long
LIST_BUDGET = 2000  # index entries one list_jobs script call may scan


class RedisBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self.config = parse_url(url)
        self.prefix = self.config.prefix
        try:
            self._clients = Clients(self.config.client_url, self.prefix)
            self._clients_check()
        except ValueError as exc:
            raise ConfigError(redact(f"bad Redis URL {url!r}: {exc}")) from None
        self._next_purge = 0.0
        self._purging: asyncio.Task[None] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "redis",
            "url": redact(self.url),
            "prefix": self.prefix,
            "retention": self.config.retention,
        }

    # --- plumbing ---------------------------------------------------------------------

    def _clients_check(self) -> None:
        """Let redis-py parse the URL now, so a bad one fails at open, not at first use."""
        ConnectionPool.from_url(self.config.client_url)

    @property
    def _r(self) -> Any:
        return self._clients.here().r

    @property
    def _scripts(self) -> Scripts:
        return self._clients.here().scripts

    @property
    def _waker(self) -> Waker:
        return self._clients.here().waker

    def _unavailable(self, exc: BaseException) -> BackendUnavailable:
        where = redact(self.config.client_url)
        if isinstance(exc, OutOfMemoryError):
            return BackendUnavailable(f"Redis at {where} is full (maxmemory) and refuses writes")
        return BackendUnavailable(redact(f"Redis at {where} is unreachable: {exc}"))

    async def _call(self, op: Callable[[], Awaitable[T]], retry: bool = False) -> T:
        """Run one Redis operation, mapping connection failures to BackendUnavailable;
        with `retry`, keep trying for WRITE_RETRY seconds first."""
        deadline = time.monotonic() + WRITE_RETRY
        delay = 0.05
        while True:
            try:
                return await op()
            except _DOWN as exc:
                if not retry or time.monotonic() > deadline:
                    raise self._unavailable(exc) from exc
            except ResponseError as exc:
                if not str(exc).startswith(("LOADING", "MASTERDOWN", "TRYAGAIN")):
                    raise
                if not retry or time.monotonic() > deadline:
                    raise self._unavailable(exc) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _run(self, name: str, *args: Any, retry: bool = False) -> Any:
        return await self._call(lambda: self._scripts.run(name, *args), retry)

    async def _fenced(self, lease: Lease, name: str, *args: Any) -> None:
        if not await self._run(name, lease.job_id, lease.token, *args, retry=True):
            raise _lost(lease)

    async def _pipelined(self, build: Callable[[Any], object]) -> list[Any]:
        """Several reads in one round trip (a pipeline, not a transaction)."""

        async def read() -> list[Any]:
            async with self._r.pipeline(transaction=False) as pipe:
                build(pipe)
                return list(await pipe.execute())

        return await self._call(read)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # --- lifecycle --------------------------------------------------------------------

    async def migrate(self) -> None:
        """Nothing to create (keys appear as they are written); checks the server."""
        await self._call(self._r.ping)
        await self._call(lambda: self._r.set(self._key("schema"), "1"))
        try:
            policy = (await self._r.config_get("maxmemory-policy")).get("maxmemory-policy")
        except RedisError:  # CONFIG is often disabled on managed Redis: cannot tell
            return
        if policy and policy != "noeviction":
            log.warning(
                "Redis maxmemory-policy is %r: under memory pressure Redis will delete baton's "
                "jobs. Set maxmemory-policy noeviction (see docs/guides/redis.md).",
                policy,
            )

    async def aclose(self) -> None:
        sweep, self._purging = self._purging, None
        if sweep is not None and sweep.get_loop() is asyncio.get_running_loop():
            sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sweep
        await self._clients.aclose()

    # --- producers --------------------------------------------------------------------

    async def enqueue(self, jobs: Sequence[NewJob]) -> list[Enqueued]:
        out: list[Enqueued] = []
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            flat = await self._run("enqueue", codec.jobs_json(jobs[start : start + ENQUEUE_CHUNK]))
            out.extend(Enqueued(flat[i], bool(flat[i + 1])) for i in range(0, len(flat), 2))
        return out

    async def cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        return _job_or_none(await self._run("cancel", job_id, tenant or ""))

    async def retry(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        return _job_or_none(await self._run("retry", job_id, tenant or ""))

    # --- workers ----------------------------------------------------------------------

    async def claim(
        self, worker: str, queues: Sequence[str], n: int, lease_for: float
    ) -> list[Claimed]:
        if n <= 0 or not queues:
            return []
        self._maybe_purge()
        rows = await self._run("claim", worker, n, repr(float(lease_for)), *queues)
        claimed = []
        for row in rows:
            job = codec.job_from_values(row)
            lease = Lease(job.id, job.lease_token, worker)
            claimed.append(Claimed(job, lease, fresh=job.lease_token == 1))
        return claimed

    def _maybe_purge(self) -> None:
        """Start the retention sweep in the background, at most every PURGE_EVERY seconds
        per instance, so a claim never waits for it."""
        if self.config.retention is None or time.monotonic() < self._next_purge:
            return
        if self._purging is not None and not self._purging.done():
            return
        self._next_purge = time.monotonic() + PURGE_EVERY
        self._purging = asyncio.get_running_loop().create_task(self._sweep(), name="baton-purge")

    async def _sweep(self) -> None:
        try:
            await self.purge()
        except Exception as exc:  # the next sweep tries again
            log.warning("retention sweep failed: %s", exc)

    async def purge(self) -> int:
        """Delete the ended root jobs older than the retention period, with their children,
        steps, events and idempotency keys; return how many jobs went. Claims start it every
        minute or so, in the background; public for tests and for a cron job without workers."""
        if self.config.retention is None:
            return 0
        total = 0
        while True:
            deleted = int(await self._run("purge", repr(self.config.retention), PURGE_BATCH))
            total += deleted
            if deleted < PURGE_BATCH:
                return total

    async def renew(self, worker: str, lease_for: float, leases: Sequence[Lease]) -> list[str]:
        if not leases:
            return []
        flat = await self._run("renew", worker, repr(float(lease_for)), *(x.job_id for x in leases))
        return _not_ours(leases, flat)

    async def lost(self, leases: Sequence[Lease]) -> list[str]:
        if not leases:
            return []

        rows = await self._pipelined(
            lambda pipe: [
                pipe.hmget(self._key("job", x.job_id), "lease_token", "status") for x in leases
            ]
        )
        return _not_ours(leases, [v for pair in rows for v in pair])

    async def steps(self, job_id: str) -> list[StepRecord]:
        raw = await self._call(lambda: self._r.hvals(self._key("steps", job_id)))
        return sorted((codec.step_from_json(r) for r in raw), key=codec.step_order)

    async def start_step(self, lease: Lease, key: str) -> None:
        await self._fenced(lease, "start_step", key)

    async def save_step(self, lease: Lease, record: StepRecord) -> None:
        await self._fenced(lease, "save_step", codec.step_json(record))

    async def progress(self, lease: Lease, fraction: float, message: str | None) -> None:
        data = json.dumps({"progress": fraction, "message": message})
        await self._fenced(lease, "progress", repr(float(fraction)), message or "", data)

    async def settle(self, lease: Lease, outcome: Outcome) -> None:
        mode, step, payload, number = _settle_args(outcome)
        await self._fenced(lease, "settle", mode, codec.step_json(step), payload, number)

    async def children(self, job_id: str, parent_key: str) -> list[JobRecord]:
        members = await self._call(
            lambda: self._r.zrangebylex(
                self._key("kids", job_id), f"[{parent_key}\0", f"({parent_key}\1"
            )
        )
        return await self._jobs([m.rsplit("\0", 1)[1] for m in members])

    async def acquire(self, lease: Lease, permit: Permit) -> float | None:
        answer = await self._run(
            "acquire",
            lease.job_id,
            lease.token,
            permit.kind,
            permit.name,
            permit.key,
            permit.limit,
            repr(float(permit.per)),
            retry=True,
        )
        if answer == "lost":
            raise _lost(lease)
        return None if answer == "ok" else float(answer)

    async def release_permit(self, lease: Lease, permit: Permit) -> None:
        if permit.kind == "concurrency":
            args = (lease.job_id, lease.token, permit.name, permit.key)
            await self._run("release_permit", *args, retry=True)

    async def pause_rate(self, name: str, seconds: float) -> None:
        await self._run("pause_rate", name, repr(float(seconds)), retry=True)

    async def wait_for_work(self, queues: Sequence[str], timeout: float) -> None:
        try:
            await self._waker.subscribe(queues)
        except (RedisError, OSError, TimeoutError) as exc:
            raise self._unavailable(exc) from exc
        self._waker.arm()  # before the look, so a script after it still wakes us
        now, due = await self._run("next_due", *queues)
        if due:
            timeout = min(timeout, max(0.0, float(due) - float(now)) + 0.001)
        if timeout > 0:
            await self._waker.wait(timeout)

    # --- reads ------------------------------------------------------------------------

    async def _jobs(self, ids: Sequence[str]) -> list[JobRecord]:
        """Jobs by id, in that order; ids whose job is gone are left out."""
        if not ids:
            return []

        rows = await self._pipelined(
            lambda pipe: [pipe.hgetall(self._key("job", job_id)) for job_id in ids]
        )
        return [codec.job_from_hash(h) for h in rows if h]

    async def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        h = await self._call(lambda: self._r.hgetall(self._key("job", job_id)))
        if not h or (tenant is not None and h.get("tenant") != tenant):
            return None
        return codec.job_from_hash(h)

    async def list_jobs(self, filt: JobFilter) -> list[JobRecord]:
        if filt.limit <= 0:
            return []
        if filt.parent_id is not None:
            return await self._list_children(filt)
        ids: list[str] = []
        cursor = filt.before or ""
        index = await self._pick_index(filt)
        status = filt.status.value if filt.status else ""
        while len(ids) < filt.limit:
            found = await self._run(
                "list_jobs",
                index,
                cursor,
                filt.limit - len(ids),
                LIST_BUDGET,
                filt.tenant or "",
                filt.pipeline or "",
                filt.queue or "",
                status,
            )
            ids.extend(found[1:])
            cursor = found[0]
            if not cursor:
                break
        return await self._jobs(ids[: filt.limit])

    async def _pick_index(self, filt: JobFilter) -> str:
        """The smallest index among the filters given (all jobs when none is)."""
        candidates = [
            self._key("idx", kind, value)
            for kind, value in (
                ("status", filt.status.value if filt.status else None),
                ("tenant", filt.tenant),
                ("pipeline", filt.pipeline),
                ("queue", filt.queue),
            )
            if value is not None
        ]
        if not candidates:
            return self._key("jobs")
        if len(candidates) == 1:
            return candidates[0]

        counts = await self._pipelined(lambda pipe: [pipe.zcard(key) for key in candidates])
        return min(zip(counts, candidates, strict=True))[1]

    async def _list_children(self, filt: JobFilter) -> list[JobRecord]:
        members = await self._call(
            lambda: self._r.zrange(self._key("kids", filt.parent_id or ""), 0, -1)
        )
        jobs = await self._jobs(sorted((m.rsplit("\0", 1)[1] for m in members), reverse=True))
        keep = [
            j
            for j in jobs
            if (filt.before is None or j.id < filt.before)
            and (filt.tenant is None or j.tenant == filt.tenant)
            and (filt.pipeline is None or j.pipeline == filt.pipeline)
            and (filt.queue is None or j.queue == filt.queue)
            and (filt.status is None or j.status == filt.status)
        ]
        return keep[: filt.limit]

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[Event]:
        if limit <= 0:
            return []
        entries = await self._call(
            lambda: self._r.lrange(self._key("ev", job_id), after, after + limit - 1)
        )
        return [codec.event_from_entry(job_id, after + 1 + n, e) for n, e in enumerate(entries)]

    async def queue_stats(self, tenant: str | None = None) -> list[QueueStats]:
        flat = await self._run("queue_stats", tenant or "")
        now = float(flat[0])
        out = []
        for i in range(1, len(flat), 9):
            queue, queued, running, waiting, failed, ok, cancelled, expired, oldest = flat[
                i : i + 9
            ]
            out.append(
                QueueStats(
                    queue,
                    int(queued),
                    int(running),
                    int(waiting),
                    int(failed),
                    None if oldest == "" else max(0.0, now - float(oldest)),
                    succeeded=int(ok),
                    cancelled=int(cancelled),
                    expired=int(expired),
                )
            )
        return out

    async def pending(self, queues: Sequence[str]) -> int:
        rows = await self._pipelined(
            lambda pipe: [
                pipe.hmget(self._key("stats", q), "queued", "running", "waiting") for q in queues
            ]
        )
        return sum(int(v or 0) for row in rows for v in row)


def _lost(lease: Lease) -> LeaseLost:
    return LeaseLost(f"lease {lease.token} on job {lease.job_id} is no longer valid")


def _not_ours(leases: Sequence[Lease], flat: Sequence[Any]) -> list[str]:
    """Ids among `leases` whose job's (token, status) is not (lease token, running)."""
    out = []
    for n, lease in enumerate(leases):
        token, status = flat[2 * n], flat[2 * n + 1]
        if status != "running" or not token or int(token) != lease.token:
            out.append(lease.job_id)
    return out


def _job_or_none(flat: Sequence[Any]) -> JobRecord | None:
    return codec.job_from_hash(codec.pairs(flat)) if flat else None


def _settle_args(outcome: Outcome) -> tuple[str, StepRecord | None, str, str]:
    """(mode, step to save, payload, number) for settle.lua."""
    if isinstance(outcome, Succeeded):
        return "succeeded", outcome.step, outcome.result, "0"
    if isinstance(outcome, Failed):
        return "failed", outcome.step, outcome.error, "0"
    if isinstance(outcome, RetryAt):
        return "retry", outcome.step, "", repr(float(outcome.delay))
    if isinstance(outcome, Park):
        children = [codec.new_job_data(c) for c in outcome.children]
        return "park", None, json.dumps({"key": outcome.key, "children": children}), "0"
    if isinstance(outcome, Sleep):
        return "sleep", None, outcome.step_key, repr(float(outcome.seconds))
    if isinstance(outcome, Release):
        return "release", None, "", "0"
    raise TypeError(f"unknown outcome {outcome!r}")
