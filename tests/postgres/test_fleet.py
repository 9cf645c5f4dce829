"""PostgreSQL-specific promises: claimers on one database never share a job, and a worker
process listens on one connection however many slots it has."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

import baton
from baton.backends.postgres import PostgresBackend
from baton.errors import BackendUnavailable
from baton.models import Claimed, Succeeded
from baton.testing.conformance import new_job
from tests.helpers import until

QUEUE = "fleet"


async def test_concurrent_claimers_never_share_a_job(pg_url: str) -> None:
    backends = [PostgresBackend(pg_url) for _ in range(4)]
    try:
        await backends[0].enqueue([new_job(queue=QUEUE) for _ in range(150)])
        taken: list[list[Claimed]] = [[] for _ in backends]

        async def claimer(i: int) -> None:
            while batch := await backends[i].claim(f"w{i}", [QUEUE], 7, 30.0):
                taken[i].extend(batch)
                for c in batch:  # settle as a worker would, so claims and settles interleave
                    await backends[i].settle(c.lease, Succeeded("1"))

        await asyncio.gather(*(claimer(i) for i in range(len(backends))))
        ids = [c.job.id for batch in taken for c in batch]
        assert len(ids) == len(set(ids)) == 150
        assert sum(1 for batch in taken if batch) > 1  # the claimers really did share the work
    finally:
        for b in backends:
            await b.aclose()


async def test_one_listening_connection_per_process(pg_url: str) -> None:
    app = baton.App(pg_url)
    worker = baton.Worker(app, baton.WorkerConfig(queues=(QUEUE,), concurrency=8, poll=0.2))
    task = asyncio.create_task(worker.run())
    dsn = pg_url.split("?")[0]

    def listeners() -> int:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = 'LISTEN baton_work'"
            ).fetchone()
        return int(row[0]) if row else 0

    try:
        await until(lambda: asyncio.to_thread(listeners), what="the worker to listen")
        await asyncio.sleep(0.5)  # several idle rounds of all 8 slots' worth of waiting
        assert await asyncio.to_thread(listeners) == 1
    finally:
        worker.stop()
        await task
        await app.aclose()


async def test_a_delayed_enqueue_wakes_waiting_workers_by_its_due_time(pg_url: str) -> None:
    waiter, producer = PostgresBackend(pg_url), PostgresBackend(pg_url)
    try:
        await waiter.wait_for_work([QUEUE], 0.01)  # listening
        waiting = asyncio.create_task(waiter.wait_for_work([QUEUE], 60.0))
        await producer.enqueue([new_job(queue=QUEUE, delay=0.2)])
        async with asyncio.timeout(30.0):  # the NOTIFY, not the 60 s poll
            await waiting
        async with asyncio.timeout(30.0):  # and the next wait ends when the job is due
            await waiter.wait_for_work([QUEUE], 60.0)
        claimed = await until(lambda: waiter.claim("w", [QUEUE], 1, 30.0), what="the claim")
        assert [c.job.queue for c in claimed] == [QUEUE]
    finally:
        await waiter.aclose()
        await producer.aclose()


async def test_claims_reconnect_after_their_connection_is_killed(pg_url: str) -> None:
    """Claims run on a connection of their own, outside the pool: when the server drops it,
    that claim says BackendUnavailable and the next one connects afresh and takes the job."""
    queue = QUEUE + "-kill"
    backend = PostgresBackend(pg_url)
    dsn = pg_url.split("?")[0]
    try:
        assert await backend.claim("w", [queue], 1, 30.0) == []
        with psycopg.connect(dsn, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND query LIKE '%%WITH picked AS%%'"
            ).fetchone()
        assert row is not None and row[0] == 1
        await backend.enqueue([new_job(queue=queue)])
        with pytest.raises(BackendUnavailable):
            await backend.claim("w", [queue], 1, 30.0)
        claimed = await backend.claim("w", [queue], 1, 30.0)
        assert [c.job.queue for c in claimed] == [queue]
    finally:
        await backend.aclose()
