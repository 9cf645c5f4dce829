"""Huey with its Redis storage, as a user gets it: `RedisHuey(url=...)` on db 15.

Blocking pops (BRPOP, Huey's default for Redis), one consumer with process workers; W3 and
W4 as for Huey on SQLite (see huey_sqlite). Huey removes a task when a worker picks it up.
"""

from __future__ import annotations

from typing import Any

import redis
from huey import Huey, RedisHuey

from .huey_sqlite import HueyAdapter
from .stores import RedisDb15, redis_url


class HueyRedis(RedisDb15, HueyAdapter):
    description = "Huey 3, RedisHuey (blocking BRPOP), process workers, db 15"
    store = "redis"

    def make_huey(self) -> Huey:
        return RedisHuey(name="bench", url=redis_url())

    def verify(self, expected: int) -> dict[str, Any]:
        conn = redis.Redis.from_url(redis_url())
        try:
            return {"store_keys": conn.dbsize()}
        finally:
            conn.close()
