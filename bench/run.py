"""`make bench`: baton on each backend against the peers and the floors, same machine, same run.

    bench/.venv/bin/python -m bench.run [--runs 3] [--adapters a,b,c] [--workloads w1,w2,...]
                                        [--quick] [--out bench/results] [--budget 1080]

`make bench BENCH_ARGS='--adapters baton-sqlite,huey-sqlite --workloads w1,w3'` selects.
Writes bench/results/<date>.json, .md and .png, and prints the Markdown tables.
Runs are interleaved (run 1 of every adapter, then run 2, ...) so slow drift of the
machine spreads over all systems instead of landing on one. W5's "before" (sequential,
no queue, the same on every backend) is measured once per invocation (`--w5-before-runs`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import traceback
from datetime import date
from pathlib import Path
from typing import Any

from .adapters import ADAPTERS, load, parse
from .chart import chart
from .common import STEPS, summary
from .report import jsonable, machine, markdown, summarize
from .workloads import WORKLOADS, Config

DEFAULT_ADAPTERS = [
    *(a for a in ("baton-sqlite", "baton-postgres", "baton-redis") if a in ADAPTERS),
    "huey-sqlite",
    "huey-postgres",
    "procrastinate",
    "celery",
    "rq",
    "rq:kind=simple",
    "arq",
    "dramatiq",
    "huey-redis",
    "taskiq",
    "raw-sqlite",
    "raw-pg",
    "raw-redis",
]
RESULTS = Path(__file__).resolve().parent / "results"


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--adapters",
        default=",".join(DEFAULT_ADAPTERS),
        help=f"comma-separated; known: {', '.join(ADAPTERS)} (name:key=value,...)",
    )
    p.add_argument(
        "--workloads",
        default=",".join(w for w in WORKLOADS if w != "ckpt_batch"),
        help=f"comma-separated; known: {', '.join(WORKLOADS)} (ckpt_batch is not in the default)",
    )
    p.add_argument("--quick", action="store_true", help="small counts, one run: a dry run")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="", help="results file suffix (<date>-<tag>.json)")
    p.add_argument(
        "--budget",
        type=float,
        default=1080.0,
        help="seconds; workloads not started by then are skipped",
    )
    p.add_argument("--w5-before-runs", type=int, default=1, help="runs of W5's sequential original")
    return p.parse_args(argv)


def _brief(res: dict[str, Any]) -> str:
    keys = (
        "enqueue_jobs_s",
        "drain_jobs_s",
        "drain_cpu_ms_per_job",
        "p50_ms",
        "p99_ms",
        "ms_per_step",
        "wall_s",
        "after_s",
        "max_in_flight",
        "na",
        "lost",
        "dup",
        "error",
    )
    parts = []
    for k in keys:
        if k in res:
            v = res[k]
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    specs = _split_specs(args.adapters)
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            raise SystemExit(f"unknown workload {w!r}; known: {', '.join(WORKLOADS)}")
    cfg, runs = Config(), args.runs
    if args.quick:
        cfg = Config(
            w1_jobs=500, w2_jobs=50, ckpt_serial=20, ckpt_batch=40, w3_jobs=200, w4_children=50
        )
        runs = 1
    started = time.monotonic()
    load_before = os.getloadavg()
    if load_before[0] > 0.7:
        print(
            f"bench: warning: the machine is busy (load {load_before[0]:.2f}); "
            "numbers will be noisy",
            flush=True,
        )
    print(f"bench: {', '.join(specs)}; workloads {', '.join(workloads)}; {runs} run(s)", flush=True)
    _warm_up(specs, cfg)
    before = _w5_before(args.w5_before_runs) if "w5" in workloads else []
    results = _measure(specs, workloads, cfg, runs, started + args.budget)
    doc: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": machine() | {"load_before": load_before, "load_after": os.getloadavg()},
        "config": dataclasses.asdict(cfg) | {"runs": runs, "steps": STEPS, "workloads": workloads},
        "elapsed_s": time.monotonic() - started,
        "w5_before": summary(before) if before else None,
        "w5_before_runs": before,
        "systems": {},
    }
    for spec in specs:
        adapter = load(spec, Path("."))
        doc["systems"][spec] = {
            "description": adapter.description,
            "store": adapter.store,
            "role": adapter.role,
            "w1_jobs": adapter.w1_jobs if (adapter.w1_jobs or cfg.w1_jobs) < cfg.w1_jobs else None,
            "options": parse(spec)[1],
            "summary": summarize(results[spec]),
            "runs": results[spec],
        }
    md = markdown(doc)
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "-".join(t for t in (args.tag, "quick" if args.quick else "") if t)
    stem = args.out / (f"{doc['date']}-{tag}" if tag else doc["date"])
    stem.with_suffix(".json").write_text(json.dumps(jsonable(doc), indent=1) + "\n")
    stem.with_suffix(".md").write_text(md)
    drew = chart(doc, stem.with_suffix(".png"))
    print()
    print(md)
    wrote = f"{stem}.json, {stem}.md" + (
        f" and {stem}.png" if drew else " (no matplotlib: no chart)"
    )
    print(f"bench: wrote {wrote} in {doc['elapsed_s']:.0f}s")
    bad = sum(
        d["summary"]["integrity"]["lost"] + d["summary"]["integrity"]["dup"]
        for d in doc["systems"].values()
    )
    return 1 if bad else 0


def _warm_up(specs: list[str], cfg: Config) -> None:
    """A small untimed W1 per adapter: a fresh machine's first fsyncs and imports are slow."""
    for spec in specs:
        try:
            WORKLOADS["w1"](spec, dataclasses.replace(cfg, w1_jobs=100))
        except Exception as exc:
            print(f"  warm-up {spec}: {exc!r}", flush=True)
        except SystemExit as exc:  # a server the adapter needs is not there
            print(f"  warm-up {spec}: {exc}", flush=True)


def _w5_before(runs: int) -> list[float]:
    """W5's sequential original: the same calls one after another, no queue at all."""
    from .w5 import run_before

    out = []
    for i in range(runs):
        out.append(run_before())
        print(f"  W5 before (sequential) {i + 1}/{runs}: {out[-1]:.1f}s", flush=True)
    return out


def _measure(
    specs: list[str], workloads: list[str], cfg: Config, runs: int, deadline: float
) -> dict[str, list[dict[str, Any]]]:
    """Every workload on every adapter, `runs` times; run i starts with a rotated order."""
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in specs}
    skipped = 0
    for i in range(runs):
        order = specs[i % len(specs) :] + specs[: i % len(specs)]
        per_run: dict[str, dict[str, Any]] = {s: {} for s in specs}
        for w in workloads:
            for spec in order:
                if time.monotonic() > deadline:
                    skipped += 1
                    continue
                t0 = time.monotonic()
                try:
                    res = WORKLOADS[w](spec, cfg)
                except Exception as exc:
                    res = {"error": repr(exc), "traceback": traceback.format_exc()[-2000:]}
                per_run[spec][w] = res
                print(
                    f"  run {i + 1}/{runs} {w:<12} {spec:<14} {time.monotonic() - t0:5.1f}s  "
                    f"{_brief(res)}",
                    flush=True,
                )
        for spec in specs:
            results[spec].append(per_run[spec])
    if skipped:
        print(f"bench: time budget reached; {skipped} measurement(s) skipped", flush=True)
    return results


def _split_specs(text: str) -> list[str]:
    if ";" in text:
        return [s.strip() for s in text.split(";") if s.strip()]
    specs: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part.split(":", 1)[0] in ADAPTERS or not specs:
            specs.append(part)
        else:  # an option of the previous spec: baton-sqlite:a=1,b=2
            specs[-1] += "," + part
    for s in specs:
        parse(s)
    return specs


if __name__ == "__main__":
    sys.exit(main())
