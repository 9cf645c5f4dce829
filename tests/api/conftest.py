"""Fixtures for the HTTP tests: a SQLite store per test, the router in-process through
`httpx.ASGITransport`, and API keys for two tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import baton
from baton.http import api_key_auth, create_app
from tests.api.sample import GATES, make_app

KEYS = {"key-acme": "acme", "key-globex": "globex"}
ACME = {"Authorization": "Bearer key-acme"}
GLOBEX = {"Authorization": "Bearer key-globex"}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/baton.db"


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[baton.App]:
    GATES.clear()
    a = make_app(db_url)
    yield a
    await a.aclose()


@pytest.fixture
def api(app: baton.App) -> FastAPI:
    return create_app(app, auth=api_key_auth(KEYS))


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(api)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as c:
        yield c


@pytest.fixture
def drain(app: baton.App) -> Callable[[], object]:
    """Run a burst worker over the sample app's queue until it is empty."""

    async def run() -> baton.Worker:
        return await baton.run_worker(app, baton.WorkerConfig(queues=("docs",), burst=True))

    return run
