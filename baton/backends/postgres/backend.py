"""The PostgreSQL backend: workers on many machines sharing one database.

psycopg 3 (async) over a small connection pool. Claims take several jobs in one statement
with `FOR UPDATE SKIP LOCKED`; lapsed leases are recovered inside the claim, so no sweeper
is needed; every time comes from the database clock (`baton_now()`), never a worker's. Idle
workers wait on LISTEN/NOTIFY (one listening connection per process), with a slow poll as the
safety net. Each transition is one transaction: the functions in `jobs.py` and `permits.py`,
the SQL in `queries.sql`, the schema in `migrations/`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
    Permit,
    QueueStats,
    Status,
    StepRecord,
    Succeeded,
)
from ..filters import job_filter_sql
from . import jobs, permits
from .db import Conn, Database, parse_url
from .listener import Listener
from .migrate import migrate
from .sql import JOB_SQL, Tx, job_from_row, lost, step_from_row

T = TypeVar("T")
log = logging.getLogger("baton.postgres")

_LISTEN_WAIT = 2.0  # seconds to wait for LISTEN before a wait falls back to its timeout
_PLAIN_MAX = 10_000  # claims remembered for the one-statement settle (see `settle`)


class PostgresBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self._config = parse_url(url)
        self._db = Database(url, self._config)
        self._listener = Listener(self._config.conninfo)
        # job id -> lease token, for jobs claimed here that have no callback_url: their
        # ending needs no outbox row, so it can commit as one autocommit statement
        self._plain: dict[str, int] = {}

    def describe(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        return {
            "backend": "postgres",
            "host": parts.hostname or "localhost",
            "port": parts.port or 5432,
            "database": parts.path.lstrip("/"),
            "pool_size": self._config.max_size,
        }

    async def migrate(self) -> None:
        await self._db.run(migrate, tx=False, retry=True)

    async def aclose(self) -> None:
        await self._listener.close()
        await self._db.close()

    async def _write(self, fn: Callable[[Tx], Awaitable[T]], retry: bool = False) -> T:
        """Run a transition in one transaction, notifying idle workers as it commits."""

        async def op(conn: Conn) -> T:
            tx = Tx(conn)
            value = await fn(tx)
            await tx.commit_notices()
            return value

        return await self._db.run(op, retry=retry)

    async def _read(self, fn: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._db.run(lambda conn: fn(Tx(conn)), tx=False, retry=True)

    # --- producers --------------------------------------------------------------------

    async def enqueue(self, jobs_: Sequence[NewJob]) -> list[Enqueued]:
        # safe to retry: ids are the caller's, so a second run finds the first one's rows
        # (an insert whose commit was lost in transit is not stored twice)
        if len(jobs_) == 1:  # the web handler's case: one autocommit statement, one round trip
            return await self._db.run(
                lambda c: jobs.insert_jobs(Tx(c), jobs_), tx=False, retry=True
            )
        return await self._write(lambda tx: jobs.insert_jobs(tx, jobs_), retry=True)

    async def cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        async def op(tx: Tx) -> JobRecord | None:
            job = await _get(tx, job_id, tenant, lock=True)
            if job is None or job.status.terminal:
                return job
            todo = [job_id]
            while todo:
                jid = todo.pop()
                todo.extend(str(r[0]) for r in await tx.all("unfinished_children", {"id": jid}))
                error = json.dumps({"type": "Cancelled", "message": "cancelled"})
                await jobs.end(tx, jid, Status.CANCELLED, error)
            return await _get(tx, job_id, tenant)

        return await self._write(op)

    async def retry(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        async def op(tx: Tx) -> JobRecord | None:
            job = await _get(tx, job_id, tenant, lock=True)
            if job is None or job.status not in (Status.FAILED, Status.CANCELLED, Status.EXPIRED):
                return job
            todo = [job_id]
            while todo:
                jid = todo.pop()
                todo.extend(str(r[0]) for r in await tx.all("failed_children", {"id": jid}))
                row = await tx.one("requeue_ended", {"id": jid})
                await tx.run("drop_failed_steps", {"id": jid})
                await tx.emit(jid, ("job.enqueued", {"retry": True}))
                if row is not None:
                    tx.wake.add(str(row[0]))
            return await _get(tx, job_id, tenant)

        return await self._write(op)

    # --- workers ----------------------------------------------------------------------

    async def claim(
        self, worker: str, queues: Sequence[str], n: int, lease_for: float
    ) -> list[Claimed]:
        if n <= 0 or not queues:
            return []

        claimed, stale = await self._db.run_own(
            lambda conn: jobs.claim_due(Tx(conn), worker, queues, n, lease_for)
        )
        if stale:
            room = n - len(claimed)
            try:
                claimed += await self._write(
                    lambda tx: jobs.claim_stale(tx, worker, queues, room, lease_for)
                )
            except Exception:
                if not claimed:
                    raise
                # the jobs already leased must reach the worker, or their leases would
                # lapse and count as crashes; the stale ones wait for the next claim
                log.warning("recovering lapsed leases failed; will retry", exc_info=True)
        self._remember(claimed)
        return claimed

    def _remember(self, claimed: list[Claimed]) -> None:
        if len(self._plain) > _PLAIN_MAX:  # leases lost without a settle: start afresh
            self._plain.clear()
        for c in claimed:
            if c.job.callback_url is None:
                self._plain[c.job.id] = c.lease.token

    async def renew(self, worker: str, lease_for: float, leases: Sequence[Lease]) -> list[str]:
        if not leases:
            return []
        params = {
            "owner": worker,
            "lease_for": lease_for,
            "ids": [x.job_id for x in leases],
            "tokens": [x.token for x in leases],
        }
        rows = await self._db.run(lambda conn: Tx(conn).all("renew", params), tx=False, retry=True)
        ours = {(str(r[0]), int(r[1])) for r in rows}
        return [x.job_id for x in leases if (x.job_id, x.token) not in ours]

    async def lost(self, leases: Sequence[Lease]) -> list[str]:
        if not leases:
            return []
        params = {"ids": [x.job_id for x in leases], "tokens": [x.token for x in leases]}
        rows = await self._read(lambda tx: tx.all("lease_state", params))
        ours = {(str(r[0]), int(r[1])) for r in rows}
        return [x.job_id for x in leases if (x.job_id, x.token) not in ours]

    async def steps(self, job_id: str) -> list[StepRecord]:
        rows = await self._read(lambda tx: tx.all("steps", {"id": job_id}))
        return [step_from_row(r) for r in rows]

    async def start_step(self, lease: Lease, key: str) -> None:
        params = {
            "id": lease.job_id,
            "token": lease.token,
            "key": key,
            "data": json.dumps({"step": key}),
        }
        await self._fenced(lease, "start_step", params)

    async def save_step(self, lease: Lease, record: StepRecord) -> None:
        params = {"id": lease.job_id, "token": lease.token, **jobs.step_params(lease, record)}
        await self._fenced(lease, "save_step_fenced", params, found=True)

    async def progress(self, lease: Lease, fraction: float, message: str | None) -> None:
        params = {
            "id": lease.job_id,
            "token": lease.token,
            "progress": fraction,
            "message": message,
            "data": json.dumps({"progress": fraction, "message": message}),
        }
        await self._fenced(lease, "set_progress", params)

    async def _fenced(
        self, lease: Lease, query: str, params: dict[str, Any], found: bool = False
    ) -> None:
        """One fenced statement, atomic on its own: no row back (or, with `found`, a count
        of 0 in the one row back) means the lease is stale."""
        row = await self._db.run(lambda conn: Tx(conn).one(query, params), tx=False)
        if row is None or (found and not row[0]):
            raise lost(lease)

    async def settle(self, lease: Lease, outcome: Outcome) -> None:
        plain = self._plain.pop(lease.job_id, None) == lease.token
        if plain and isinstance(outcome, Succeeded | Failed):
            # the worker's hot path: one statement, atomic on its own (no outbox row to add,
            # as this claim showed no callback_url, and the URL never changes)
            await self._db.run(lambda conn: jobs.end_leased(Tx(conn), lease, outcome), tx=False)
            return
        await self._write(lambda tx: jobs.settle(tx, lease, outcome))

    async def children(self, job_id: str, parent_key: str) -> list[JobRecord]:
        rows = await self._read(lambda tx: tx.all("children", {"id": job_id, "key": parent_key}))
        return [job_from_row(r) for r in rows]

    async def acquire(self, lease: Lease, permit: Permit) -> float | None:
        async def op(tx: Tx) -> float | None:
            await tx.fence(lease)
            if permit.kind == "concurrency":
                return await permits.acquire_slot(tx, lease, permit)
            return await permits.take_token(tx, permit)

        return await self._write(op)

    async def release_permit(self, lease: Lease, permit: Permit) -> None:
        if permit.kind != "concurrency":
            return
        p = {"name": permit.name, "key": permit.key, "job_id": lease.job_id, "token": lease.token}
        await self._db.run(lambda conn: Tx(conn).run("delete_permit", p), tx=False, retry=True)

    async def pause_rate(self, name: str, seconds: float) -> None:
        params = {"name": name, "seconds": seconds}
        await self._db.run(lambda conn: Tx(conn).run("pause_bucket", params), tx=False)

    async def wait_for_work(self, queues: Sequence[str], timeout: float) -> None:
        # listen before looking, so a commit after the look still wakes us
        listening = await self._listener.start(min(timeout, _LISTEN_WAIT))
        mark = self._listener.mark(queues)
        row = await self._read(lambda tx: tx.one("next_due", {"queues": list(queues)}))
        if row is not None and row[0] is not None:
            timeout = min(timeout, max(0.0, float(row[0])) + 0.001)
        if timeout <= 0:
            return
        if listening:
            await self._listener.wait(queues, mark, timeout)
        else:  # the server is away: the caller's poll is all we have
            await asyncio.sleep(min(timeout, _LISTEN_WAIT))

    # --- reads ------------------------------------------------------------------------

    async def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        return await self._read(lambda tx: _get(tx, job_id, tenant))

    async def list_jobs(self, filt: JobFilter) -> list[JobRecord]:
        where, params = job_filter_sql(filt, "%s")
        # only fixed column names are interpolated; every value is a parameter
        sql = f"SELECT {JOB_SQL} FROM baton_jobs{where} ORDER BY id DESC LIMIT %s"
        params.append(filt.limit)

        async def op(conn: Conn) -> list[JobRecord]:
            cur = await conn.execute(sql.encode(), params)
            return [job_from_row(r) for r in await cur.fetchall()]

        return await self._db.run(op, tx=False, retry=True)

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[Event]:
        params = {"id": job_id, "after": after, "limit": limit}
        rows = await self._read(lambda tx: tx.all("events", params))
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def queue_stats(self, tenant: str | None = None) -> list[QueueStats]:
        rows = await self._read(lambda tx: tx.all("queue_stats", {"tenant": tenant}))
        return [
            QueueStats(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else float(r[5]), *r[6:])
            for r in rows
        ]

    async def pending(self, queues: Sequence[str]) -> int:
        row = await self._read(lambda tx: tx.one("pending", {"queues": list(queues)}))
        return int(row[0]) if row else 0


async def _get(tx: Tx, job_id: str, tenant: str | None, lock: bool = False) -> JobRecord | None:
    row = await tx.one("lock_job" if lock else "get_job", {"id": job_id})
    if row is None:
        return None
    job = job_from_row(row)
    return None if tenant is not None and job.tenant != tenant else job
