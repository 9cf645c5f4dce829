"""The SQLite backend: the embedded default. WAL, durable commits, many processes on one box.

Writes go through one connection thread with group commit (see `conn.py`); every
transition below is one function run inside that transaction. SQL lives in `queries.sql`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError, LeaseLost
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
    Status,
    StepRecord,
    Succeeded,
)
from ..callbacks import callback_job
from ..filters import job_filter_sql
from ..sqlfile import load_queries, migrations
from .conn import Connection
from .wake import Waker

# Job rows are read by position into JobRecord: the queries name its fields in its order.
_JOB_COLUMNS = tuple(JobRecord.__dataclass_fields__)
_JOB_SQL = ", ".join(_JOB_COLUMNS)
_STATUS = {s.value: s for s in Status}
Q = load_queries(__package__ or "baton.backends.sqlite", columns={"job": _JOB_SQL})
_STEP_FIELDS = set(StepRecord.__dataclass_fields__)


def path_from_url(url: str) -> str:
    if not url.startswith("sqlite://"):
        raise ConfigError(f"not a SQLite URL: {url!r}")
    path = url[len("sqlite://") :]
    if path.startswith("/"):  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
        path = path[1:]
    if not path:
        raise ConfigError(f"SQLite URL has no path: {url!r} (try sqlite:///baton.db)")
    return path


def job_from_row(row: sqlite3.Row) -> JobRecord:
    """A row whose first columns are `{job}` (see queries.sql), in JobRecord's field order."""
    job = JobRecord(*row[: len(_JOB_COLUMNS)])
    job.status = _STATUS[job.status]
    return job


def step_from_row(row: sqlite3.Row) -> StepRecord:
    return StepRecord(**{k: row[k] for k in _STEP_FIELDS.intersection(row.keys())})


def emit(
    conn: sqlite3.Connection,
    job_id: str,
    now: float,
    *events: tuple[str, dict[str, Any]],
    last: int | None = None,
) -> int:
    """Append events to a job's log in the caller's transaction, numbering them in order.

    `last` is the job's event counter after the caller's own UPDATE already added
    len(events) to it (the hot paths fold the bump into the statement they run anyway).
    """
    if last is None:
        (last,) = conn.execute(Q["bump_seq"], {"n": len(events), "job_id": job_id}).fetchone()
    first = last - len(events) + 1
    conn.executemany(
        Q["insert_event"],
        [(job_id, first + i, typ, now, json.dumps(data)) for i, (typ, data) in enumerate(events)],
    )
    return last


class SQLiteBackend:
    def __init__(self, url: str) -> None:
        self.url = url
        self.path = path_from_url(url)
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ConfigError(f"SQLite database folder does not exist: {folder}")
        try:
            self._conn = Connection(self.path)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open SQLite database {self.path}: {exc}") from None
        self._waker = Waker(self.path)
        self._notify = False
        self._conn.after_commit = self._after_commit
        self._migrated = False

    def describe(self) -> dict[str, Any]:
        return {"backend": "sqlite", "path": os.path.abspath(self.path)}

    def _after_commit(self) -> None:
        if self._notify:
            self._notify = False
            self._waker.notify()

    async def migrate(self) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS baton_schema (version INTEGER PRIMARY KEY)")
            done = {r[0] for r in conn.execute("SELECT version FROM baton_schema")}
            for version, sql in migrations(__package__ or "baton.backends.sqlite"):
                if version in done:
                    continue
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO baton_schema (version) VALUES (?)", (version,))

        await self._conn.write(op)
        self._migrated = True

    async def aclose(self) -> None:
        self._conn.close()
        self._waker.close()

    # --- producers --------------------------------------------------------------------

    async def enqueue(self, jobs: Sequence[NewJob]) -> list[Enqueued]:
        def op(conn: sqlite3.Connection) -> list[Enqueued]:
            return self._insert_jobs(conn, jobs, time.time())

        return await self._conn.write(op)

    def _insert_jobs(
        self, conn: sqlite3.Connection, jobs: Sequence[NewJob], now: float
    ) -> list[Enqueued]:
        out = []
        for job in jobs:
            params = {
                "id": job.id,
                "pipeline": job.pipeline,
                "queue": job.queue,
                "tenant": job.tenant,
                "args": job.args,
                "priority": job.priority,
                "run_at": now + max(0.0, job.delay),
                "now": now,
                "idempotency_key": job.idempotency_key,
                "parent_id": job.parent_id,
                "parent_key": job.parent_key,
                "parent_index": job.parent_index,
                "callback_url": job.callback_url,
                "expires_at": None if job.expires_in is None else now + job.expires_in,
                "timeout": job.timeout,
                "max_crashes": job.max_crashes,
            }
            cur = conn.execute(Q["insert_job"], params)
            if cur.rowcount == 1:
                enqueued = {"pipeline": job.pipeline, "queue": job.queue}
                emit(conn, job.id, now, ("job.enqueued", enqueued), last=1)
                out.append(Enqueued(job.id, True))
                if job.delay <= 0:
                    self._notify = True
            else:
                (existing,) = conn.execute(Q["job_by_idem"], params).fetchone()
                out.append(Enqueued(existing, False))
        return out

    async def cancel(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        def op(conn: sqlite3.Connection) -> JobRecord | None:
            job = self._get(conn, job_id, tenant)
            if job is None or job.status.terminal:
                return job
            now = time.time()
            todo = [job_id]
            while todo:
                jid = todo.pop()
                todo.extend(r[0] for r in conn.execute(Q["unfinished_children"], {"id": jid}))
                self._end(
                    conn,
                    jid,
                    now,
                    Status.CANCELLED,
                    json.dumps({"type": "Cancelled", "message": "cancelled"}),
                )
            return self._get(conn, job_id, tenant)

        return await self._conn.write(op)

    async def retry(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        def op(conn: sqlite3.Connection) -> JobRecord | None:
            job = self._get(conn, job_id, tenant)
            if job is None or job.status not in (Status.FAILED, Status.CANCELLED, Status.EXPIRED):
                return job
            now = time.time()
            todo = [job_id]
            while todo:
                jid = todo.pop()
                todo.extend(r[0] for r in conn.execute(Q["failed_children"], {"id": jid}))
                conn.execute(Q["requeue_ended"], {"id": jid, "now": now})
                conn.execute(Q["drop_failed_steps"], {"id": jid})
                emit(conn, jid, now, ("job.enqueued", {"retry": True}))
            self._notify = True
            return self._get(conn, job_id, tenant)

        return await self._conn.write(op)

    # --- workers ----------------------------------------------------------------------

    async def claim(
        self, worker: str, queues: Sequence[str], n: int, lease_for: float
    ) -> list[Claimed]:
        def op(conn: sqlite3.Connection) -> list[Claimed]:
            now = time.time()
            claimed: list[Claimed] = []

            def params(queue: str) -> dict[str, Any]:
                return {"now": now, "queue": queue, "n": n}

            for queue in queues:
                room = n - len(claimed)
                if room <= 0:
                    break
                lapsed = {"now": now, "queue": queue, "n": room}
                for row in conn.execute(Q["expired_leases"], lapsed).fetchall():
                    job = job_from_row(row)
                    recovered = self._recover(conn, job, now)
                    if recovered is not None:
                        step, crashes = recovered
                        claimed.append(self._take(conn, job, worker, lease_for, now, step, crashes))
            for queue in queues:
                for job in [job_from_row(r) for r in conn.execute(Q["unrunnable"], params(queue))]:
                    self._end_unrunnable(conn, job, now)
            if len(claimed) < n:
                claimed.extend(
                    self._take_due(conn, queues, n - len(claimed), worker, lease_for, now)
                )
            return claimed

        return await self._conn.write(op)

    def _take_due(
        self,
        conn: sqlite3.Connection,
        queues: Sequence[str],
        n: int,
        worker: str,
        lease_for: float,
        now: float,
    ) -> list[Claimed]:
        """Lease the next `n` due jobs across `queues` in one UPDATE: highest priority
        first, then oldest."""
        found = [
            tuple(row)
            for queue in queues
            for row in conn.execute(Q["due"], {"now": now, "queue": queue, "n": n})
        ]
        if not found:
            return []
        if len(queues) > 1:
            found.sort(key=lambda r: (-r[1], r[2], r[0]))
        ids = json.dumps([r[0] for r in found[:n]])
        params = {"ids": ids, "owner": worker, "lease_expires": now + lease_for, "now": now}
        rows = conn.execute(Q["take_batch"], params).fetchall()
        claimed, events = [], []
        for row in rows:
            job = job_from_row(row)
            data = json.dumps({"worker": worker, "attempt": job.attempts})
            events.append((job.id, row[-1], "job.claimed", now, data))
            claimed.append(
                Claimed(job, Lease(job.id, job.lease_token, worker), job.lease_token == 1)
            )
        conn.executemany(Q["insert_event"], events)
        claimed.sort(key=lambda c: (-c.job.priority, c.job.run_at, c.job.id))
        return claimed

    def _recover(
        self, conn: sqlite3.Connection, job: JobRecord, now: float
    ) -> tuple[str, int] | None:
        """A lapsed lease: its worker is presumed dead. Count the crash against the step it
        was running; return (step, crashes) to claim it again, or None if it ended here."""
        step = job.current_step or job.pipeline
        crashes = job.crash_count + 1 if step == (job.crash_step or "") else 1
        released = {"reason": "lease expired", "worker": job.lease_owner, "step": step}
        emit(conn, job.id, now, ("job.released", released))
        if job.deadline_at is not None and job.deadline_at < now:
            self._end(conn, job.id, now, Status.FAILED, _deadline_error(job))
            return None
        if crashes >= job.max_crashes:
            message = (
                f"worker lost {crashes} times while running step {step} "
                f"(max_crashes={job.max_crashes})"
            )
            error = {"type": "WorkerLost", "step": step, "message": message}
            self._end(conn, job.id, now, Status.FAILED, json.dumps(error))
            return None
        return step, crashes

    def _end_unrunnable(self, conn: sqlite3.Connection, job: JobRecord, now: float) -> None:
        """End a queued job that must not start: expired, or past its deadline."""
        if job.expires_at is not None and job.expires_at < now and job.started_at is None:
            error = {"type": "Expired", "message": "not started before it expired"}
            self._end(conn, job.id, now, Status.EXPIRED, json.dumps(error))
        else:
            self._end(conn, job.id, now, Status.FAILED, _deadline_error(job))

    def _take(
        self,
        conn: sqlite3.Connection,
        job: JobRecord,
        worker: str,
        lease_for: float,
        now: float,
        crash_step: str | None,
        crash_count: int,
    ) -> Claimed:
        row = conn.execute(
            Q["take"],
            {
                "id": job.id,
                "owner": worker,
                "lease_expires": now + lease_for,
                "now": now,
                "crash_step": crash_step,
                "crash_count": crash_count,
            },
        ).fetchone()
        taken = job_from_row(row)
        claimed = {"worker": worker, "attempt": taken.attempts}
        emit(conn, job.id, now, ("job.claimed", claimed), last=row["event_seq"])
        return Claimed(
            taken, Lease(taken.id, taken.lease_token, worker), fresh=taken.lease_token == 1
        )

    async def renew(self, worker: str, lease_for: float, leases: Sequence[Lease]) -> list[str]:
        def op(conn: sqlite3.Connection) -> list[str]:
            ids = json.dumps([x.job_id for x in leases])
            params = {"owner": worker, "lease_expires": time.time() + lease_for, "ids": ids}
            conn.execute(Q["renew"], params)
            return self._lost(conn, leases)

        return await self._conn.write(op)

    async def lost(self, leases: Sequence[Lease]) -> list[str]:
        return await self._conn.read(lambda conn: self._lost(conn, leases))

    @staticmethod
    def _lost(conn: sqlite3.Connection, leases: Sequence[Lease]) -> list[str]:
        if not leases:
            return []
        state = {
            r[0]: (r[1], r[2])
            for r in conn.execute(Q["lease_state"], {"ids": json.dumps([x.job_id for x in leases])})
        }
        return [x.job_id for x in leases if state.get(x.job_id) != (x.token, "running")]

    @staticmethod
    def _fence(conn: sqlite3.Connection, lease: Lease) -> None:
        if (
            conn.execute(Q["check_lease"], {"id": lease.job_id, "token": lease.token}).fetchone()
            is None
        ):
            raise _lost(lease)

    async def steps(self, job_id: str) -> list[StepRecord]:
        return await self._conn.read(
            lambda conn: [step_from_row(r) for r in conn.execute(Q["steps"], {"id": job_id})]
        )

    async def start_step(self, lease: Lease, key: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            params = {"id": lease.job_id, "token": lease.token, "key": key}
            row = conn.execute(Q["start_step"], params).fetchone()
            if row is None:
                raise _lost(lease)
            emit(conn, lease.job_id, time.time(), ("step.started", {"step": key}), last=row[0])

        await self._conn.write(op)

    async def save_step(self, lease: Lease, record: StepRecord) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._fence(conn, lease)
            now = time.time()
            event = self._save_step(conn, lease, record, now)
            if event is not None:
                emit(conn, lease.job_id, now, event)

        await self._conn.write(op)

    def _save_step(
        self, conn: sqlite3.Connection, lease: Lease, record: StepRecord, now: float
    ) -> tuple[str, dict[str, Any]] | None:
        """Upsert a step record (unfenced: callers fence) and return the event to log, or
        None when a succeeded checkpoint already stood and nothing changed."""
        params = {
            "job_id": lease.job_id,
            "key": record.key,
            "status": record.status,
            "result": record.result,
            "error": record.error,
            "attempts": record.attempts,
            "worker": record.worker or lease.owner,
            "started_at": record.started_at,
            "finished_at": record.finished_at if record.finished_at is not None else now,
        }
        if conn.execute(Q["upsert_step"], params).rowcount == 0:
            return None
        data: dict[str, Any] = {"step": record.key, "attempt": record.attempts}
        if record.error is not None:
            data["error"] = _brief(record.error)
        if record.started_at is not None:
            data["duration"] = round(now - record.started_at, 6)
        typ = {"succeeded": "step.succeeded", "retrying": "step.retrying"}.get(
            record.status, "step.failed"
        )
        return typ, data

    async def progress(self, lease: Lease, fraction: float, message: str | None) -> None:
        def op(conn: sqlite3.Connection) -> None:
            params = {
                "id": lease.job_id,
                "token": lease.token,
                "progress": fraction,
                "message": message,
            }
            row = conn.execute(Q["set_progress"], params).fetchone()
            if row is None:
                raise _lost(lease)
            data = {"progress": fraction, "message": message}
            emit(conn, lease.job_id, time.time(), ("job.progress", data), last=row[0])

        await self._conn.write(op)

    async def settle(self, lease: Lease, outcome: Outcome) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._settle(conn, lease, outcome, time.time())

        await self._conn.write(op)

    def _settle(self, conn: sqlite3.Connection, lease: Lease, outcome: Outcome, now: float) -> None:
        if isinstance(outcome, Succeeded | Failed):
            self._end_leased(conn, lease, outcome, now)
            return
        events: list[tuple[str, dict[str, Any]]] = []
        if isinstance(outcome, RetryAt):
            # the step first: if the lease is stale, _requeue raises and the op's savepoint
            # rolls the step back too
            if outcome.step is not None and (ev := self._save_step(conn, lease, outcome.step, now)):
                events.append(ev)
            self._requeue(conn, lease, "queued", now + outcome.delay, woken=0)
            events.append(("job.released", {"reason": "retry", "delay": outcome.delay}))
            emit(conn, lease.job_id, now, *events)
            self._notify = True  # idle workers look again at when the next job is due
        elif isinstance(outcome, Park):
            self._fence(conn, lease)
            self._insert_jobs(conn, outcome.children, now)
            (open_,) = conn.execute(
                Q["open_children"], {"id": lease.job_id, "key": outcome.key}
            ).fetchone()
            if open_:
                self._requeue(conn, lease, "waiting", now, woken=1, waiting_for=open_)
            else:
                self._requeue(conn, lease, "queued", now, woken=1)
                self._notify = True
            emit(
                conn,
                lease.job_id,
                now,
                ("job.waiting", {"children": len(outcome.children), "open": open_}),
            )
        elif isinstance(outcome, Sleep):
            wake = now + outcome.seconds
            record = StepRecord(
                outcome.step_key, "succeeded", json.dumps(wake), attempts=1, started_at=now
            )
            if ev := self._save_step(conn, lease, record, now):
                events.append(ev)
            self._requeue(conn, lease, "queued", wake, woken=1)
            events.append(("job.waiting", {"until": wake}))
            emit(conn, lease.job_id, now, *events)
            self._notify = True
        elif isinstance(outcome, Release):
            self._requeue(conn, lease, "queued", now, woken=1)
            emit(conn, lease.job_id, now, ("job.released", {"reason": "shutdown"}))
            self._notify = True

    def _end_leased(
        self, conn: sqlite3.Connection, lease: Lease, outcome: Succeeded | Failed, now: float
    ) -> None:
        """End a leased job. One fenced UPDATE does the fencing, the ending and the event
        numbering; the step is written first so a stale lease rolls it back with the op."""
        events: list[tuple[str, dict[str, Any]]] = []
        if outcome.step is not None and (ev := self._save_step(conn, lease, outcome.step, now)):
            events.append(ev)
        ok = isinstance(outcome, Succeeded)
        error = outcome.error if isinstance(outcome, Failed) else None
        events.append(("job.failed", {"error": _brief(error)}) if error else ("job.succeeded", {}))
        params = {
            "id": lease.job_id,
            "token": lease.token,
            "now": now,
            "status": "succeeded" if ok else "failed",
            "result": outcome.result if isinstance(outcome, Succeeded) else None,
            "error": error,
            "events": len(events),
        }
        row = conn.execute(Q["end_leased"], params).fetchone()
        if row is None:
            raise _lost(lease)
        emit(conn, lease.job_id, now, *events, last=row[1])
        self._outbox(conn, lease.job_id, row[1], row[2:], now)
        if row[0] is not None:
            self._wake_parent(conn, row[0], now)

    def _requeue(
        self,
        conn: sqlite3.Connection,
        lease: Lease,
        status: str,
        run_at: float,
        woken: int,
        waiting_for: int = 0,
    ) -> None:
        row = conn.execute(
            Q["requeue_leased"],
            {
                "id": lease.job_id,
                "token": lease.token,
                "status": status,
                "run_at": run_at,
                "woken": woken,
                "waiting_for": waiting_for,
            },
        ).fetchone()
        if row is None:
            raise _lost(lease)

    def _end(
        self, conn: sqlite3.Connection, job_id: str, now: float, status: Status, error: str | None
    ) -> None:
        row = conn.execute(
            Q["end_job"],
            {"id": job_id, "status": status.value, "error": error, "result": None, "now": now},
        ).fetchone()
        data = {} if error is None else {"error": _brief(error)}
        seq = emit(conn, job_id, now, (f"job.{status.value}", data))
        if row is not None:
            self._outbox(conn, job_id, seq, row[1:], now)
            if row[0] is not None:
                self._wake_parent(conn, row[0], now)

    def _outbox(
        self, conn: sqlite3.Connection, job_id: str, seq: int, cols: Sequence[Any], now: float
    ) -> None:
        """The webhook delivery for this ending, in the ending's own transaction."""
        tenant, queue, priority, url = cols
        job = callback_job(
            job_id, seq, callback_url=url, queue=queue, tenant=tenant, priority=priority
        )
        if job is not None:
            self._insert_jobs(conn, [job], now)

    def _wake_parent(self, conn: sqlite3.Connection, parent_id: str, now: float) -> None:
        row = conn.execute(Q["wake_parent"], {"id": parent_id, "now": now}).fetchone()
        if row is not None and row[0] == "queued":
            self._notify = True

    async def children(self, job_id: str, parent_key: str) -> list[JobRecord]:
        return await self._conn.read(
            lambda conn: [
                job_from_row(r)
                for r in conn.execute(Q["children"], {"id": job_id, "key": parent_key})
            ]
        )

    async def acquire(self, lease: Lease, permit: Permit) -> float | None:
        def op(conn: sqlite3.Connection) -> float | None:
            self._fence(conn, lease)
            now = time.time()
            if permit.kind == "concurrency":
                return self._acquire_slot(conn, lease, permit, now)
            return self._take_token(conn, permit, now)

        return await self._conn.write(op)

    @staticmethod
    def _acquire_slot(
        conn: sqlite3.Connection, lease: Lease, permit: Permit, now: float
    ) -> float | None:
        p = {
            "name": permit.name,
            "key": permit.key,
            "job_id": lease.job_id,
            "token": lease.token,
            "now": now,
        }
        if conn.execute(Q["has_permit"], p).fetchone() is not None:
            return None
        conn.execute(Q["purge_permits"], p)
        (held,) = conn.execute(Q["count_permits"], p).fetchone()
        if held >= permit.limit:
            return 0.05
        conn.execute(Q["insert_permit"], p)
        return None

    @staticmethod
    def _take_token(conn: sqlite3.Connection, permit: Permit, now: float) -> float | None:
        row = conn.execute(Q["get_bucket"], {"name": permit.name}).fetchone()
        tokens, updated, paused = (float(permit.limit), now, 0.0) if row is None else tuple(row)
        if paused > now:
            return float(paused - now)
        rate = permit.limit / permit.per
        tokens = min(float(permit.limit), tokens + (now - updated) * rate)
        wait = None
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate
        conn.execute(
            Q["put_bucket"],
            {"name": permit.name, "tokens": tokens, "updated": now, "paused_until": paused},
        )
        return wait

    async def release_permit(self, lease: Lease, permit: Permit) -> None:
        if permit.kind != "concurrency":
            return
        p = {"name": permit.name, "key": permit.key, "job_id": lease.job_id, "token": lease.token}
        await self._conn.write(lambda conn: conn.execute(Q["delete_permit"], p) and None)

    async def pause_rate(self, name: str, seconds: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(Q["pause_bucket"], {"name": name, "now": now, "until": now + seconds})

        await self._conn.write(op)

    async def wait_for_work(self, queues: Sequence[str], timeout: float) -> None:
        self._waker.arm()  # before the look, so a commit after it still wakes us

        def next_due(conn: sqlite3.Connection) -> float | None:
            times = [conn.execute(Q["next_due"], {"queue": q}).fetchone()[0] for q in queues]
            return min((t for t in times if t is not None), default=None)

        nxt = await self._conn.read(next_due)
        if nxt is not None:
            timeout = min(timeout, max(0.0, nxt - time.time()) + 0.001)
        if timeout > 0:
            await self._waker.wait(timeout)

    # --- reads ------------------------------------------------------------------------

    @staticmethod
    def _get(conn: sqlite3.Connection, job_id: str, tenant: str | None) -> JobRecord | None:
        row = conn.execute(Q["get_job"], {"id": job_id}).fetchone()
        if row is None or (tenant is not None and row["tenant"] != tenant):
            return None
        return job_from_row(row)

    async def get_job(self, job_id: str, tenant: str | None = None) -> JobRecord | None:
        return await self._conn.read(lambda conn: self._get(conn, job_id, tenant))

    async def list_jobs(self, filt: JobFilter) -> list[JobRecord]:
        where, params = job_filter_sql(filt, "?")
        # only fixed column names are interpolated; every value is a parameter
        sql = f"SELECT {_JOB_SQL} FROM baton_jobs{where} ORDER BY id DESC LIMIT ?"
        params.append(filt.limit)
        return await self._conn.read(
            lambda conn: [job_from_row(r) for r in conn.execute(sql, params)]
        )

    async def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[Event]:
        def op(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute(Q["events"], {"id": job_id, "after": after, "limit": limit})
            return [
                Event(r["job_id"], r["seq"], r["type"], r["at"], json.loads(r["data"]))
                for r in rows
            ]

        return await self._conn.read(op)

    async def queue_stats(self, tenant: str | None = None) -> list[QueueStats]:
        def op(conn: sqlite3.Connection) -> list[QueueStats]:
            now = time.time()
            return [
                QueueStats(
                    r["queue"],
                    r["queued"],
                    r["running"],
                    r["waiting"],
                    r["failed"],
                    None if r["oldest"] is None else now - r["oldest"],
                    r["succeeded"],
                    r["cancelled"],
                    r["expired"],
                )
                for r in conn.execute(Q["queue_stats"], {"now": now, "tenant": tenant})
            ]

        return await self._conn.read(op)

    async def pending(self, queues: Sequence[str]) -> int:
        def count(conn: sqlite3.Connection) -> int:
            return sum(int(conn.execute(Q["pending"], {"queue": q}).fetchone()[0]) for q in queues)

        return await self._conn.read(count)


def _lost(lease: Lease) -> LeaseLost:
    return LeaseLost(f"lease {lease.token} on job {lease.job_id} is no longer valid")


def _deadline_error(job: JobRecord) -> str:
    message = f"job deadline of {job.timeout}s exceeded"
    return json.dumps({"type": "DeadlineExceeded", "message": message})


def _brief(error_json: str) -> dict[str, Any]:
    try:
        err = json.loads(error_json)
    except ValueError:
        return {"message": error_json[:500]}
    return {k: err.get(k) for k in ("type", "message", "step") if k in err}
