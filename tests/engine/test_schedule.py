"""Schedules: each cron tick is enqueued exactly once, however many workers are up."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

import baton
from baton.schedule import Schedule
from tests.helpers import start_worker, until


async def test_each_tick_runs_once_with_several_workers(app: baton.App) -> None:
    runs: list[str] = []

    @app.task(schedule="* * * * * *")  # every second (seconds is the sixth field)
    async def heartbeat() -> str:
        info = baton.current_step()
        runs.append(info.job_id)
        return info.job_id

    workers = [start_worker(app, concurrency=2) for _ in range(3)]
    await until(lambda: len(runs) >= 3, timeout=20, what="three ticks")
    for w, _ in workers:
        w.stop()
    for _, t in workers:
        await t
    jobs = await app.list_jobs(pipeline="heartbeat", limit=100)
    keys = [j.idempotency_key for j in jobs]
    assert len(keys) == len(set(keys)) >= 3  # one job per tick, not one per worker
    assert all(k is not None and k.startswith("schedule:heartbeat:") for k in keys)
    ticks = sorted(datetime.fromisoformat(k.split(":", 2)[2]) for k in keys if k)
    assert all((b - a).total_seconds() >= 1 for a, b in itertools.pairwise(ticks))
    assert sorted(runs) == sorted(set(runs))  # no job ran twice


def test_schedule_ticks_in_a_time_zone() -> None:
    sched = Schedule("0 3 * * *", "Europe/Madrid")
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert sched.previous(now).isoformat() == "2026-07-01T03:00:00+02:00"
    assert sched.next(now).isoformat() == "2026-07-02T03:00:00+02:00"
    assert sched.key("nightly", sched.previous(now)) == "schedule:nightly:2026-07-01T03:00:00+02:00"


def test_bad_schedules_are_refused_at_declaration() -> None:
    app = baton.App("sqlite:///unused.db")
    with pytest.raises(ValueError, match="bad cron schedule"):
        app.task(schedule="every day")(_noop)
    with pytest.raises(ValueError, match="unknown time zone"):
        app.task(schedule="0 3 * * *", timezone="Mars/Olympus")(_noop)
    with pytest.raises(ValueError, match="cannot take required arguments"):

        @app.pipeline(schedule="0 3 * * *")
        async def needs(ctx: baton.Context, doc_id: str) -> None:
            return None


async def _noop() -> None:
    return None
