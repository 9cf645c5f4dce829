"""Callers never see a store's password, host, path or driver text (issue 11, point 5),
and a tenant's `/metrics` carries only its own series (point 6)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

import baton
from baton.http import api_key_auth, create_app
from tests.api.conftest import ACME, GLOBEX, KEYS
from tests.api.sample import make_app

SECRET = "s3cret-Pa55"


def dead_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_urls() -> list[str]:
    return [
        f"postgresql://root@127.0.0.1:{dead_port()}/baton?password={SECRET}&pool_timeout=1",
        f"postgresql://root:{SECRET}@127.0.0.1:{dead_port()}/baton?pool_timeout=1",
        f"redis://:{SECRET}@127.0.0.1:{dead_port()}/0",
    ]


def assert_nothing_leaks(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "backend_unavailable"
    body = r.text
    for leak in (SECRET, "127.0.0.1", "root", "refused", "Errno", "connection", "/baton"):
        assert leak not in body, (leak, body)


@pytest.mark.parametrize("url", dead_urls(), ids=["pg-query", "pg-userinfo", "redis"])
async def test_a_dead_store_shows_callers_no_secret_host_or_driver_text(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(url)
    transport = httpx.ASGITransport(create_app(app, auth=api_key_auth(KEYS)))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in ("/jobs", "/queues", "/metrics"):
                assert_nothing_leaks(await client.get(path, headers=ACME))
            health = await client.get("/healthz")
            assert_nothing_leaks(health)
            kind = "redis" if url.startswith("redis") else "postgres"
            assert (health.json()["status"], health.json()["backend"]) == ("unavailable", kind)
    finally:
        await app.aclose()
    assert "unavailable" in caplog.text  # the detail goes to the operator's log...
    assert SECRET not in caplog.text  # ...redacted


async def test_healthz_shows_no_path_when_healthy(client: httpx.AsyncClient, db_url: str) -> None:
    r = await client.get("/healthz")
    assert r.json() == {"status": "ok", "backend": "sqlite"}
    assert db_url.removeprefix("sqlite:///") not in r.text


def _families(text: str) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    return {f.name for f in text_string_to_metric_families(text)}


PROCESS_WIDE = {"baton_step_duration_seconds", "baton_sse_watchers"}


async def test_a_tenant_sees_only_its_own_metrics(
    client: httpx.AsyncClient, drain: Callable[[], object]
) -> None:
    r = await client.post("/jobs/analyze", json={"input": {"doc_id": "a"}}, headers=ACME)
    assert r.status_code == 202
    await drain()  # type: ignore[misc]  # a step ran in this process: the histogram has data
    globex = (await client.get("/metrics", headers=GLOBEX)).text
    assert 'queue="docs"' not in globex  # acme's queue
    assert not _families(globex) & PROCESS_WIDE
    acme = (await client.get("/metrics", headers=ACME)).text
    assert 'baton_jobs_ended{queue="docs",status="succeeded"} 1.0' in acme
    assert not _families(acme) & PROCESS_WIDE


async def test_the_open_api_shows_the_process_wide_metrics(
    app: baton.App, drain: Callable[[], object]
) -> None:
    open_api: FastAPI = create_app(app, auth=api_key_auth({}))
    transport = httpx.ASGITransport(open_api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/jobs/analyze", json={"input": {"doc_id": "a"}})
        assert r.status_code == 202
        await drain()  # type: ignore[misc]
        text = (await client.get("/metrics")).text
    assert _families(text) >= PROCESS_WIDE


async def test_an_admin_caller_sees_the_process_wide_metrics(
    app: baton.App, drain: Callable[[], object]
) -> None:
    from baton.http.auth import Caller

    async def admin() -> Caller:  # what an admin key (`key:*`) resolves to
        return Caller("default", None)

    transport = httpx.ASGITransport(create_app(app, auth=admin))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post("/jobs/analyze", json={"input": {"doc_id": "a"}})
        assert r.status_code == 202
        await drain()  # type: ignore[misc]
        text = (await client.get("/metrics")).text
    assert _families(text) >= PROCESS_WIDE
