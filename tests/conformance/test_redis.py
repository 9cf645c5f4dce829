"""The backend conformance suite against Redis (a fresh key prefix per test), and what
only the Redis backend has: retention, the eviction warning, an unreachable server."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from baton.backends import open_backend
from baton.backends.redis import RedisBackend
from baton.errors import BackendUnavailable
from baton.models import JobFilter, Park, Succeeded
from baton.testing.conformance import BackendConformance, new_job
from baton.testing.conformance.harness import LONG, QUEUE, child_jobs, claim_job, enqueue_one
from tests.redis_store import HOST, PORT, PrivateRedis, redis_url


class TestRedisConformance(BackendConformance):
    @pytest.fixture
    def store_url(self) -> Iterator[str]:
        with redis_url() as url:
            yield url


def _keys(prefix: str) -> set[str]:
    client = redis.Redis(host=HOST, port=PORT, decode_responses=True)
    try:
        return set(client.scan_iter(match=f"{prefix}*"))
    finally:
        client.close()


async def test_retention_deletes_ended_jobs_with_their_children() -> None:
    with redis_url(retention="0") as url:
        backend = open_backend(url)
        assert isinstance(backend, RedisBackend)
        try:
            await backend.migrate()
            parent = await claim_job(backend, await enqueue_one(backend, idempotency_key="k"))
            await backend.settle(parent.lease, Park("0:map", child_jobs(parent.job, "0:map", 1)))
            (kid,) = await backend.claim("w", [QUEUE], 1, LONG)
            await backend.settle(kid.lease, Succeeded("1"))
            again = await claim_job(backend, parent.job.id)
            await backend.settle(again.lease, Succeeded("2"))
            busy = await claim_job(backend, await enqueue_one(backend))
            assert await backend.purge() == 2  # the parent and its child; not the running job
            assert await backend.get_job(parent.job.id) is None
            assert await backend.get_job(kid.job.id) is None
            assert await backend.events(parent.job.id) == []
            assert [j.id for j in await backend.list_jobs(JobFilter())] == [busy.job.id]
            (stats,) = await backend.queue_stats()
            assert (stats.succeeded, stats.running) == (0, 1)
            (fresh,) = await backend.enqueue([new_job(idempotency_key="k")])
            assert fresh.created  # the key went with its job
            left = {k.removeprefix(backend.prefix).split(":")[0] for k in _keys(backend.prefix)}
            assert "steps" not in left
            assert "ev" in left  # the running and the new job's logs
        finally:
            await backend.aclose()


async def test_unreachable_server_raises_backend_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    backend = open_backend(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(BackendUnavailable):
            await backend.get_job("x")
        with pytest.raises(BackendUnavailable):
            await backend.enqueue([new_job()])
    finally:
        await backend.aclose()


async def test_migrate_warns_when_redis_may_evict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = PrivateRedis(str(tmp_path))
    server.start()
    try:
        admin = redis.Redis(host="127.0.0.1", port=server.port)
        admin.config_set("maxmemory-policy", "allkeys-lru")
        admin.close()
        backend = open_backend(server.url)
        with caplog.at_level(logging.WARNING, logger="baton.redis"):
            await backend.migrate()
        await backend.aclose()
        assert "noeviction" in caplog.text
    finally:
        server.kill()


async def test_scripts_forgotten_by_the_server_are_loaded_again(tmp_path: Path) -> None:
    """A restarted Redis has no scripts: calls batched into one pipeline load them again."""
    server = PrivateRedis(str(tmp_path))
    server.start()
    backend = open_backend(server.url)
    try:
        await backend.migrate()
        await backend.enqueue([new_job()])
        admin = redis.Redis(host="127.0.0.1", port=server.port)
        admin.script_flush()
        admin.close()
        done = await asyncio.gather(*(backend.enqueue([new_job()]) for _ in range(5)))
        assert all(d.created for (d,) in done)
        assert len(await backend.claim("w", [QUEUE], 10, LONG)) == 6
    finally:
        await backend.aclose()
        server.kill()


async def test_a_full_redis_refuses_whole_transitions(tmp_path: Path) -> None:
    """maxmemory with noeviction: the enqueue is refused as BackendUnavailable and leaves
    nothing half-written."""
    server = PrivateRedis(str(tmp_path))
    server.start()
    backend = open_backend(server.url)
    admin = redis.Redis(host="127.0.0.1", port=server.port)
    try:
        await backend.migrate()
        admin.config_set("maxmemory", "3mb")
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for n in range(10_000):
                admin.set(f"junk{n}", "x" * 10_000)
        keys = set(admin.scan_iter(match="baton_t_*"))
        with pytest.raises(BackendUnavailable, match="full"):
            await backend.enqueue([new_job(idempotency_key="k")])
        assert set(admin.scan_iter(match="baton_t_*")) == keys
    finally:
        admin.close()
        await backend.aclose()
        server.kill()


async def test_a_big_batch_is_stored_in_chunks_with_its_keys_honoured() -> None:
    with redis_url() as url:
        backend = open_backend(url)
        try:
            jobs = [new_job(idempotency_key=f"k{n % 1500}") for n in range(2500)]
            done = await backend.enqueue(jobs)
            assert sum(d.created for d in done) == 1500
            assert [d.id for d in done[1500:]] == [j.id for j in jobs[:1000]]
            assert await backend.pending([QUEUE]) == 1500
        finally:
            await backend.aclose()
