"""The store fails after the stream's 200: the stream ends with an `error` event that says
so in a problem body, not with a broken chunked response or the driver's text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baton.http import RouterConfig, api_key_auth, create_app
from tests.api.conftest import ACME, KEYS
from tests.api.live import read_sse, serving
from tests.api.sample import make_app
from tests.redis_store import PrivateRedis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    private = PrivateRedis(str(tmp_path))
    private.start()
    try:
        yield private
    finally:
        private.kill()


async def test_a_store_lost_mid_stream_ends_it_with_an_error_event(server: PrivateRedis) -> None:
    app = make_app(server.url)
    api = create_app(app, auth=api_key_auth(KEYS), config=RouterConfig(keepalive=0.2))
    async with serving(api) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        r = await client.post("/jobs/analyze", json={"input": {"doc_id": "d"}}, headers=ACME)
        assert r.status_code == 202, r.text
        url = f"/jobs/{r.json()['id']}/events"
        seen = []
        async with client.stream("GET", url, headers=ACME) as response:
            assert response.status_code == 200
            async for event in read_sse(response):  # ends cleanly, or httpx raises
                seen.append(event)
                if event.event == "job.enqueued":
                    server.kill()  # no worker: the job stays queued, the stream waits
        assert [e.event for e in seen if e.event] == ["job.enqueued", "error"], seen
        error = seen[-1].data
        assert error == {
            "type": "error",
            "code": "backend_unavailable",
            "message": "the job store is unavailable; retry later",
        }
