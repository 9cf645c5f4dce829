"""Smoke test of the benchmark harness: adapters run tiny workloads and every job runs once.

Not a benchmark: no timing is asserted. The peers live only in bench/.venv, so in the core
venv this exercises baton on SQLite and the SQLite floor and skips the rest. The server
floors (raw-pg, raw-redis) are left out: they share bench_raw_pg and Redis db 15 with a
`make bench` that may be running at the same time. W5 (a process pool and ~1 s of CPU even
with short latencies) is left to `make bench BENCH_ARGS='--quick --workloads w5'`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workloads import Config, w1, w3, w4  # noqa: E402

TINY = Config(
    w1_jobs=50,
    w1_processes=2,
    w3_jobs=40,
    w3_inflight=20,
    w4_children=20,
    w2_idle=0.1,
    drain_timeout=30.0,
    enqueue_timeout=15.0,
)


@pytest.mark.parametrize("spec", ["baton-sqlite", "raw-sqlite", "huey-sqlite"])
def test_adapter_runs_every_job_exactly_once(spec: str) -> None:
    if spec.startswith("huey") and importlib.util.find_spec("huey") is None:
        pytest.skip("huey is not installed in this venv (only in bench/.venv)")
    res = w1(spec, TINY)
    assert not res["timed_out"], res
    assert (res["lost"], res["dup"]) == (0, 0), res


def test_w3_runs_every_sleep_once_within_the_in_flight_bound() -> None:
    res = w3("baton-sqlite", TINY)
    assert not res["timed_out"], res
    assert (res["lost"], res["dup"]) == (0, 0), res
    assert res["max_in_flight"] <= TINY.w3_inflight


def test_w4_gathers_every_child_result() -> None:
    res = w4("baton-sqlite", TINY)
    assert not res["timed_out"], res
    assert (res["lost"], res["dup"], res["wrong_results"]) == (0, 0, False), res


def test_floors_say_why_they_cannot_fan_out() -> None:
    assert "na" in w4("raw-sqlite", TINY)


def test_the_http_flood_counts_every_request(tmp_path: Path) -> None:
    """A tiny open-loop flood against a real `baton serve`: every request is counted once,
    as accepted, 4xx, 5xx or a transport error."""
    import asyncio
    import json

    from bench import http_flood

    asyncio.run(
        http_flood.main(
            [
                *("--clients", "2", "--rate", "20", "--seconds", "1", "--backends", "sqlite"),
                *("--results", str(tmp_path)),
            ]
        )
    )
    [written] = tmp_path.glob("*-http-flood.json")
    run = json.loads(written.read_text())["runs"]["sqlite"]
    counted = run["accepted"] + run["4xx"] + run["5xx"] + run["transport_errors"]
    assert run["sent"] == 20 and counted == 20 and run["accepted"] == 20
