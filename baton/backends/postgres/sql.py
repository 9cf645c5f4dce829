"""What every PostgreSQL transition stands on: the named queries, row mapping, the event log,
and `Tx` (a connection plus the queues whose idle workers must hear of the commit)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...errors import LeaseLost
from ...models import JobRecord, Lease, Status, StepRecord
from ..callbacks import callback_job
from ..sqlfile import load_queries
from .db import Conn

# Job rows are read by position into JobRecord: the queries name its fields in its order.
JOB_COLUMNS = tuple(JobRecord.__dataclass_fields__)
JOB_SQL = ", ".join(JOB_COLUMNS)
NJOB = len(JOB_COLUMNS)
_STATUS = {s.value: s for s in Status}
STEP_COLUMNS = tuple(StepRecord.__dataclass_fields__)
Q = load_queries(
    __package__ or "baton.backends.postgres",
    columns={"job": JOB_SQL, "job_j": ", ".join(f"j.{c}" for c in JOB_COLUMNS)},
)

Row = tuple[Any, ...]


def job_from_row(row: Row) -> JobRecord:
    """A row whose first columns are `{job}` (see queries.sql), in JobRecord's field order."""
    job = JobRecord(*row[:NJOB])
    job.status = _STATUS[job.status]
    return job


def step_from_row(row: Row) -> StepRecord:
    return StepRecord(*row[1:])


@dataclass(slots=True)
class Tx:
    """One transaction's connection, and the queues to notify when it commits."""

    conn: Conn
    wake: set[str] = field(default_factory=set)

    async def one(self, name: str, params: dict[str, Any]) -> Row | None:
        cur = await self.conn.execute(Q[name], params)
        return await cur.fetchone()

    async def all(self, name: str, params: dict[str, Any]) -> list[Row]:
        cur = await self.conn.execute(Q[name], params)
        return await cur.fetchall()

    async def run(self, name: str, params: dict[str, Any]) -> int:
        cur = await self.conn.execute(Q[name], params)
        return cur.rowcount

    async def emit(
        self, job_id: str, *events: tuple[str, dict[str, Any]], last: int | None = None
    ) -> None:
        """Append events to a job's log in this transaction, numbered in order. `last` is
        the job's counter after the caller's own UPDATE already reserved their numbers."""
        params: dict[str, Any] = {
            "job_id": job_id,
            "types": [t for t, _ in events],
            "datas": [json.dumps(d) for _, d in events],
        }
        if last is None:
            await self.run("emit", params)
        else:
            await self.run("emit_numbered", {**params, "last": last})

    async def fence(self, lease: Lease) -> str:
        """Lock the leased job's row, or raise LeaseLost; returns its queue."""
        row = await self.one("check_lease", {"id": lease.job_id, "token": lease.token})
        if row is None:
            raise lost(lease)
        return str(row[0])

    async def ended(self, job: JobRecord, seq: int) -> None:
        """A job just ended (its terminal event is `seq`): queue its callback delivery in
        this same transaction, so a webhook is never lost nor sent for a rolled-back end."""
        delivery = callback_job(
            job.id,
            seq,
            callback_url=job.callback_url,
            queue=job.queue,
            tenant=job.tenant,
            priority=job.priority,
        )
        if delivery is not None:
            from .jobs import insert_jobs  # jobs imports this module

            await insert_jobs(self, [delivery])

    async def commit_notices(self) -> None:
        if self.wake:
            await self.run("notify", {"queues": sorted(self.wake)})


def lost(lease: Lease) -> LeaseLost:
    return LeaseLost(f"lease {lease.token} on job {lease.job_id} is no longer valid")


def brief(error_json: str) -> dict[str, Any]:
    try:
        err = json.loads(error_json)
    except ValueError:
        return {"message": error_json[:500]}
    if not isinstance(err, dict):
        return {"message": str(err)[:500]}
    return {k: err.get(k) for k in ("type", "message", "step") if k in err}


def deadline_error(job: JobRecord) -> str:
    message = f"job deadline of {job.timeout}s exceeded"
    return json.dumps({"type": "DeadlineExceeded", "message": message})
