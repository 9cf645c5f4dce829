"""The floor on Redis: a minimal reliable list queue on redis-py, db 15.

Enqueue is one LPUSH. A worker moves the oldest entry to its own processing list with
BLMOVE (LMOVE in burst mode), runs it, and LREMs it from there: the least a queue that
survives a worker's death must do (an entry left in a dead worker's list can be re-queued).
A "pipeline" writes one checkpoint (HSET) per step.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio as aredis

from ..common import STEPS, noop, record
from .base import Adapter, Client
from .stores import RedisDb15, redis_url

QUEUE = "bench:raw:q"


class _Client(Client):
    async def start(self) -> None:
        self.conn = aredis.Redis.from_url(redis_url())
        await self.conn.ping()

    async def enqueue(self, kind: str, n: int) -> None:
        await self.conn.lpush(QUEUE, f"{kind}:{n}")

    async def aclose(self) -> None:
        await self.conn.aclose()


def _run(conn: redis.Redis, kind: str, n: int) -> None:
    if kind == "noop":
        noop(n)
    elif kind == "baseline":
        for k in range(STEPS):
            t = time.time()
            record(f"b{n}.{k}", t, time.time())
    else:  # pipeline: a checkpoint per step
        for k in range(STEPS):
            t = time.time()
            record(f"p{n}.{k}", t, time.time())
            conn.hset(f"bench:raw:steps:{n}", str(k), "null")


class RawRedis(RedisDb15, Adapter):
    description = "floor: hand-written redis-py list queue, BLMOVE + LREM, db 15"
    has_burst = True
    store = "redis"
    role = "floor"
    unsupported = {
        "w3": "the floor runs one job at a time per process",
        "w4": "the floor has no fan-out",
    }

    def client(self) -> Client:
        return _Client()

    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        stop = False

        def on_signal(signum: int, frame: Any) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, on_signal)
        conn = redis.Redis.from_url(redis_url())
        mine = f"bench:raw:processing:{os.getpid()}"
        conn.ping()
        ready()
        while not stop:
            if spec["mode"] == "burst":
                item = conn.lmove(QUEUE, mine, "RIGHT", "LEFT")
                if item is None:
                    break
            else:
                item = conn.blmove(QUEUE, mine, 0.05, "RIGHT", "LEFT")
                if item is None:
                    continue
            kind, _, n = item.decode().partition(":")
            _run(conn, kind, int(n))
            conn.lrem(mine, 1, item)
        conn.close()

    def verify(self, expected: int) -> dict[str, Any]:
        conn = redis.Redis.from_url(redis_url())
        try:
            return {"store_left": conn.llen(QUEUE)}
        finally:
            conn.close()
