"""Fleet-wide permits: concurrency slots tied to a lease, and token buckets. Each runs in the
caller's transaction; an advisory lock (slots) or the bucket's row lock makes it exact."""

from __future__ import annotations

from ...models import Lease, Permit
from .sql import Tx

_SLOT_BUSY = 0.05  # seconds to wait before asking for a full concurrency slot again


async def acquire_slot(tx: Tx, lease: Lease, permit: Permit) -> float | None:
    p = {"name": permit.name, "key": permit.key, "job_id": lease.job_id, "token": lease.token}
    await tx.run("lock_permit", p)
    if await tx.one("has_permit", p) is not None:
        return None
    await tx.run("purge_permits", p)
    row = await tx.one("count_permits", p)
    if row is not None and int(row[0]) >= permit.limit:
        return _SLOT_BUSY
    await tx.run("insert_permit", p)
    return None


async def take_token(tx: Tx, permit: Permit) -> float | None:
    row = await tx.one("lock_bucket", {"name": permit.name, "limit": float(permit.limit)})
    assert row is not None
    tokens, updated, paused, now = (float(v) for v in row)
    if paused > now:
        return paused - now
    rate = permit.limit / permit.per
    tokens = min(float(permit.limit), tokens + max(0.0, now - updated) * rate)
    wait = None
    if tokens >= 1.0:
        tokens -= 1.0
    else:
        wait = (1.0 - tokens) / rate
    await tx.run("put_bucket", {"name": permit.name, "tokens": tokens, "updated": now})
    return wait
