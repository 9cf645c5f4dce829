"""The deployment the guide describes, for real: `baton worker` and uvicorn as separate
processes sharing one SQLite file and one (sealed) document store, a PDF uploaded over
TCP, its result read back, the signed callback received, both stopped with SIGTERM."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT
from .fakellm import FakeLLM
from .pdfgen import make_pdf


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")} | {
        "BATON_URL": f"sqlite:///{tmp_path}/baton.db",
        "BATON_DEMO_STORE": str(tmp_path / "documents"),
        "BATON_DEMO_KEY": secrets.token_hex(32),
        "BATON_API_KEYS": "k1:acme",
        "BATON_WEBHOOK_SECRET": "whsec-test",
        "BATON_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver is on loopback
    }
    port = _free_port()
    exe = [sys.executable, "-m"]
    worker = [*exe, "baton", "worker", "baton.demo.pipeline:app", "-Q", "documents"]
    api = [*exe, "uvicorn", "--factory", "baton.demo.api:make_api", "--port", str(port)]
    procs = [
        subprocess.Popen([*worker, "--process-pool", "1"], cwd=ROOT, env=env),
        subprocess.Popen([*api, "--host", "127.0.0.1"], cwd=ROOT, env=env),
    ]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in procs]
        # the worker drains and exits 0; uvicorn shuts down, then re-raises the signal
        assert codes[0] == 0 and codes[1] in (0, -signal.SIGTERM)


def _until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the API did not come up")


def test_worker_and_api_as_separate_processes(deployment: str, fake_llm: FakeLLM) -> None:
    receiver = fake_llm  # any POST gets a 200; every request is recorded
    _until_up(deployment)
    auth = {"Authorization": "Bearer k1"}
    pdf = make_pdf([["INVOICE", "Bill to: Globex Corporation", "Total due: $10.00"]])
    files = {"file": ("invoice.pdf", pdf, "application/pdf")}
    hook = {"callback_url": f"http://127.0.0.1:{receiver.port}/hook"}
    r = httpx.post(f"{deployment}/documents", files=files, headers=auth, params=hook, timeout=10)
    assert r.status_code == 202, r.text
    job_url = f"{deployment}/jobs/{r.json()['id']}"
    deadline = time.monotonic() + 60
    while (job := httpx.get(job_url, headers=auth, timeout=5).json())["status"] != "succeeded":
        assert job["status"] in ("queued", "running", "waiting") and time.monotonic() < deadline
        time.sleep(0.1)
    doc = httpx.get(f"{deployment}{r.json()['status_url']}", headers=auth, timeout=5).json()
    assert doc["result"]["analysis"]["document_type"] == "invoice"
    assert doc["result"]["encrypted"] is True
    deadline = time.monotonic() + 60
    while not receiver.seen:
        assert time.monotonic() < deadline, "no callback arrived"
        time.sleep(0.1)
    [call] = receiver.seen
    assert call.path == "/hook" and call.headers["baton-signature"].startswith("t=")
    assert call.body["type"] == "job.succeeded" and call.body["job"]["id"] == r.json()["id"]
