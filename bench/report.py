"""Summaries, the JSON document and the Markdown tables.

Systems are grouped by store (SQLite, PostgreSQL, Redis). Each baton row gets its ratio to
the best peer on the same store for every metric (and to that store's floor), and every
row says how many jobs were lost or duplicated: a system that lost any is flagged.
"""

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
from .w5 import STEP_COUNT


@dataclass(frozen=True)
class Metric:
    workload: str
    field: str
    label: str
    higher_is_better: bool
    unit: str  # for formatting: "rate", "ms" or "s"

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
    Metric("w3", "wall_s", "W3 wall s", False, "s"),
    Metric("w4", "wall_s", "W4 wall s", False, "s"),
    Metric("w5", "after_s", "W5 after s", False, "s"),
    Metric("w5", "between_stages_s", "W5 orchestration s", False, "s"),
    Metric("ckpt_serial", "ms_per_step", "ckpt ms/step (serial)", False, "ms"),
    Metric("ckpt_batch", "ms_per_step", "ckpt ms/step (batch)", False, "ms"),
]
TABLES = [METRICS[:6], METRICS[6:]]
STORES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "redis": "Redis"}
DISTS = ["baton", "huey", "celery", "rq", "arq", "dramatiq", "taskiq", "taskiq-redis"]
DISTS += ["procrastinate", "redis", "psycopg", "matplotlib"]


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
        "versions": {d: version(d) for d in DISTS},
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric: median (min-max) over runs; integrity totals over every run."""
    out: dict[str, Any] = {}
    for m in METRICS:
        values = [
            float(r[m.workload][m.field])
            for r in runs
            if isinstance(r.get(m.workload), dict) and r[m.workload].get(m.field) is not None
        ]
        out[m.key] = summary(values)
    integrity = {"lost": 0, "dup": 0, "timeouts": 0, "errors": 0}
    na: dict[str, str] = {}
    for r in runs:
        for workload, res in r.items():
            if not isinstance(res, dict):
                continue
            if "na" in res:
                na[workload] = res["na"]
            if "error" in res:
                integrity["errors"] += 1
            integrity["lost"] += int(res.get("lost", 0) or 0)
            integrity["dup"] += int(res.get("dup", 0) or 0)
            integrity["timeouts"] += int(bool(res.get("timed_out")))
            integrity["errors"] += int(bool(res.get("worker_crashed") or res.get("wrong_results")))
    out["integrity"] = integrity
    out["na"] = na
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


def _ratio(a: dict[str, float], b: dict[str, float], m: Metric) -> str:
    if not a.get("n") or not b.get("n") or not b["median"]:
        return "n/a"
    r = a["median"] / b["median"]
    if a["median"] <= 0 or b["median"] <= 0:
        return f"{r:.2f}\u00d7"
    better = r > 1 if m.higher_is_better else r < 1
    return f"{r:.2f}\u00d7 {'better' if better else 'worse'}"


def best_peer(systems: dict[str, Any], store: str, m: Metric) -> str | None:
    """The peer on `store` with the best median for `m` (None when no peer has one)."""
    scored = [
        (sysdoc["summary"][m.key]["median"], name)
        for name, sysdoc in systems.items()
        if sysdoc["store"] == store
        and sysdoc["role"] == "peer"
        and sysdoc["summary"][m.key].get("n")
    ]
    if not scored:
        return None
    return (max if m.higher_is_better else min)(scored)[1]


def _flag(integ: dict[str, int]) -> str:
    flag = f"{integ['lost']} / {integ['dup']}"
    if integ["lost"]:
        flag = f"**{flag} LOST JOBS** \u26a0"
    elif integ["dup"]:
        flag = f"**{flag}** \u26a0"
    if integ["errors"]:
        flag += f" {integ['errors']} error(s)"
    if integ["timeouts"]:
        flag += f" {integ['timeouts']} timeout(s)"
    return flag


def _system_tables(systems: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for table in TABLES:
        # a workload left out of this run (e.g. ckpt_batch) gets no column
        metrics = [m for m in table if any(d["summary"][m.key].get("n") for d in systems.values())]
        lines += [
            "| store | system | " + " | ".join(m.label for m in metrics) + " | lost / dup |",
            "|---" * (len(metrics) + 3) + "|",
        ]
        for store in STORES:
            for name, sysdoc in systems.items():
                if sysdoc["store"] != store:
                    continue
                s = sysdoc["summary"]
                label = f"**{name}**" if sysdoc["role"] == "baton" else name
                if sysdoc["role"] == "floor":
                    label = f"*{name}*"
                cells = [cell(s[m.key], m.unit) for m in metrics]
                lines.append(
                    f"| {STORES[store]} | {label} | "
                    + " | ".join(cells)
                    + f" | {_flag(s['integrity'])} |"
                )
        lines.append("")
    return lines


def _ratio_table(systems: dict[str, Any]) -> list[str]:
    metrics = [m for m in METRICS if m.workload in ("w1", "w2", "w3", "w4")]
    lines = [
        "| baton on | compared with | " + " | ".join(m.label for m in metrics) + " |",
        "|---" * (len(metrics) + 2) + "|",
    ]
    for name, sysdoc in systems.items():
        if sysdoc["role"] != "baton":
            continue
        store, mine = sysdoc["store"], sysdoc["summary"]
        cells = []
        for m in metrics:
            peer = best_peer(systems, store, m)
            if peer is None:
                cells.append("n/a")
                continue
            ratio = _ratio(mine[m.key], systems[peer]["summary"][m.key], m)
            cells.append(f"{ratio} ({peer})")
        lines.append(f"| {name} | best peer on {STORES[store]} | " + " | ".join(cells) + " |")
        for floor, fdoc in systems.items():
            if fdoc["role"] == "floor" and fdoc["store"] == store:
                cells = [_ratio(mine[m.key], fdoc["summary"][m.key], m) for m in metrics]
                lines.append(f"| {name} | floor {floor} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _w5_lines(doc: dict[str, Any]) -> list[str]:
    before = doc.get("w5_before")
    afters = {
        n: d["summary"]["w5.after_s"]
        for n, d in doc["systems"].items()
        if d["role"] == "baton" and d["summary"]["w5.after_s"].get("n")
    }
    if not before or not afters:
        return []
    lines = [
        "### W5: the seeds' pipeline, before and after",
        "",
        f"Before (sequential, one process): **{cell(before, 's')} s**.",
        "",
        "| baton on | after s | speed-up | orchestration s | orchestration ms per step "
        "| checkpoint ms/step (ckpt serial) |",
        "|---|---|---|---|---|---|",
    ]
    for name, after in afters.items():
        s = doc["systems"][name]["summary"]
        speedup = before["median"] / after["median"] if after["median"] else float("nan")
        orch = s["w5.between_stages_s"]
        per_step = {k: v * 1000.0 / STEP_COUNT if k != "n" else v for k, v in orch.items()}
        lines.append(
            f"| {name} | {cell(after, 's')} | **{speedup:.1f}\u00d7** | {cell(orch, 's')} "
            f"| {cell(per_step, 'ms')} | {cell(s['ckpt_serial.ms_per_step'], 'ms')} |"
        )
    lines += [
        "",
        f"Orchestration: the after's wall time less the sum of its 4 stages' own spans "
        f"(enqueue to first step, and between stages: the parent waking, replaying and "
        f"fanning out the next stage), over its {STEP_COUNT} steps. The clean per-step "
        "checkpoint cost is the ckpt serial column.",
    ]
    return [*lines, ""]


def markdown(doc: dict[str, Any]) -> str:
    systems: dict[str, Any] = doc["systems"]
    c = doc["config"]
    lines = [
        f"## baton against the peers \u2014 {doc['date']}",
        "",
        f"{c['runs']} run(s) each, median (min\u2013max), 2 worker processes. "
        f"W1: {c['w1_jobs']:,} no-op jobs enqueued by one client, then drained. "
        f"W2: {c['w2_jobs']} jobs {c['w2_interval'] * 1000:g} ms apart to idle workers. "
        f"W3: {c['w3_jobs']} jobs of sleep(0.1), {c['w3_inflight']} in flight at most "
        f"(ideal {c['w3_jobs'] * 0.1 / c['w3_inflight']:.2f} s). "
        f"W4: one parent, {c['w4_children']} children, results gathered. "
        "W5: the seeds' pipeline on fake servers (baton only). Checkpoint: "
        f"{c['steps']}-step pipelines vs the same calls inline, one worker process.",
        "",
        *_system_tables(systems),
        "### baton's ratio to the best peer on the same store, and to the floor",
        "",
        *_ratio_table(systems),
        *_w5_lines(doc),
        'Ratios compare medians; "better" means higher for rates and lower for times. '
        "**bold**: baton; *italic*: the floors (minimal hand-written queues). "
        "lost / dup: jobs that never ran / extra runs, summed over every run of every "
        "workload; every job must run exactly once.",
        "",
    ]
    for name, sysdoc in systems.items():
        lines.append(f"- **{name}**: {sysdoc['description']}")
        notes = sysdoc["summary"].get("na", {})
        for workload, reason in notes.items():
            if workload != "w5" and not workload.startswith("ckpt"):
                lines.append(f"  - {workload} n/a: {reason}")
        if sysdoc.get("w1_jobs"):
            lines.append(f"  - W1 with {sysdoc['w1_jobs']:,} jobs")
    m = doc["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v)
    lines += [
        "",
        "Peers that do not checkpoint show n/a for the checkpoint workloads, and W5 is "
        'baton\'s own (its "before" is the sequential original).',
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['platform']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}; {versions}. Load average (1/5/15 min) "
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


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.report RESULTS.json`: re-render its .md and .png from the JSON."""
    import json
    from pathlib import Path

    from .chart import chart

    for name in argv if argv is not None else sys.argv[1:]:
        path = Path(name)
        doc = json.loads(path.read_text())
        path.with_suffix(".md").write_text(markdown(doc))
        chart(doc, path.with_suffix(".png"))
        print(f"re-rendered {path.with_suffix('.md')} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
