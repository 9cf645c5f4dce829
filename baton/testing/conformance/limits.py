"""Fleet-wide permits (concurrency slots, rate buckets) and cross-process wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from ...backends.protocol import Backend
from ...errors import LeaseLost
from ...models import Outcome, Permit, Release, RetryAt, Sleep, Succeeded
from .harness import QUEUE, SHORT, Harness, claim_job, enqueue_one, eventually, new_job


class LimitTests(Harness):
    """Concurrency slots, rate buckets and cross-process wake-ups."""

    # --- permits ----------------------------------------------------------------------------

    async def test_concurrency_permit_admits_up_to_its_limit(self, backend: Backend) -> None:
        permit = Permit("concurrency", "llm", 2)
        a, b, c = [await self.running(backend) for _ in range(3)]
        assert await backend.acquire(a.lease, permit) is None
        assert await backend.acquire(b.lease, permit) is None
        wait = await backend.acquire(c.lease, permit)
        assert isinstance(wait, float)
        assert wait > 0
        await backend.release_permit(a.lease, permit)
        assert await backend.acquire(c.lease, permit) is None

    async def test_concurrency_permit_is_held_once_per_lease(self, backend: Backend) -> None:
        permit = Permit("concurrency", "llm", 1)
        a, b = [await self.running(backend) for _ in range(2)]
        assert await backend.acquire(a.lease, permit) is None
        assert await backend.acquire(a.lease, permit) is None
        assert await backend.acquire(b.lease, permit) is not None

    async def test_stale_release_keeps_the_new_owners_slot(self, backend: Backend) -> None:
        permit = Permit("concurrency", "llm", 1)
        old = await self.running(backend, "a", SHORT)
        assert await backend.acquire(old.lease, permit) is None
        new = await claim_job(backend, old.job.id, "b")
        assert await backend.acquire(new.lease, permit) is None
        with contextlib.suppress(LeaseLost):
            await backend.release_permit(old.lease, permit)
        other = await self.running(backend)
        assert await backend.acquire(other.lease, permit) is not None

    async def test_concurrency_slot_of_a_lapsed_lease_frees_itself(self, backend: Backend) -> None:
        permit = Permit("concurrency", "llm", 1)
        dead = await self.running(backend, lease_for=SHORT)
        live = await self.running(backend)
        assert await backend.acquire(dead.lease, permit) is None

        async def taken() -> bool:
            return await backend.acquire(live.lease, permit) is None

        await eventually(taken, "the lapsed holder's slot to free itself")

    async def test_concurrency_slot_frees_when_the_holder_settles(self, backend: Backend) -> None:
        permit = Permit("concurrency", "llm", 1)
        a, b = [await self.running(backend) for _ in range(2)]
        assert await backend.acquire(a.lease, permit) is None
        await backend.settle(a.lease, Succeeded("1"))
        assert await backend.acquire(b.lease, permit) is None

    async def test_concurrency_keys_are_independent(self, backend: Backend) -> None:
        a, b = [await self.running(backend) for _ in range(2)]
        assert await backend.acquire(a.lease, Permit("concurrency", "llm", 1, key="acme")) is None
        assert await backend.acquire(b.lease, Permit("concurrency", "llm", 1, key="globex")) is None
        assert await backend.acquire(b.lease, Permit("concurrency", "ocr", 1, key="acme")) is None
        assert (
            await backend.acquire(b.lease, Permit("concurrency", "llm", 1, key="acme")) is not None
        )

    async def test_rate_permit_is_a_token_bucket(self, backend: Backend) -> None:
        permit = Permit("rate", "llm", 3, per=10.0)  # slow refill: no token comes back mid-test
        claimed = await self.running(backend)
        assert [await backend.acquire(claimed.lease, permit) for _ in range(3)] == [None] * 3
        wait = await backend.acquire(claimed.lease, permit)
        assert isinstance(wait, float)
        assert 0 < wait <= 10.0

    async def test_rate_permit_refills(self, backend: Backend) -> None:
        permit = Permit("rate", "llm", 3, per=0.3)
        claimed = await self.running(backend)
        for _ in range(3):
            await backend.acquire(claimed.lease, permit)

        async def token() -> bool:
            return await backend.acquire(claimed.lease, permit) is None

        await eventually(token, "a token to come back")

    async def test_pause_rate_empties_the_bucket_for_the_fleet(
        self, backend: Backend, peer: Backend
    ) -> None:
        permit = Permit("rate", "llm", 3, per=1.0)
        claimed = await self.running(backend)
        started = time.monotonic()
        await peer.pause_rate("llm", 5.0)
        wait = await backend.acquire(claimed.lease, permit)
        elapsed = time.monotonic() - started
        assert isinstance(wait, float)
        assert wait >= 5.0 - elapsed - 0.05

    # --- wake-ups ---------------------------------------------------------------------------

    async def test_wait_for_work_wakes_on_enqueue_elsewhere(
        self, backend: Backend, peer: Backend
    ) -> None:
        waiting = asyncio.create_task(backend.wait_for_work([QUEUE], 60.0))
        await peer.enqueue([new_job()])
        async with asyncio.timeout(30.0):  # far below the 60 s it would sleep if never woken
            await waiting

    @pytest.mark.parametrize("outcome", ["release", "retry_at", "sleep", "last_child"])
    async def test_wait_for_work_wakes_when_a_job_is_requeued_elsewhere(
        self, backend: Backend, peer: Backend, outcome: str
    ) -> None:
        if outcome == "last_child":
            _, kids = await self.parked(peer, 1)
            claimed = await claim_job(peer, kids[0].id, lease_for=300.0)
        else:
            claimed = await self.running(peer, lease_for=300.0)
        outcomes: dict[str, Outcome] = {
            "release": Release(),
            "retry_at": RetryAt(0.1),
            "sleep": Sleep("0:sleep", 0.1),
            "last_child": Succeeded("1"),
        }
        waiting = asyncio.create_task(backend.wait_for_work([QUEUE], 60.0))
        await peer.settle(claimed.lease, outcomes[outcome])
        async with asyncio.timeout(30.0):  # the lease would keep it asleep for 60 s
            await waiting

    async def test_wait_for_work_returns_at_once_when_work_is_due(self, backend: Backend) -> None:
        await enqueue_one(backend)
        async with asyncio.timeout(30.0):
            await backend.wait_for_work([QUEUE], 60.0)

    async def test_wait_for_work_wakes_when_a_delayed_job_is_due(self, backend: Backend) -> None:
        await enqueue_one(backend, delay=0.2)
        async with asyncio.timeout(30.0):
            await backend.wait_for_work([QUEUE], 60.0)

    async def test_wait_for_work_times_out_when_idle(self, backend: Backend) -> None:
        await enqueue_one(backend, queue="elsewhere")
        async with asyncio.timeout(30.0):
            await backend.wait_for_work([QUEUE], 0.1)
