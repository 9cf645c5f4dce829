"""baton on its Redis backend (one Lua script per transition, pub/sub wake-ups).

Uses the shared Redis on 127.0.0.1:6379, db 0, under a key prefix unique to the run (the
peers own db 15), and deletes only that prefix's keys afterwards. Whatever persistence the
server is configured with applies (the bench machine's Redis has none, as the peers get).
Options: `concurrency` (per worker process, default 10), `url` (another server).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import redis

from .baton_app import BatonAdapter

DEFAULT_URL = "redis://127.0.0.1:6379/0"


class BatonRedis(BatonAdapter):
    description = "baton, Redis backend (Lua script per transition, pub/sub wake-ups)"

    @property
    def prefix(self) -> str:
        # the same in the orchestrator and in every worker process: both know the workdir
        digest = hashlib.sha1(str(self.workdir.resolve()).encode()).hexdigest()[:12]
        return f"bench_baton_{digest}:"

    @property
    def url(self) -> str:
        base = self.options.get("url", DEFAULT_URL)
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}prefix={self.prefix}"

    def _redis(self) -> redis.Redis:
        parts = urlsplit(self.options.get("url", DEFAULT_URL))
        db = int(parts.path.strip("/") or 0)
        query = dict(parse_qsl(parts.query))
        query.pop("prefix", None)
        return redis.Redis(
            host=parts.hostname or "127.0.0.1", port=parts.port or 6379, db=db,
            decode_responses=True,
        )  # fmt: skip

    def setup(self) -> None:
        self.cleanup()
        super().setup()

    def verify(self, expected: int) -> dict[str, Any]:
        r = self._redis()
        p = self.prefix
        try:
            ids = r.zrange(f"{p}idx:pipeline:noop", 0, -1)
            pipe = r.pipeline(transaction=False)
            for job_id in ids:
                pipe.hmget(f"{p}job:{job_id}", "status", "attempts", "started_at", "finished_at")
                pipe.llen(f"{p}ev:{job_id}")
                pipe.hlen(f"{p}steps:{job_id}")
            rows = pipe.execute()
        finally:
            r.close()
        statuses: dict[str, int] = {}
        retried = events = steps = 0
        starts, ends = [], []
        for i in range(0, len(rows), 3):
            status, attempts, started, finished = rows[i]
            statuses[status] = statuses.get(status, 0) + 1
            retried += attempts != "1"
            if started and finished:
                starts.append(float(started))
                ends.append(float(finished))
            events += rows[i + 1]
            steps += rows[i + 2]
        return {
            "store_statuses": statuses,
            "store_not_succeeded": expected - statuses.get("succeeded", 0),
            "store_attempts_not_1": retried,
            "store_drain_s": (max(ends) - min(starts)) if starts else None,
            "events_per_job": events / expected if expected else None,
            "step_rows_per_job": steps / expected if expected else None,
        }

    def cleanup(self) -> None:
        r = self._redis()
        try:
            keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
            for i in range(0, len(keys), 500):
                r.delete(*keys[i : i + 500])
        finally:
            r.close()
