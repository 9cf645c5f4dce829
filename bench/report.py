"""Summaries, the JSON document and the Markdown table."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .common import summary


@dataclass(frozen=True)
class Metric:
    workload: str
    field: str
    label: str
    higher_is_better: bool
    unit: str  # for formatting: "rate" or "ms"

    @property
    def key(self) -> str:
        return f"{self.workload}.{self.field}"


METRICS = [
    Metric("w1", "enqueue_jobs_s", "W1 enqueue jobs/s", True, "rate"),
    Metric("w1", "drain_jobs_s", "W1 drain jobs/s", True, "rate"),
    Metric("w1", "drain_cpu_ms_per_job", "W1 drain CPU ms/job", False, "ms"),
    Metric("w2", "p50_ms", "W2 p50 ms", False, "ms"),
    Metric("w2", "p95_ms", "W2 p95 ms", False, "ms"),
    Metric("w2", "p99_ms", "W2 p99 ms", False, "ms"),
    Metric("ckpt_serial", "ms_per_step", "ckpt ms/step (serial)", False, "ms"),
    Metric("ckpt_batch", "ms_per_step", "ckpt ms/step (batch)", False, "ms"),
]

REFERENCE = "huey-sqlite"
FLOOR = "raw-sqlite"
SUBJECT = "baton-sqlite"


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), ""
            )
    except OSError:
        pass

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "baton": version("baton"),
        "huey": version("huey"),
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric: median (min-max) over runs; integrity totals over every run."""
    out: dict[str, Any] = {}
    for m in METRICS:
        values = [
            float(r[m.workload][m.field])
            for r in runs
            if isinstance(r.get(m.workload), dict) and m.field in r[m.workload]
        ]
        out[m.key] = summary(values)
    integrity = {"lost": 0, "dup": 0, "timeouts": 0, "errors": 0}
    for r in runs:
        for res in r.values():
            if not isinstance(res, dict):
                continue
            if "error" in res:
                integrity["errors"] += 1
            integrity["lost"] += int(res.get("lost", 0) or 0)
            integrity["dup"] += int(res.get("dup", 0) or 0)
            integrity["timeouts"] += int(bool(res.get("timed_out")))
            integrity["errors"] += int(bool(res.get("worker_crashed")))
    out["integrity"] = integrity
    return out


def _fmt(value: float, unit: str) -> str:
    if value != value or math.isinf(value):
        return "n/a"
    if unit == "rate":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(s: dict[str, float], unit: str) -> str:
    if not s.get("n"):
        return "n/a"
    if s["n"] == 1:
        return _fmt(s["median"], unit)
    return f"{_fmt(s['median'], unit)} ({_fmt(s['min'], unit)}\u2013{_fmt(s['max'], unit)})"


def ratio_cell(a: dict[str, float], b: dict[str, float], m: Metric) -> str:
    if not a.get("n") or not b.get("n") or not b["median"]:
        return "n/a"
    r = a["median"] / b["median"]
    if m.unit == "ms" and (a["median"] <= 0 or b["median"] <= 0):
        return f"{r:.2f}\u00d7"
    better = r > 1 if m.higher_is_better else r < 1
    return f"{r:.2f}\u00d7 ({'better' if better else 'worse'})"


def markdown(doc: dict[str, Any]) -> str:
    systems: dict[str, Any] = doc["systems"]
    head = "| system | " + " | ".join(m.label for m in METRICS) + " | lost / dup |"
    rule = "|---" * (len(METRICS) + 2) + "|"
    lines = [
        f"## baton SQLite core vs Huey SQLite — {doc['date']}",
        "",
        f"{doc['config']['runs']} runs each, median (min\u2013max). "
        f"W1: {doc['config']['w1_jobs']:,} no-op jobs, {doc['config']['w1_processes']} worker "
        f"processes. W2: {doc['config']['w2_jobs']} jobs "
        f"{doc['config']['w2_interval'] * 1000:g} ms "
        f"apart, {doc['config']['w2_processes']} idle worker processes. Checkpoint: "
        f"{doc['config']['steps']}-step pipelines vs the same calls inline, one worker "
        "process "
        f"({doc['config']['ckpt_serial']} serial, {doc['config']['ckpt_batch']} batched).",
        "",
        head,
        rule,
    ]
    for name, sysdoc in systems.items():
        s = sysdoc["summary"]
        integ = s["integrity"]
        flag = f"{integ['lost']} / {integ['dup']}"
        if integ["lost"] or integ["dup"] or integ["errors"] or integ["timeouts"]:
            flag = (
                f"**{flag}** ⚠"
                + (f" {integ['errors']} error(s)" if integ["errors"] else "")
                + (f" {integ['timeouts']} timeout(s)" if integ["timeouts"] else "")
            )
        lines.append(
            f"| {name} | " + " | ".join(cell(s[m.key], m.unit) for m in METRICS) + f" | {flag} |"
        )
    for ref in (REFERENCE, FLOOR):
        if SUBJECT in systems and ref in systems:
            a, b = systems[SUBJECT]["summary"], systems[ref]["summary"]
            lines.append(
                f"| *{SUBJECT} ÷ {ref}* | "
                + " | ".join(ratio_cell(a[m.key], b[m.key], m) for m in METRICS)
                + " | |"
            )
    lines += [
        "",
        'Ratios compare medians; "better" means higher for rates and lower for times.',
        "lost/dup: jobs (or pipeline steps) that never ran / extra runs, summed over every "
        "run of every workload; each job must run exactly once.",
        "",
    ]
    for name, sysdoc in systems.items():
        lines.append(f"- **{name}**: {sysdoc['description']}")
    m = doc["machine"]
    lines += [
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['platform']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, baton {m['baton']}, huey {m['huey']}. Load average (1/5/15 min) "
        f"before {_load(m.get('load_before'))}, after {_load(m.get('load_after'))}"
        " (anything well above 0 means other work shared the 2 cores).",
        "",
    ]
    return "\n".join(lines)


def _load(values: Any) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "n/a"


def jsonable(value: Any) -> Any:
    """NaN/inf become null so the file is strict JSON."""
    if isinstance(value, float) and (value != value or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
