"""examples/fastapi_offload.py runs: its slow endpoint answers 202 at once, a worker does
the work, and its page, in headless Chromium, shows every stage live from the SSE stream."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

import baton
from tests.api.live import serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
async def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ModuleType]:
    monkeypatch.setenv("BATON_URL", f"sqlite:///{tmp_path}/offload.db")
    monkeypatch.setenv("EXAMPLE_STEP_SECONDS", "0.2")
    monkeypatch.delenv("BATON_API_KEYS", raising=False)
    import examples.fastapi_offload as module

    module = importlib.reload(module)  # pick up this test's database
    yield module
    await module.jobs.aclose()


async def test_the_slow_endpoint_answers_at_once_and_a_worker_finishes_it(
    example: ModuleType,
) -> None:
    transport = httpx.ASGITransport(example.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/reports", json={"url": "https://example.com/a.pdf", "pages": 4})
        assert r.status_code == 202
        job_id = r.json()["job_id"]
        assert (await client.get(f"/baton/jobs/{job_id}")).json()["status"] == "queued"
        await baton.run_worker(example.jobs, baton.WorkerConfig(burst=True))
        job = (await client.get(f"/baton/jobs/{job_id}")).json()
        assert job["status"] == "succeeded"
        assert job["result"]["summary"] == "4 pages read"
        bad = await client.post("/reports", json={"url": "", "pages": 4})
        assert bad.status_code == 422


async def test_the_page_shows_progress_live_in_a_browser(example: ModuleType) -> None:
    if CHROMIUM is None:
        if os.environ.get("BATON_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (CI installs it: see .ci/run)")
        pytest.skip("chromium is not installed: the browser test runs in CI")
    from playwright.async_api import async_playwright

    worker = baton.Worker(example.jobs, baton.WorkerConfig())
    task = asyncio.create_task(worker.run())
    try:
        async with serving(example.api) as url, async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            try:
                page = await browser.new_page()
                stages: list[str] = []
                await page.expose_function("baton_seen", lambda text: stages.append(text))
                await page.goto(url + "/")
                await page.evaluate(
                    """() => new MutationObserver(() =>
                         window.baton_seen(document.getElementById('stage').textContent))
                       .observe(document.getElementById('stage'), {childList: true})"""
                )
                await page.click("#go")
                await page.wait_for_function(
                    "document.getElementById('stage').textContent.startsWith('Done')",
                    timeout=30_000,
                )
                result = await page.text_content("#result")
                stage = await page.text_content("#stage")
            finally:
                await browser.close()
    finally:
        worker.stop()
        await task
    assert stage == "Done: succeeded"
    assert result is not None and '"summary": "3 pages read"' in result
    for n, name in enumerate(["downloading", "reading pages", "analyzing", "saving"], 1):
        assert f"Stage {n} of 4: {name}" in stages, stages  # each stage shown as it happened
