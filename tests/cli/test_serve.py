"""`baton serve` and `baton dev` as real subprocesses on a loopback port."""

from __future__ import annotations

import signal

import httpx

from tests.api.live import free_port
from tests.cli.conftest import baton_process, finish
from tests.helpers import until

APP = "tests.api.sample:app"


async def _up(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=1) as client:
            return (await client.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_serve_runs_the_api_alone(db_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with baton_process("serve", APP, "--port", str(port), url=db_url) as proc:
        await until(lambda: _up(base), timeout=30, what="baton serve to answer")
        async with httpx.AsyncClient(base_url=base) as client:
            r = await client.post("/jobs/analyze", json={"input": {"doc_id": "abc"}})
            assert r.status_code == 202
            job = (await client.get(r.json()["status_url"])).json()
            assert job["status"] == "queued"  # no worker in `serve`
            assert (await client.get("/openapi.json")).json()["info"]["title"]
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc)
    assert_clean_stop(code, err)
    assert "open and single-tenant" in err  # said at start


def assert_clean_stop(code: int, err: str) -> None:
    """uvicorn shuts down cleanly, then re-raises the signal (its convention)."""
    assert code in (0, -signal.SIGTERM), err
    assert "Application shutdown complete." in err


async def test_dev_runs_the_api_and_a_worker(db_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    keys = {"BATON_API_KEYS": "k:acme"}
    async with baton_process("dev", APP, "--port", str(port), url=db_url, **keys) as proc:
        await until(lambda: _up(base), timeout=30, what="baton dev to answer")
        headers = {"Authorization": "Bearer k"}
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            r = await client.post("/jobs/analyze", json={"input": {"doc_id": "abcd"}})
            assert r.status_code == 202

            async def done() -> bool:
                job = (await client.get(r.json()["status_url"])).json()
                return job["status"] == "succeeded"

            await until(done, timeout=30, what="the dev worker to run the job")
            assert (await client.get("/jobs")).status_code == 200
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc)
    assert_clean_stop(code, err)


async def test_serve_with_a_bad_app_path_fails_in_one_line(db_url: str) -> None:
    async with baton_process("serve", "nowhere.at:all", url=db_url) as proc:
        code, _, err = await finish(proc)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("error: ")


def test_serve_refuses_a_duplicate_api_key_in_one_line(tmp_path: object) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BATON_API_KEYS": "a:x,a:y", "BATON_URL": f"sqlite:///{tmp_path}/b.db"}
    done = subprocess.run(
        [sys.executable, "-m", "baton", "serve", APP, "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: BATON_API_KEYS lists one key twice: each key names one tenant"
    ]
