"""The webhook outbox, as every backend writes it.

A job with a `callback_url` that ends (by any path: settle, cancel, expiry, deadline,
worker lost) gets a delivery job inserted in the same transaction as its ending. The
delivery is an ordinary job (pipeline `baton.callback`) on the ended job's queue, so it is
as durable as the job itself, retried with backoff by the normal retry machinery, visible
through every job read, and ends visibly `failed` when it never gets through.

Its id is derived from (job id, terminal event number), so the same ending always makes
the same delivery (the receiver's dedup key, sent as `Baton-Delivery`), a retried job that
ends again gets a new one, and readers can find a job's deliveries without an index.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from ..errors import ReservedKey
from ..models import NewJob

CALLBACK_PIPELINE = "baton.callback"
# Delivery jobs' idempotency keys live under this prefix; callers may not use it (see
# `check_user_key`), or a tenant could pre-create a key and suppress its own deliveries.
RESERVED_KEY_PREFIX = f"{CALLBACK_PIPELINE}:"


def check_user_key(key: str | None) -> None:
    """Refuse a caller's idempotency key in the delivery key space. Only public enqueues
    are checked: backends insert deliveries directly (`callback_job`), never through here."""
    if key is not None and key.startswith(RESERVED_KEY_PREFIX):
        raise ReservedKey(
            f"Idempotency-Key may not start with {RESERVED_KEY_PREFIX!r}: "
            "that prefix is reserved for webhook deliveries"
        )


def delivery_id(job_id: str, seq: int) -> str:
    """A UUIDv7-shaped id: the job's own timestamp (so it sorts beside its job), then bits
    hashed from (job id, seq), so every backend and reader computes the same one."""
    ms = uuid.UUID(job_id).int >> 80
    digest = int.from_bytes(hashlib.sha256(f"{job_id}:{seq}".encode()).digest()[:10], "big")
    rand_a = digest >> 68 & 0xFFF
    rand_b = digest & ((1 << 62) - 1)
    value = ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def callback_job(
    job_id: str,
    seq: int,
    *,
    callback_url: str | None,
    queue: str,
    tenant: str,
    priority: int = 0,
) -> NewJob | None:
    """The delivery job for the ending logged as event `seq` of `job_id`; None without a URL."""
    if not callback_url:
        return None
    return NewJob(
        id=delivery_id(job_id, seq),
        pipeline=CALLBACK_PIPELINE,
        queue=queue,
        tenant=tenant,
        priority=priority,
        args=json.dumps({"job_id": job_id, "seq": seq}),
        idempotency_key=f"{RESERVED_KEY_PREFIX}{job_id}:{seq}",
    )
