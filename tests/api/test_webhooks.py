"""Completion webhooks against a real receiver on loopback: signed, retried through a
receiver that is down, then 503, then 429 with Retry-After, across a worker SIGKILL and
restart; every ended job delivered at least once, duplicates with the same delivery id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import baton
from baton.backends.callbacks import delivery_id
from baton.errors import PayloadError
from baton.http import api_key_auth, create_app
from baton.webhooks import WebhookConfig, check_callback_url, sign, verify_signature
from tests.api import hookapp
from tests.api.conftest import ACME, KEYS
from tests.api.live import free_port, serving
from tests.api.receiver import Receiver
from tests.helpers import start_worker, until

ROOT = Path(__file__).resolve().parents[2]
RUNNER = (
    "import asyncio, baton; from tests.api.hookapp import app; "
    "asyncio.run(baton.run_worker(app, baton.WorkerConfig(lease=2.0, check_interval=0.1), "
    "install_signals=True))"
)


@pytest.fixture
async def hooks(db_url: str) -> AsyncIterator[baton.App]:
    app = hookapp.make_app(db_url)
    yield app
    await app.aclose()


# --- signatures and address checks ----------------------------------------------------


def test_a_signature_verifies_and_a_tampered_or_stale_one_does_not() -> None:
    body = b'{"id": "d1"}'
    header = sign("s3cret", body)
    assert verify_signature("s3cret", header, body)
    assert not verify_signature("s3cret", header, body + b" ")
    assert not verify_signature("other", header, body)
    assert not verify_signature("s3cret", "t=abc,v1=00", body)
    assert not verify_signature("s3cret", "", body)
    old = sign("s3cret", body, timestamp=int(time.time()) - 3600)
    assert not verify_signature("s3cret", old, body)  # a replay an hour later is refused
    assert verify_signature("s3cret", old, body, tolerance=7200)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "http:///nohost",
    ],
)
def test_internal_and_odd_callback_urls_are_refused(url: str) -> None:
    with pytest.raises(PayloadError):
        check_callback_url(url, WebhookConfig(secret="s"))


def test_public_urls_pass_and_private_ones_can_be_allowed() -> None:
    check_callback_url("https://hooks.example.com/baton", WebhookConfig(secret="s"))
    check_callback_url("http://8.8.8.8/x", WebhookConfig(secret="s"))
    check_callback_url("http://127.0.0.1:9/hook", WebhookConfig(secret="s", allow_private=True))


def test_a_callback_needs_a_secret() -> None:
    with pytest.raises(PayloadError, match="BATON_WEBHOOK_SECRET"):
        check_callback_url("https://hooks.example.com/x", WebhookConfig(secret=None))


async def test_the_api_refuses_a_private_callback_with_a_422(db_url: str) -> None:
    app = baton.App(db_url, webhooks=WebhookConfig(secret="s"))

    @app.task
    async def noop() -> None: ...

    transport = httpx.ASGITransport(create_app(app, auth=api_key_auth(KEYS)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post(
            "/jobs/noop",
            json={"input": {}, "callback_url": "http://169.254.169.254/x"},
            headers=ACME,
        )
    await app.aclose()
    assert (r.status_code, r.json()["field"]) == (422, "callback_url")
    assert "refused" in r.json()["message"]


# --- deliveries -----------------------------------------------------------------------


async def test_a_delivery_is_signed_and_visible_on_the_job(hooks: baton.App) -> None:
    receiver = Receiver()
    async with serving(receiver.app()) as url:
        job = await hooks.enqueue("note", (4,), callback_url=f"{url}/hook", tenant="acme")
        worker, task = start_worker(hooks)
        try:
            await until(lambda: receiver.delivered(), what="the delivery")
        finally:
            worker.stop()
            await task
    (got,) = receiver.received
    assert verify_signature(hookapp.SECRET, got.headers["baton-signature"], got.body)
    seq = [e.seq for e in await hooks.events(job.id) if e.type == "job.succeeded"][-1]
    assert got.headers["baton-delivery"] == delivery_id(job.id, seq) == got.json["id"]
    assert got.headers["baton-event"] == "job.succeeded" == got.json["type"]
    assert got.headers["content-type"] == "application/json"
    assert got.json["job"]["id"] == job.id
    assert got.json["job"]["status"] == "succeeded"
    assert got.json["job"]["result"] == 40
    assert got.json["job"]["tenant"] == "acme"
    transport = httpx.ASGITransport(create_app(hooks, auth=api_key_auth(KEYS)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        shown = (await client.get(f"/jobs/{job.id}", headers=ACME)).json()
    (delivery,) = shown["deliveries"]
    assert (delivery["id"], delivery["status"], delivery["response_status"]) == (
        got.json["id"],
        "succeeded",
        200,
    )


async def test_a_failed_job_is_delivered_too(hooks: baton.App) -> None:
    receiver = Receiver()
    async with serving(receiver.app()) as url:
        job = await hooks.enqueue("broken", (1,), callback_url=f"{url}/hook")
        worker, task = start_worker(hooks)
        try:
            await until(lambda: receiver.delivered(), what="the delivery")
        finally:
            worker.stop()
            await task
    body = receiver.delivered()[0].json
    assert (body["type"], body["job"]["status"]) == ("job.failed", "failed")
    assert body["job"]["error"]["message"] == "broken 1"
    assert "traceback" not in body["job"]["error"]
    assert (await hooks.get_job(job.id)).status == baton.Status.FAILED


async def test_a_receiver_that_refuses_for_good_ends_the_delivery_visibly_failed(
    hooks: baton.App,
) -> None:
    receiver = Receiver(plan=[(410, {})])  # Gone: not worth retrying
    async with serving(receiver.app()) as url:
        job = await hooks.enqueue("note", (1,), callback_url=f"{url}/hook")
        worker, task = start_worker(hooks)
        try:
            delivery = delivery_id(job.id, await _end_seq(hooks, job.id))
            await until(lambda: _ended(hooks, delivery), what="the delivery to give up")
        finally:
            worker.stop()
            await task
    assert len(receiver.received) == 1  # a 4xx is not retried
    failed = await hooks.get_job(delivery)
    assert failed.status == baton.Status.FAILED
    assert failed.error is not None and "410" in failed.error["message"]


async def test_a_delivery_that_never_gets_through_ends_failed(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_ATTEMPTS", "3")
    app = hookapp.make_app(db_url)
    port = free_port()  # nothing listens there
    job = await app.enqueue("note", (1,), callback_url=f"http://127.0.0.1:{port}/hook")
    worker, task = start_worker(app)
    try:
        delivery = delivery_id(job.id, await _end_seq(app, job.id))
        await until(lambda: _ended(app, delivery), what="the delivery to give up")
    finally:
        worker.stop()
        await task
    failed = await app.get_job(delivery)
    assert (failed.status, failed.attempts) == (baton.Status.FAILED, 1)
    assert [s.attempts for s in failed.steps] == [3]
    assert (await app.get_job(job.id)).status == baton.Status.SUCCEEDED  # the job is not harmed
    await app.aclose()


async def _end_seq(app: baton.App, job_id: str) -> int:
    """The number of the job's latest terminal event, once it has one."""
    from baton.models import TERMINAL_EVENTS

    async def seq() -> int | None:
        ends = [e.seq for e in await app.events(job_id) if e.type in TERMINAL_EVENTS]
        return ends[-1] if ends else None

    return await until(seq, what=f"job {job_id} to end")


async def _ended(app: baton.App, job_id: str) -> bool:
    try:
        return (await app.get_job(job_id)).status.terminal
    except baton.JobNotFound:
        return False


# --- the whole story: down, 503, 429, a killed worker, up -------------------------------


def _spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", RUNNER], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.mark.slow
async def test_every_ended_job_is_delivered_through_outages_and_a_worker_restart(
    hooks: baton.App, db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/hook"
    jobs = [await hooks.enqueue("note", (n,), callback_url=callback) for n in range(5)]
    jobs += [await hooks.enqueue("broken", (n,), callback_url=callback) for n in range(2)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env |= {"BATON_URL": db_url, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "worker.log"
    first = _spawn(env, log)
    try:
        # 1. the receiver is down: every job ends, every delivery is retrying
        await until(lambda: _all_ended(hooks, jobs), timeout=60, what="all jobs to end")
        await until(lambda: _retrying(hooks, jobs), timeout=30, what="deliveries to retry")
        # 2. it comes up failing: 503s, then 429s with Retry-After, then 200
        plan = [(503, {})] * 4 + [(429, {"Retry-After": "1"})] * 3 + [(200, {})]
        receiver = Receiver(plan=list(plan))
        async with serving(receiver.app(), port=port):
            await until(lambda: len(receiver.received) >= 2, timeout=30, what="first attempts")
            first.send_signal(signal.SIGKILL)  # 3. the worker dies mid-story
            first.wait(timeout=10)
            second = _spawn(env, log)
            try:
                await until(
                    lambda: (
                        {r.json["job"]["id"] for r in receiver.delivered()} >= {j.id for j in jobs}
                    ),
                    timeout=90,
                    what="every job delivered",
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    by_job: dict[str, set[str]] = defaultdict(set)
    for got in receiver.received:
        assert verify_signature(hookapp.SECRET, got.headers["baton-signature"], got.body)
        assert got.headers["baton-delivery"] == got.json["id"]
        by_job[got.json["job"]["id"]].add(got.headers["baton-delivery"])
    for job in jobs:
        seq = await _end_seq(hooks, job.id)
        assert by_job[job.id] == {delivery_id(job.id, seq)}  # every retry: the same id
    assert {r.answered for r in receiver.received} == {503, 429, 200}  # it saw every phase
    for n, got in enumerate(receiver.received):  # Retry-After: 1 was honoured
        if got.answered == 429:
            later = [r for r in receiver.received[n + 1 :] if r.json["id"] == got.json["id"]]
            assert not later or later[0].at - got.at >= 0.9, "retried before Retry-After"
    statuses = {job.id: (await hooks.get_job(job.id)).status for job in jobs}
    assert sorted(s.value for s in statuses.values()) == ["failed"] * 2 + ["succeeded"] * 5
    for job in jobs:
        delivery = await hooks.get_job(delivery_id(job.id, await _end_seq(hooks, job.id)))
        assert delivery.status == baton.Status.SUCCEEDED, json.dumps(delivery.error)


async def _all_ended(app: baton.App, jobs: list[baton.Job]) -> bool:
    for job in jobs:
        if not (await app.get_job(job.id)).status.terminal:
            return False
    return True


async def _retrying(app: baton.App, jobs: list[baton.Job]) -> bool:
    for job in jobs:
        delivery = await app.get_job(delivery_id(job.id, await _end_seq(app, job.id)))
        if not delivery.steps and delivery.attempts < 2:
            return False
    return True


# --- the delivery key space is baton's ---------------------------------------------------


async def test_a_reserved_idempotency_key_is_refused_and_the_delivery_still_happens(
    hooks: baton.App,
) -> None:
    """A tenant that took `baton.callback:<job>:<seq>` first would turn the real delivery
    into a duplicate: such keys are refused with a 422, and the delivery goes out."""
    receiver = Receiver()
    transport = httpx.ASGITransport(create_app(hooks, auth=api_key_auth(KEYS)))
    async with (
        serving(receiver.app()) as url,
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        r = await client.post(
            "/jobs/note",
            json={"input": {"n": 1}},
            headers={**ACME, "Idempotency-Key": "baton.callback:x:1"},
        )
        assert r.status_code == 422
        assert (r.json()["code"], r.json()["field"]) == ("invalid_request", "Idempotency-Key")
        body = {"input": {"n": 4}, "callback_url": f"{url}/hook"}
        r = await client.post("/jobs/note", json=body, headers={**ACME, "Idempotency-Key": "k1"})
        assert r.status_code == 202
        job_id = r.json()["id"]
        for seq in range(1, 8):  # every key the delivery of this job could take
            squat = {**ACME, "Idempotency-Key": f"baton.callback:{job_id}:{seq}"}
            r = await client.post("/jobs/note", json={"input": {"n": 0}}, headers=squat)
            assert r.status_code == 422
        worker, task = start_worker(hooks)
        try:
            await until(lambda: receiver.delivered(), what="the delivery")
        finally:
            worker.stop()
            await task
    (got,) = receiver.received
    assert got.json["job"]["id"] == job_id
    assert verify_signature(hookapp.SECRET, got.headers["baton-signature"], got.body)
    seq = await _end_seq(hooks, job_id)
    assert got.headers["baton-delivery"] == delivery_id(job_id, seq)
    assert seq < 8  # the squatted keys above covered the real one


async def test_the_python_client_refuses_a_reserved_key_too(hooks: baton.App) -> None:
    with pytest.raises(PayloadError, match="reserved"):
        await hooks.enqueue("note", (1,), idempotency_key="baton.callback:x:1")
    job = await hooks.enqueue("note", (1,), idempotency_key="baton.callbacks-are-mine")
    assert job.created  # only the exact delivery prefix is reserved
