"""Auth and tenant isolation: 401 without a valid key; another tenant's job is a 404 on
every endpoint; the auth scheme can be replaced by the app's own dependency."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import Header

import baton
from baton.errors import ConfigError
from baton.http import Caller, api_key_auth, create_app, parse_api_keys
from tests.api.conftest import ACME, GLOBEX

ENDPOINTS = [
    ("GET", "/jobs/{id}"),
    ("GET", "/jobs/{id}/events"),
    ("POST", "/jobs/{id}/cancel"),
    ("POST", "/jobs/{id}/retry"),
]


async def acme_job(client: httpx.AsyncClient, pipeline: str = "doomed") -> str:
    inputs = {"doc_id": "x"} if pipeline == "analyze" else {}
    r = await client.post(f"/jobs/{pipeline}", json={"input": inputs}, headers=ACME)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic a2V5LWFjbWU6"},
        {"Authorization": "Bearer key-acm"},
        {"Authorization": "Bearer key-acmee"},
    ],
    ids=["missing", "wrong", "not-bearer", "prefix", "longer"],
)
async def test_every_endpoint_is_401_without_a_valid_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    job_id = await acme_job(client)
    calls = [(m, p.format(id=job_id)) for m, p in ENDPOINTS]
    calls += [("POST", "/jobs/analyze"), ("GET", "/jobs"), ("GET", "/queues"), ("GET", "/metrics")]
    for method, path in calls:
        r = await client.request(method, path, headers=headers, json={"input": {"doc_id": "x"}})
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200


async def test_another_tenants_job_is_404_everywhere(
    client: httpx.AsyncClient, drain: Callable[[], object], app: baton.App
) -> None:
    job_id = await acme_job(client)
    await drain()  # type: ignore[misc]  # failed: retry would be allowed for its owner
    for method, path in ENDPOINTS:
        r = await client.request(method, path.format(id=job_id), headers=GLOBEX)
        assert (r.status_code, r.json()["code"]) == (404, "job_not_found"), (method, path)
    assert (await app.get_job(job_id)).status == baton.Status.FAILED  # globex changed nothing
    assert (await client.get(f"/jobs/{job_id}", headers=ACME)).status_code == 200


async def test_lists_queues_and_metrics_show_only_the_callers_tenant(
    client: httpx.AsyncClient,
) -> None:
    mine = await acme_job(client, "analyze")
    assert (await client.get("/jobs", headers=GLOBEX)).json()["jobs"] == []
    assert [j["id"] for j in (await client.get("/jobs", headers=ACME)).json()["jobs"]] == [mine]
    assert (await client.get("/queues", headers=GLOBEX)).json() == []
    assert (await client.get("/queues", headers=ACME)).json()[0]["depth"] == 1
    assert 'queue="docs"' not in (await client.get("/metrics", headers=GLOBEX)).text
    assert (
        'baton_queue_depth{queue="docs"} 1.0' in (await client.get("/metrics", headers=ACME)).text
    )


async def test_keys_come_from_the_environment(
    app: baton.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_API_KEYS", "k1:alpha, k2:beta")
    transport = httpx.ASGITransport(create_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post(
            "/jobs/analyze", json={"input": {"doc_id": "x"}}, headers={"Authorization": "Bearer k2"}
        )
        assert r.status_code == 202
        assert (await app.get_job(r.json()["id"])).tenant == "beta"
        assert (await c.get("/jobs")).status_code == 401


async def test_open_mode_is_single_tenant_and_says_so(
    app: baton.App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("BATON_API_KEYS", raising=False)
    api = create_app(app)
    assert "open and single-tenant" in caplog.text
    transport = httpx.ASGITransport(api)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/jobs/analyze", json={"input": {"doc_id": "x"}})
        assert r.status_code == 202
        assert (await app.get_job(r.json()["id"])).tenant == "default"


def test_malformed_api_keys_are_a_config_error() -> None:
    for text in ("k1", "k1:", ":t", "k1:t1,oops"):
        with pytest.raises(ConfigError, match="key1:tenant1"):
            parse_api_keys(text)
    assert parse_api_keys(" a:x ,, b:y ") == {"a": "x", "b": "y"}
    with pytest.raises(ConfigError, match="twice"):
        parse_api_keys("a:x,a:y")


async def test_an_admin_key_sees_every_tenant() -> None:
    check = api_key_auth({"root": "*"})
    from fastapi.security import HTTPAuthorizationCredentials

    caller = await check(HTTPAuthorizationCredentials(scheme="Bearer", credentials="root"))  # type: ignore[misc]
    assert caller == Caller("default", None)


async def test_the_apps_own_auth_dependency_replaces_api_keys(app: baton.App) -> None:
    """E.g. a JWT check: any dependency that returns a Caller."""

    def from_gateway(x_tenant: str | None = Header(None)) -> Caller:
        if not x_tenant:
            from fastapi import HTTPException

            raise HTTPException(401, "no tenant header")
        return Caller(tenant=x_tenant, scope=x_tenant)

    transport = httpx.ASGITransport(create_app(app, auth=from_gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post(
            "/jobs/analyze", json={"input": {"doc_id": "x"}}, headers={"X-Tenant": "initech"}
        )
        assert r.status_code == 202
        job_id = r.json()["id"]
        assert (await c.get(f"/jobs/{job_id}", headers={"X-Tenant": "initech"})).status_code == 200
        assert (await c.get(f"/jobs/{job_id}", headers={"X-Tenant": "other"})).status_code == 404
        denied = await c.get(f"/jobs/{job_id}")
        assert (denied.status_code, denied.json()["code"]) == (401, "unauthorized")


def test_api_key_auth_accepts_an_explicit_table() -> None:
    check = api_key_auth({"s3cret": "acme"})
    assert callable(check)
