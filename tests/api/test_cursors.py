"""Event cursors out of 0..2^63-1 are a 400 `bad_request` before the stream starts: no
store can compare past a signed 64-bit number (SQLite raised OverflowError, Redis a
ResponseError, inside an already-started 200)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import ACME

BAD = [str(2**63), "9" * 20, "-1", "abc", "1.5", " ", "9" * 400]


async def a_job(client: httpx.AsyncClient) -> str:
    r = await client.post("/jobs/doomed", json={"input": {}}, headers=ACME)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize("cursor", BAD)
async def test_a_bad_last_event_id_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    job = await a_job(client)
    r = await client.get(f"/jobs/{job}/events", headers={**ACME, "Last-Event-ID": cursor})
    assert (r.status_code, r.json()["code"]) == (400, "bad_request"), r.text


@pytest.mark.parametrize("cursor", [str(2**63), "9" * 20, "-1"])
async def test_a_bad_after_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    job = await a_job(client)
    r = await client.get(f"/jobs/{job}/events", params={"after": cursor}, headers=ACME)
    assert (r.status_code, r.json()["code"]) == (400, "bad_request"), r.text
