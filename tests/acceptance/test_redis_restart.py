"""Redis going away mid-run: a private redis-server with AOF (`appendfsync always`) is
SIGKILLed and restarted while two worker processes run and a producer enqueues. Nothing
acknowledged is lost (every enqueue that returned, every step saved before the kill), the
workers survive the outage, reconnect and finish every job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import baton
from tests.acceptance import crashapp
from tests.acceptance.test_sigkill import ROOT, effects, spawn, worker_log
from tests.redis_store import PrivateRedis

N_FIRST = 40


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    srv = PrivateRedis(str(tmp_path))
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


@dataclass
class Producer:
    """Enqueues until stopped; `acked` holds the ids of enqueues that returned."""

    acked: list[str] = field(default_factory=list)
    refused: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        n = N_FIRST
        while not self.stop.is_set():
            try:
                self.acked.append((await crashapp.document.enqueue(n)).id)
            except baton.BackendUnavailable:
                self.refused += 1
            n += 1
            await asyncio.sleep(0.02)


async def until(probe: Callable[[], Awaitable[object]], what: str, timeout: float = 90.0) -> None:
    """Poll with a deadline; the store being down meanwhile is not a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(baton.BackendUnavailable):
            if await probe():
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _saves(log: Path) -> int:
    return sum(1 for e in effects(log) if e[1] == "save")


async def test_redis_killed_and_restarted_mid_run(server: PrivateRedis, tmp_path: Path) -> None:
    crashapp.app.url = server.url
    log = tmp_path / "effects.log"
    env = dict(os.environ)
    env.update(
        BATON_URL=server.url, SIDE_EFFECTS=str(log), PYTHONPATH=str(ROOT), ANALYZE_SECONDS="0.1"
    )
    workers: list[subprocess.Popen[bytes]] = []
    producer = Producer()
    try:
        first = [(await crashapp.document.enqueue(n)).id for n in range(N_FIRST)]
        workers = [spawn(env, concurrency=5, lease=10.0, burst=False) for _ in range(2)]
        feeding = asyncio.create_task(producer.run())
        backend = await crashapp.app.backend()
        await until(lambda: asyncio.sleep(0, _saves(log) >= 10), "some documents done")
        acked_before = first + list(producer.acked)
        saved = {(j, s.key) for j in acked_before for s in await backend.steps(j)}
        effects_before = len(effects(log))

        server.kill()  # SIGKILL: no shutdown save, only what the AOF already holds
        await until(lambda: asyncio.sleep(0, producer.refused >= 1), "an enqueue refused", 10)
        server.start()  # replays the AOF on the same port
        acked_at_restart = len(producer.acked)
        await until(
            lambda: asyncio.sleep(0, len(producer.acked) >= acked_at_restart + 10),
            "enqueues after the restart",
        )
        producer.stop.set()
        await feeding
        ids = first + producer.acked

        async def all_done() -> bool:
            jobs = [await crashapp.app.get_job(j) for j in ids]
            return all(j is not None and j.status == baton.Status.SUCCEEDED for j in jobs)

        await until(all_done, "every acknowledged job to succeed")
        assert all(w.poll() is None for w in workers), worker_log(env)  # survived the outage
        after = {(j, s.key) for j in ids for s in await backend.steps(j)}
        assert saved <= after, "a step saved before the kill is gone"
        ran_again = {(e[0], e[1]) for e in effects(log)[effects_before:] if e[2] == "done"}
        rerun = ran_again & {(j, key.split(":")[1]) for j, key in saved}
        assert not rerun, f"steps saved before the kill ran again: {sorted(rerun)[:5]}"
        results = [(await crashapp.app.get_job(j)).result for j in first]  # type: ignore[union-attr]
        assert results == [n * 2 + 1 for n in range(N_FIRST)]
    finally:
        producer.stop.set()
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
        await crashapp.app.aclose()
