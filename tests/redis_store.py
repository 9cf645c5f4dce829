"""The shared test Redis (127.0.0.1:6379, db 0): a unique key prefix per test, and only
that prefix's keys deleted afterwards (never FLUSHDB: other people's keys live there)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
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


class PrivateRedis:
    """A redis-server of our own (AOF, fsync on every write) on a free loopback port, in a
    temp dir, for tests that kill and restart it. Skips (or fails in CI) without the binary."""

    def __init__(self, folder: str) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            message = "redis-server is not installed (needed for the restart test)"
            if os.environ.get("BATON_REQUIRE_SERVERS") == "1":
                pytest.fail(f"{message} and BATON_REQUIRE_SERVERS=1")
            pytest.skip(message)
        self.folder = folder
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix=baton_t_restart:"

    def start(self) -> None:
        args = [
            str(self.binary),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--logfile", os.path.join(self.folder, "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError("the private redis-server did not come up") from None
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
