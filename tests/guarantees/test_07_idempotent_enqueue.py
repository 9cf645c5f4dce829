"""Guarantee 7: the same idempotency key (per tenant) returns the same job."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import baton


async def test_same_key_same_job(app: baton.App, run_burst) -> None:
    runs: list[str] = []

    @app.task
    async def upload(name: str) -> str:
        runs.append(name)
        return name

    first = await upload.enqueue("a.pdf", idempotency_key="upload-abc")
    again = await upload.enqueue("a.pdf", idempotency_key="upload-abc")
    other_tenant = await upload.enqueue("a.pdf", idempotency_key="upload-abc", tenant="acme")
    assert again.id == first.id and first.created and not again.created
    assert other_tenant.id != first.id
    await run_burst(app)
    after = await upload.enqueue("a.pdf", idempotency_key="upload-abc")  # even after it ran
    assert after.id == first.id and after.status == baton.Status.SUCCEEDED
    assert runs == ["a.pdf", "a.pdf"]  # once per tenant


async def test_concurrent_enqueues_with_one_key_make_one_job(app: baton.App) -> None:
    @app.task
    async def upload(name: str) -> None:
        return None

    jobs = await asyncio.gather(*[upload.enqueue("x", idempotency_key="k") for _ in range(20)])
    assert len({j.id for j in jobs}) == 1
    assert sum(j.created for j in jobs) == 1


async def test_a_key_reused_for_another_request_is_refused(app: baton.App) -> None:
    """The IETF idempotency-key draft: a key replays one request; another request under it
    is an error, not a silent answer with the first job."""

    @app.task
    async def upload(name: str, pages: int = 1) -> None:
        return None

    @app.task
    async def other(name: str, pages: int = 1) -> None:
        return None

    def enqueue(target: object, *args: object, **options: object) -> Awaitable[baton.Job]:
        kwargs = {k: options.pop(k) for k in ("name", "pages") if k in options}
        return app.enqueue(target, args, kwargs, same_request=True, **options)  # type: ignore[arg-type]

    first = await enqueue(upload, "a.pdf", idempotency_key="k")
    # the same request, however its arguments are spelled, is the same job
    assert (await enqueue(upload, name="a.pdf", pages=1, idempotency_key="k")).id == first.id
    # without same_request a key means "this thing", whatever the rest says (a content hash)
    assert (await upload.enqueue("b.pdf", idempotency_key="k")).id == first.id
    reuses = [
        enqueue(upload, "b.pdf", idempotency_key="k"),
        enqueue(upload, "a.pdf", 2, idempotency_key="k"),
        enqueue(other, "a.pdf", idempotency_key="k"),
        enqueue(upload, "a.pdf", idempotency_key="k", priority=5),
        enqueue(upload, "a.pdf", idempotency_key="k", queue="elsewhere"),
    ]
    for attempt in reuses:
        try:
            await attempt
        except baton.IdempotencyKeyReused as exc:
            assert "'k'" in str(exc)
        else:
            raise AssertionError("a reused key with another request was accepted")
    assert [j.id for j in await app.list_jobs()] == [first.id]  # nothing else was stored
