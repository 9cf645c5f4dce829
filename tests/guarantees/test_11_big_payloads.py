"""Guarantee 11: big inputs and step results are kept by reference in blob storage."""

from __future__ import annotations

import json
import os

import baton


async def test_big_result_and_input_live_in_blob_storage(
    backend_url: str, tmp_path, run_burst
) -> None:
    app = baton.App(backend_url, blobs=str(tmp_path / "blobs"), blob_threshold=64 * 1024)
    text = "lorem ipsum " * 30_000  # ~360 KB, like a long PDF's text

    @app.step
    async def parse(doc: str) -> str:
        return doc.upper()

    @app.step
    async def count(words: str) -> int:
        return len(words.split())

    @app.pipeline
    async def pipe(ctx: baton.Context, doc: str) -> int:
        parsed = await ctx.run(parse, doc)
        assert parsed == text.upper()  # user code never notices the reference
        return await ctx.run(count, parsed)

    job = await pipe.enqueue(text)
    await run_burst(app)
    done = await app.get_job(job.id)
    assert done.status == baton.Status.SUCCEEDED, done.error
    assert done.result == 60_000

    backend = await app.backend()
    raw_job = await backend.get_job(job.id)
    assert raw_job is not None and len(raw_job.args) < 200
    assert json.loads(raw_job.args)["$baton_blob"].startswith("sha256:")
    steps = {s.key: s for s in await backend.steps(job.id)}
    assert steps["0:parse"].result is not None and len(steps["0:parse"].result) < 200
    assert steps["1:count"].result == "60000"
    stored = [f for _, _, files in os.walk(tmp_path / "blobs") for f in files]
    assert len(stored) == 2  # the input and the parsed text
    await app.aclose()
