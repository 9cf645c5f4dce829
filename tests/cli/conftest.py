"""Fixtures for the CLI tests: a SQLite file per test, the sample app, worker subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import baton
from tests.cli.sample_app import make_app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "tests.cli.sample_app:app"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/baton.db"


@pytest.fixture
async def sample(db_url: str) -> AsyncIterator[baton.App]:
    app = make_app(db_url)
    yield app
    await app.aclose()


def child_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    return env | {"BATON_URL": url, "PYTHONUNBUFFERED": "1"} | extra


@asynccontextmanager
async def baton_process(
    *args: str, url: str, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m baton *args` in the repo root with $BATON_URL set; if still alive at the
    end (a failed test), it and its worker children are killed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton",
        *args,
        cwd=ROOT,
        env=child_env(url, **env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so cleanup reaches its children
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.communicate()


async def finish(proc: asyncio.subprocess.Process, timeout: float = 30) -> tuple[int, str, str]:
    """Wait (with a deadline) for the process to exit; its exit code, stdout and stderr."""
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
