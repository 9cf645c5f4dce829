"""The shared test Redis (127.0.0.1:6379, db 0): a unique key prefix per test, and only
that prefix's keys deleted afterwards (never FLUSHDB: other people's keys live there)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

HOST, PORT, DB = "127.0.0.1", 6379, 0


def require_redis() -> None:
    """Skip (one line) when the test Redis does not answer; fail when CI says it must."""
    try:
        redis.Redis(host=HOST, port=PORT, db=DB, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {HOST}:{PORT} ({exc.__class__.__name__})"
        if os.environ.get("BATON_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{message} and BATON_REQUIRE_SERVERS=1")
        pytest.skip(message)


def delete_prefix(prefix: str, host: str = HOST, port: int = PORT, db: int = DB) -> None:
    client = redis.Redis(host=host, port=port, db=db)
    try:
        batch = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()


@contextmanager
def redis_url(**params: str) -> Iterator[str]:
    """A `redis://` URL with a fresh prefix; its keys are deleted when the block ends."""
    require_redis()
    prefix = f"baton_t_{uuid.uuid4().hex[:12]}:"
    query = "&".join(f"{k}={v}" for k, v in {"prefix": prefix, **params}.items())
    try:
        yield f"redis://{HOST}:{PORT}/{DB}?{query}"
    finally:
        delete_prefix(prefix)
