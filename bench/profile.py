"""Where does baton's W1 drain spend its time?

    bench/.venv/bin/python -m bench.profile [--jobs 5000] [--processes 2] [--concurrency 10]

Enqueues the W1 jobs (untimed), starts the worker processes, attaches py-spy to each
(`--nonblocking`, every thread, native frames off), and drains. Each worker also counts,
from inside (bench code wrapping baton's SQLite connection thread; nothing in baton/
changes), how many write transactions it committed, how many operations each carried, and
the time spent running operations vs committing. Writes bench/results/<date>-baton-drain-
profile.md (and the raw collapsed stacks under bench/results/tmp/).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import collections
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from .common import wait_until
from .workloads import Run, _enqueue_all

STATS_ENV = "BENCH_BATON_STATS"
RESULTS = Path(__file__).resolve().parent / "results"


# --- inside a worker process ---------------------------------------------------------------


def install_counters(path: str) -> None:
    """Wrap baton's SQLite connection thread to count commits, ops per commit and op kinds."""
    from baton.backends.sqlite import conn as mod

    stats: dict[str, Any] = {
        "batches": 0,
        "write_ops": 0,
        "read_ops": 0,
        "batch_sizes": [],
        "op_s": 0.0,
        "batch_s": 0.0,
        "kinds": collections.Counter(),
        "read_kinds": collections.Counter(),
        "begin_s": 0.0,
        "commit_s": 0.0,
        "savepoint_s": 0.0,
    }
    call, commit = mod._call, mod.Connection._commit

    def timed_call(conn: Any, op: Any) -> Any:
        t = time.perf_counter()
        try:
            return call(conn, op)
        finally:
            stats["op_s"] += time.perf_counter() - t

    def counted_commit(self: Any, conn: Any, writes: list[Any]) -> None:
        stats["batches"] += 1
        stats["write_ops"] += len(writes)
        stats["batch_sizes"].append(len(writes))
        for op, *_ in writes:
            stats["kinds"][_kind(op)] += 1
        t = time.perf_counter()
        try:
            commit(self, conn, writes)
        finally:
            stats["batch_s"] += time.perf_counter() - t

    def counted_submit(self: Any, op: Any, write: bool) -> Any:
        if not write:
            stats["read_ops"] += 1
            stats["read_kinds"][_kind(op)] += 1
        return submit(self, op, write)

    submit = mod.Connection._submit

    class TimedConnection(sqlite3.Connection):
        """Times BEGIN IMMEDIATE (waiting for the write lock) and COMMIT (the fsync)."""

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            key = _STATEMENTS.get(sql)
            if key is None:
                return super().execute(sql, *args)
            t = time.perf_counter()
            try:
                return super().execute(sql, *args)
            finally:
                stats[key] += time.perf_counter() - t

    connect = sqlite3.connect

    def timed_connect(*a: Any, **k: Any) -> sqlite3.Connection:
        k.setdefault("factory", TimedConnection)
        return connect(*a, **k)

    sqlite3.connect = timed_connect  # type: ignore[assignment]
    mod._call = timed_call
    mod.Connection._commit = counted_commit  # type: ignore[method-assign]
    mod.Connection._submit = counted_submit  # type: ignore[method-assign]

    def dump() -> None:
        sizes = stats.pop("batch_sizes")
        stats["batch_size_hist"] = dict(sorted(collections.Counter(sizes).items()))
        with open(path, "w") as fh:
            json.dump(stats, fh)

    atexit.register(dump)


_STATEMENTS = {
    "BEGIN IMMEDIATE": "begin_s",
    "COMMIT": "commit_s",
    "SAVEPOINT op": "savepoint_s",
    "RELEASE op": "savepoint_s",
}


def _kind(op: Any) -> str:
    name = getattr(op, "__qualname__", type(op).__name__)
    return (
        name.replace(".<locals>.op", "")
        .replace(".<locals>.<lambda>", "")
        .replace("SQLiteBackend.", "")
    )


# --- the driver ----------------------------------------------------------------------------


def analyse(raw: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample counts from py-spy's collapsed ('raw') output."""
    threads: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        thread = frames[0]
        frames = frames[1:]
        total += n
        threads[_thread_kind(thread)] += n
        if frames:
            last = _func(frames[-1])
            if "TimedConnection.execute" in last and len(frames) > 1:  # our timer: name the caller
                last = f"{_func(frames[-2])} -> in sqlite3 (C)"
            leaf[last] += n
        for f in {_func(f) for f in frames}:
            incl[f] += n
    return {
        "samples": total,
        "threads": threads.most_common(),
        "self": leaf.most_common(top),
        "inclusive": incl.most_common(top * 2),
    }


def _thread_kind(label: str) -> str:
    if "baton-sqlite" in label:
        return "sqlite connection thread"
    if "asyncio" in label:
        return "asyncio default executor"
    return "main (event loop)" if "MainThread" in label or "process" in label else label


def _func(frame: str) -> str:
    """'settle (baton/x.py:301)' -> 'settle (baton/x.py)': aggregate by function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("--jobs", type=int, default=5000)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    pyspy = Path(sys.executable).with_name("py-spy")
    if not pyspy.exists():
        raise SystemExit("py-spy is not installed in this venv (it is in bench/requirements.lock)")
    tmp = args.out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spec = f"baton-sqlite:concurrency={args.concurrency}"
    with Run(spec) as run:
        asyncio.run(_enqueue_all(run.adapter, "noop", range(args.jobs), 120.0))
        workers = run.workers(args.processes, "burst")
        stats_files = [run.dir / f"stats-{i}.json" for i in range(args.processes)]
        # each worker finds its stats file through its own ready index
        workers.extra_env = {STATS_ENV: str(run.dir / "stats-{index}.json")}
        spies: list[subprocess.Popen[bytes]] = []
        raws = [tmp / f"baton-drain-{i}.txt" for i in range(args.processes)]
        with workers:
            workers.start()
            for proc, raw in zip(workers.procs, raws, strict=True):
                spies.append(
                    subprocess.Popen(
                        [
                            str(pyspy),
                            "record",
                            "--pid",
                            str(proc.pid),
                            "--rate",
                            str(args.rate),
                            "--format",
                            "raw",
                            "--threads",
                            "--nonblocking",
                            "--output",
                            str(raw),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            time.sleep(1.0)  # let py-spy attach before the start signal
            workers.go()
            t0 = time.time()
            wait_until(lambda: run.records.poll() >= args.jobs, 120.0, 0.01)
            wall = run.records.last_end(
                [str(i) for i in range(args.jobs)]
            ) - run.records.first_start([str(i) for i in range(args.jobs)])
            workers.wait_exit(30.0)
            cpu = workers.cpu_since_go()
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.terminate()
                spy.wait()
        _ = t0
        stats = [json.loads(f.read_text()) for f in stats_files if f.exists()]
        profiles = [analyse(raw) for raw in raws if raw.exists()]
        lost, dup = run.records.lost_and_dup([str(i) for i in range(args.jobs)])
        facts = run.adapter.verify(args.jobs)
    md = _report(args, wall, cpu, lost, dup, stats, profiles, facts)
    out = args.out / f"{date.today().isoformat()}-baton-drain-profile.md"
    out.write_text(md)
    print(md)
    print(f"wrote {out} (raw stacks: {', '.join(str(r) for r in raws)})")
    shutil.rmtree(run.dir, ignore_errors=True)
    return 0


def _report(
    args: argparse.Namespace,
    wall: float,
    cpu: float,
    lost: int,
    dup: int,
    stats: list[dict[str, Any]],
    profiles: list[dict[str, Any]],
    facts: dict[str, Any],
) -> str:
    n = args.jobs
    lines = [
        f"# baton SQLite W1 drain profile — {date.today().isoformat()}",
        "",
        f"{n:,} no-op jobs, {args.processes} worker processes, concurrency "
        f"{args.concurrency}, py-spy {args.rate} Hz --nonblocking (slows the drain a little).",
        "",
        f"- drain wall {wall:.2f} s = **{n / wall:,.0f} jobs/s**; worker CPU "
        f"{cpu:.2f} s = **{cpu * 1000 / n:.2f} ms/job** (both cores: "
        f"{cpu / wall / 2:.0%} busy); lost {lost}, dup {dup}",
        f"- store: {json.dumps(facts)}",
        "",
    ]
    if stats:
        batches = sum(s["batches"] for s in stats)
        ops = sum(s["write_ops"] for s in stats)
        reads = sum(s["read_ops"] for s in stats)
        op_s = sum(s["op_s"] for s in stats)
        batch_s = sum(s["batch_s"] for s in stats)
        kinds: collections.Counter[str] = collections.Counter()
        rkinds: collections.Counter[str] = collections.Counter()
        hist: collections.Counter[int] = collections.Counter()
        for s in stats:
            kinds.update(s["kinds"])
            rkinds.update(s["read_kinds"])
            hist.update({int(k): v for k, v in s["batch_size_hist"].items()})
        lines += [
            "## SQLite connection thread (counted inside the workers)",
            "",
            f"- write transactions (each one fsync): **{batches:,}** = "
            f"{batches / n:.2f} per job; write ops {ops:,} = {ops / n:.2f} per job; "
            f"mean ops per commit {ops / max(1, batches):.2f}",
            f"- reads {reads:,} = {reads / n:.2f} per job",
            f"- BEGIN IMMEDIATE (waiting for the write lock, busy handler): "
            f"{sum(s['begin_s'] for s in stats):.2f} s; COMMIT (WAL write + fsync): "
            f"{sum(s['commit_s'] for s in stats):.2f} s = "
            f"{sum(s['commit_s'] for s in stats) * 1000 / max(1, batches):.2f} ms per commit; "
            f"SAVEPOINT/RELEASE {sum(s['savepoint_s'] for s in stats):.2f} s",
            f"- time in write transactions {batch_s:.2f} s, of which running ops (incl. "
            f"reads) {op_s:.2f} s; so ~{max(0.0, batch_s - op_s):.2f} s in BEGIN/"
            f"SAVEPOINT/COMMIT (the fsyncs) = "
            f"{max(0.0, batch_s - op_s) * 1000 / max(1, batches):.2f} ms per commit",
            f"- write ops by kind: {dict(kinds.most_common())}",
            f"- reads by kind: {dict(rkinds.most_common())}",
            f"- ops per commit (size: count): {dict(sorted(hist.items()))}",
            "",
        ]
    for i, prof in enumerate(profiles):
        total = max(1, prof["samples"])
        lines += [
            f"## worker {i}: {prof['samples']:,} CPU samples",
            "",
            "threads: " + ", ".join(f"{t} {c / total:.0%}" for t, c in prof["threads"]),
            "",
            "| self % | function |",
            "|---|---|",
        ]
        lines += [f"| {c / total:.1%} | `{f}` |" for f, c in prof["self"][:20]]
        lines += ["", "| inclusive % | function |", "|---|---|"]
        lines += [f"| {c / total:.1%} | `{f}` |" for f, c in prof["inclusive"][:40]]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
