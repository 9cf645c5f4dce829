"""Smoke test of the benchmark harness: each adapter runs a tiny W1 and every job runs once.

Not a benchmark: no timing is asserted. huey lives only in bench/.venv, so in the core venv
this exercises the baton and raw-sqlite adapters and skips huey.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workloads import Config, w1  # noqa: E402


@pytest.mark.parametrize("spec", ["baton-sqlite", "raw-sqlite", "huey-sqlite"])
def test_adapter_runs_every_job_exactly_once(spec: str) -> None:
    if spec.startswith("huey") and importlib.util.find_spec("huey") is None:
        pytest.skip("huey is not installed in this venv (only in bench/.venv)")
    res = w1(spec, Config(w1_jobs=50, w1_processes=2, drain_timeout=15.0, enqueue_timeout=15.0))
    assert not res["timed_out"], res
    assert (res["lost"], res["dup"]) == (0, 0), res
