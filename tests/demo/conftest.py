"""Fixtures for the reference app: the demo's module-level App pointed at a temp folder,
`baton demo` as a subprocess, and the fake LLM server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .fakellm import FakeLLM

ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    """The hostile-PDF corpus: vendored in tests/corpus (with its licences), else the
    shared copy beside or above the checkout."""
    vendored = ROOT / "tests" / "corpus" / "pdfs"
    if vendored.is_dir():
        return vendored
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "corpus" / "pdfs"
        if candidate.is_dir():
            return candidate
    pytest.skip("the shared PDF corpus (shared/corpus/pdfs) is not beside this checkout")


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def providers_env(*servers: tuple[str, FakeLLM], **extra: Any) -> str:
    return json.dumps(
        [
            {
                "name": name,
                "base_url": s.base_url,
                "model": "fake-1",
                "key_env": "FAKE_LLM_KEY",
                "rate_limit": None,
                "timeout": extra.get("timeout", 2.0),
                "attempts": extra.get("attempts", 3),
                "failures_to_open": extra.get("failures_to_open", 5),
            }
            for name, s in servers
        ]
    )


def run_demo(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """`baton demo ARGS` in a fresh interpreter, as a user would run it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    full |= {"PYTHONUNBUFFERED": "1", "FAKE_LLM_KEY": "sk-test"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "baton", "demo", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_rows(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@pytest.fixture
async def demo_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """The demo's App on a SQLite file in tmp_path, its documents beside it."""
    from baton.demo import pipeline

    monkeypatch.setenv("BATON_DEMO_STORE", str(tmp_path / "documents"))
    monkeypatch.setattr(pipeline.app, "url", f"sqlite:///{tmp_path}/baton.db")
    pipeline.config.cache_clear()
    yield pipeline.app
    await pipeline.app.aclose()
    pipeline.config.cache_clear()
