"""A full pool is a wait, not an outage: requests queued past `pool_timeout` while the server
answers keep waiting (up to `pool_wait`) and succeed; a server that does not answer is still
BackendUnavailable at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from baton.backends.postgres.backend import PostgresBackend
from baton.backends.postgres.db import parse_url
from baton.errors import BackendUnavailable
from baton.ids import uuid7
from baton.models import NewJob
from tests.helpers import until

FLOOD = 50
TIMED_OUT = 20  # requests that must have outwaited pool_timeout before the pool frees up


def test_pool_max_is_pool_size_and_pool_wait_is_read() -> None:
    config = parse_url("postgresql://db/jobs?pool_max=4&pool_wait=30")
    assert (config.max_size, config.wait) == (4, 30.0)
    assert parse_url("postgresql://db/jobs").wait == 60.0


async def test_a_flood_waits_for_the_pool_instead_of_failing(pg_url: str) -> None:
    backend = PostgresBackend(pg_url.split("?")[0] + "?pool_max=1&pool_timeout=0.2")
    db = backend._db
    held, release = asyncio.Event(), asyncio.Event()

    async def hold(conn: Any) -> None:
        held.set()
        await release.wait()

    try:
        holder = asyncio.create_task(db.run(hold, tx=False))
        await asyncio.wait_for(held.wait(), 30)
        jobs = [NewJob(uuid7(), "flood", "default", "{}") for _ in range(FLOOD)]
        flood = asyncio.gather(*(backend.enqueue([job]) for job in jobs))
        # every one of these timed out on the pool at least once while the server was up
        await until(
            lambda: db.pool.get_stats().get("requests_errors", 0) >= TIMED_OUT,
            timeout=30,
            what=f"{TIMED_OUT} pool timeouts",
        )
        release.set()
        await holder
        stored = await asyncio.wait_for(flood, 60)
        assert sorted(e.id for (e,) in stored) == sorted(j.id for j in jobs)
        for job in jobs[:3]:
            assert await backend.get_job(job.id) is not None
    finally:
        release.set()
        await backend.aclose()


async def test_a_dead_server_is_still_unavailable_promptly() -> None:
    backend = PostgresBackend("postgresql://root@127.0.0.1:1/x?pool_timeout=0.3&pool_wait=60")
    try:
        with pytest.raises(BackendUnavailable):
            # far less than pool_wait: the probe finds no server, so no waiting on
            await asyncio.wait_for(backend.enqueue([NewJob(uuid7(), "flood", "default", "{}")]), 20)
    finally:
        await backend.aclose()
