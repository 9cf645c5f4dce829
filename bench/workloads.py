"""The workloads, identical for every adapter. Each takes a fresh store in its own folder.

- W1: one client enqueues N no-op jobs one by one (timed), then W1_PROCESSES worker
  processes drain them; drain = last job end - first job start, both recorded by the jobs.
  Every job must run exactly once: lost and duplicated runs are counted.
- W2: workers idle; M jobs enqueued one at a time, INTERVAL apart; latency = the job's own
  start stamp - the client's stamp taken just before the enqueue call.
- Checkpoint overhead, one worker process:
  serial: a pipeline of STEPS no-op steps, then a baseline job making the same STEPS no-op
  calls inline, alternately, one job in the system at a time. Each span runs from the
  first call's start to the last call's end (stamped inside the calls), so pickup latency
  is not part of it; the STEPS-1 gaps between calls are where each step's result is made
  durable and the next step begins. ms/step = (median pipeline span - median baseline
  span) / (STEPS - 1).
  batch: P pipelines enqueued at once and drained, vs P baseline jobs; ms/step =
  (drain wall of pipelines - drain wall of baselines) / (P * STEPS): the throughput cost.
- W3: W3_JOBS jobs of sleep(0.1) enqueued, then W1_PROCESSES workers with W3_INFLIGHT
  slots in all drain them; wall = last end - first start (ideal jobs * 0.1 / in flight);
  the highest number of jobs seen running at once is reported too.
- W4: one parent spawns W4_CHILDREN children and gathers their results, on 2 idle worker
  processes; wall = the gatherer's end - the parent's start.
A workload the adapter lists in `unsupported` returns {"na": reason}.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .adapters import Adapter, load
from .common import SLEEP_S, STEPS, Records, percentile, wait_until
from .procs import Workers


@dataclass
class Config:
    w1_jobs: int = 5000
    w1_processes: int = 2
    w2_jobs: int = 200
    w2_interval: float = 0.020
    w2_idle: float = 0.5  # workers sit idle this long before the first W2 job
    w2_processes: int = 2
    ckpt_serial: int = 100  # pipelines (and as many baselines) run one at a time
    ckpt_batch: int = 200  # pipelines (and as many baselines) drained in one go
    drain_timeout: float = 120.0  # bound on any one drain
    enqueue_timeout: float = 120.0  # bound on any one enqueue loop
    job_timeout: float = 10.0  # bound on one serial job
    w3_jobs: int = 500
    w3_inflight: int = 100  # over all worker processes
    w4_children: int = 200
    w5_scale: float = 1.0  # multiplies the fake servers' latencies (1.0: realistic)


class Run:
    """A fresh folder (store, records, worker logs) for one workload on one adapter."""

    def __init__(self, spec: str, tmp_root: Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-", dir=tmp_root))
        self.records_dir = self.dir / "records"
        self.records_dir.mkdir()
        self.adapter: Adapter = load(spec, self.dir)
        self.adapter.setup()
        self.records = Records(self.records_dir)

    def workers(self, processes: int, mode: str, concurrency: int | None = None) -> Workers:
        return Workers(self.adapter, self.records_dir, processes, mode, concurrency=concurrency)

    def close(self) -> None:
        self.adapter.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _enqueue_all(
    adapter: Adapter, kind: str, keys: range, timeout: float, interval: float | None = None
) -> tuple[float, dict[int, float], int]:
    """Enqueue `keys` one by one; returns (seconds, stamp before each enqueue, count done)."""
    client = adapter.client()
    await client.start()
    stamps: dict[int, float] = {}
    try:
        t0 = time.perf_counter()
        deadline = t0 + timeout
        for i, n in enumerate(keys):
            if interval is not None:
                pause = t0 + i * interval - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
            if time.perf_counter() > deadline:
                break
            stamps[n] = time.time()
            await client.enqueue(kind, n)
        elapsed = time.perf_counter() - t0
    finally:
        await client.aclose()
    return elapsed, stamps, len(stamps)


def _finish(workers: Workers, adapter: Adapter, burst: bool) -> None:
    if burst and adapter.has_burst:
        if workers.wait_exit(30.0):
            return
    else:
        time.sleep(0.2)  # let a duplicate run, if any, show itself
    workers.stop()


def _na(spec: str, workload: str) -> dict[str, Any] | None:
    adapter = load(spec, Path("."))
    reason = adapter.unsupported.get(workload)
    if workload == "w5" and adapter.role != "baton":
        reason = "W5 compares baton's pipeline with the sequential original"
    return {"na": reason} if reason else None


def w1(spec: str, cfg: Config) -> dict[str, Any]:
    n = min(load(spec, Path(".")).w1_jobs or cfg.w1_jobs, cfg.w1_jobs)  # slow peers: fewer
    keys = [str(i) for i in range(n)]
    with Run(spec) as run:
        enq_s, _, done = asyncio.run(
            _enqueue_all(run.adapter, "noop", range(n), cfg.enqueue_timeout)
        )
        if done < n:
            raise RuntimeError(f"enqueue of {n} jobs did not finish in {cfg.enqueue_timeout}s")
        with run.workers(cfg.w1_processes, "burst") as workers:
            workers.start()
            workers.go()
            # stop waiting early if every worker has exited (burst mode done, or crashed)
            wait_until(
                lambda: run.records.poll() >= n or not workers.alive(), cfg.drain_timeout, 0.01
            )
            finished = run.records.poll() >= n
            _finish(workers, run.adapter, burst=True)
            cpu = workers.cpu_since_go() if not workers.alive() else float("nan")
            log = workers.log_tail()
            crashed = workers.crashed()
        run.records.poll()
        lost, dup = run.records.lost_and_dup(keys)
        ran = [k for k in keys if k in run.records.runs]
        drain_s = run.records.last_end(ran) - run.records.first_start(ran) if ran else float("nan")
        out = {
            "enqueue_s": enq_s,
            "enqueue_jobs_s": n / enq_s,
            "drain_s": drain_s,
            "drain_jobs_s": (n - lost) / drain_s if drain_s > 0 else float("nan"),
            "drain_cpu_ms_per_job": cpu * 1000.0 / max(1, n - lost),
            "jobs": n,
            "lost": lost,
            "dup": dup,
            "timed_out": not finished,
            "worker_crashed": crashed,
        } | run.adapter.verify(n)
        if lost or dup or not finished or crashed:
            out["worker_log"] = log[-1500:]
        return out


def w2(spec: str, cfg: Config) -> dict[str, Any]:
    m = cfg.w2_jobs
    keys = [str(i) for i in range(m)]
    with Run(spec) as run, run.workers(cfg.w2_processes, "serve") as workers:
        workers.start()
        workers.go()
        time.sleep(cfg.w2_idle)
        _, stamps, _ = asyncio.run(
            _enqueue_all(run.adapter, "noop", range(m), cfg.enqueue_timeout, cfg.w2_interval)
        )
        finished = wait_until(lambda: run.records.poll() >= m or not workers.alive(), 30.0, 0.01)
        finished = finished and run.records.poll() >= m
        _finish(workers, run.adapter, burst=False)
        run.records.poll()
        lat = [
            (run.records.runs[str(i)][0][0] - t) * 1000.0
            for i, t in stamps.items()
            if str(i) in run.records.runs
        ]
        lost, dup = run.records.lost_and_dup(keys)
        return {
            "p50_ms": percentile(lat, 50),
            "p95_ms": percentile(lat, 95),
            "p99_ms": percentile(lat, 99),
            "max_ms": max(lat, default=float("nan")),
            "lost": lost,
            "dup": dup,
            "timed_out": not finished,
        }


def _span(records: Records, prefix: str, n: int) -> float | None:
    keys = [f"{prefix}{n}.{k}" for k in range(STEPS)]
    if not records.has_all(keys):
        return None
    return records.last_end(keys) - records.first_start(keys)


def ckpt_serial(spec: str, cfg: Config) -> dict[str, Any]:
    if na := _na(spec, "ckpt_serial"):
        return na
    pipe: list[float] = []
    base: list[float] = []
    with Run(spec) as run, run.workers(1, "serve") as workers:
        workers.start()
        workers.go()
        deadline = time.monotonic() + cfg.drain_timeout

        async def drive() -> None:
            client = run.adapter.client()
            await client.start()
            try:
                for n in range(cfg.ckpt_serial):
                    for kind, prefix, spans in (("pipeline", "p", pipe), ("baseline", "b", base)):
                        if time.monotonic() > deadline:
                            return
                        await client.enqueue(kind, n)
                        last = f"{prefix}{n}.{STEPS - 1}"
                        limit = time.monotonic() + cfg.job_timeout
                        while (
                            last not in run.records.runs
                            and time.monotonic() < limit
                            and workers.alive()
                        ):
                            await asyncio.sleep(0.001)
                            run.records.poll()
                        span = _span(run.records, prefix, n)
                        if span is not None:
                            spans.append(span)
            finally:
                await client.aclose()

        asyncio.run(drive())
        workers.stop()
    mp, mb = percentile(pipe, 50), percentile(base, 50)
    return {
        "ms_per_step": (mp - mb) * 1000.0 / (STEPS - 1),
        "pipeline_span_ms": mp * 1000.0,
        "baseline_span_ms": mb * 1000.0,
        "pipelines": len(pipe),
        "baselines": len(base),
    }


def _batch_wall(spec: str, cfg: Config, kind: str, prefix: str) -> float:
    p = cfg.ckpt_batch
    keys = [f"{prefix}{n}.{k}" for n in range(p) for k in range(STEPS)]
    with Run(spec) as run:
        asyncio.run(_enqueue_all(run.adapter, kind, range(p), cfg.enqueue_timeout))
        with run.workers(1, "burst") as workers:
            workers.start()
            workers.go()
            wait_until(
                lambda: run.records.poll() >= len(keys) or not workers.alive(),
                cfg.drain_timeout,
                0.01,
            )
            _finish(workers, run.adapter, burst=True)
        run.records.poll()
        lost, dup = run.records.lost_and_dup(keys)
        if lost or dup:
            raise RuntimeError(f"{kind} batch: {lost} step runs lost, {dup} duplicated")
        return run.records.last_end(keys) - run.records.first_start(keys)


def ckpt_batch(spec: str, cfg: Config) -> dict[str, Any]:
    if na := _na(spec, "ckpt_batch"):
        return na
    wall_p = _batch_wall(spec, cfg, "pipeline", "p")
    wall_b = _batch_wall(spec, cfg, "baseline", "b")
    steps = cfg.ckpt_batch * STEPS
    return {
        "ms_per_step": (wall_p - wall_b) * 1000.0 / steps,
        "pipeline_wall_s": wall_p,
        "baseline_wall_s": wall_b,
        "steps_per_s": steps / wall_p,
    }


def max_in_flight(spans: list[tuple[float, float]]) -> int:
    """The most spans open at one instant (a sweep over starts and ends)."""
    edges = sorted([(t0, 1) for t0, _ in spans] + [(t1, -1) for _, t1 in spans])
    best = now = 0
    for _, delta in edges:
        now += delta
        best = max(best, now)
    return best


def w3(spec: str, cfg: Config) -> dict[str, Any]:
    if na := _na(spec, "w3"):
        return na
    n = cfg.w3_jobs
    keys = [f"s{i}" for i in range(n)]
    per_process = max(1, cfg.w3_inflight // cfg.w1_processes)
    with Run(spec) as run:
        asyncio.run(_enqueue_all(run.adapter, "sleep", range(n), cfg.enqueue_timeout))
        with run.workers(cfg.w1_processes, "serve", per_process) as workers:
            workers.start()
            workers.go()
            finished = wait_until(
                lambda: run.records.poll() >= n or not workers.alive(), cfg.drain_timeout, 0.01
            )
            finished = finished and run.records.poll() >= n
            _finish(workers, run.adapter, burst=False)
            log = workers.log_tail()
        run.records.poll()
        lost, dup = run.records.lost_and_dup(keys)
        ran = [k for k in keys if k in run.records.runs]
        wall = run.records.last_end(ran) - run.records.first_start(ran) if ran else float("nan")
        out = {
            "wall_s": wall,
            "ideal_s": n * SLEEP_S / cfg.w3_inflight,
            "max_in_flight": max_in_flight([run.records.runs[k][0] for k in ran]),
            "lost": lost,
            "dup": dup,
            "timed_out": not finished,
        }
        if lost or dup or not finished:
            out["worker_log"] = log[-1500:]
        return out


def w4(spec: str, cfg: Config) -> dict[str, Any]:
    if na := _na(spec, "w4"):
        return na
    n = cfg.w4_children
    keys = [f"c{i}" for i in range(n)]
    with Run(spec) as run, run.workers(cfg.w1_processes, "serve") as workers:
        workers.start()
        workers.go()
        time.sleep(cfg.w2_idle)
        asyncio.run(_enqueue_all(run.adapter, "fanout", range(n, n + 1), cfg.enqueue_timeout))
        done = ("gather", "gather-wrong")
        finished = wait_until(
            lambda: (
                (run.records.poll() and any(k in run.records.runs for k in done))
                or not workers.alive()
            ),
            cfg.drain_timeout,
            0.005,
        )
        finished = finished and any(k in run.records.runs for k in done)
        _finish(workers, run.adapter, burst=False)
        log = workers.log_tail()
        run.records.poll()
        lost, dup = run.records.lost_and_dup(keys)
        wrong = "gather-wrong" in run.records.runs
        ok = "gather" in run.records.runs and "parent" in run.records.runs
        wall = (
            run.records.last_end(["gather"]) - run.records.first_start(["parent"])
            if ok
            else float("nan")
        )
        out = {
            "wall_s": wall,
            "lost": lost,
            "dup": dup + max(0, len(run.records.runs.get("parent", [])) - 1),
            "wrong_results": wrong,
            "timed_out": not finished,
        }
        if lost or dup or not finished or wrong:
            out["worker_log"] = log[-1500:]
        return out


def w5(spec: str, cfg: Config) -> dict[str, Any]:
    """The seeds' pipeline on 2 worker processes; "before" is measured once, in bench.run."""
    if na := _na(spec, "w5"):
        return na
    from . import w5 as seeds
    from .fakeserver import FakeServers

    keys = seeds.step_keys()
    with (
        FakeServers(cfg.w5_scale) as srv,
        Run(spec) as run,
        run.workers(cfg.w1_processes, "serve") as workers,
    ):
        workers.start()
        workers.go()
        time.sleep(cfg.w2_idle)
        _, stamps, _ = asyncio.run(
            _enqueue_all(run.adapter, "w5", range(srv.port, srv.port + 1), cfg.enqueue_timeout)
        )
        finished = wait_until(
            lambda: (run.records.poll() and "w5.end" in run.records.runs) or not workers.alive(),
            cfg.drain_timeout,
            0.01,
        )
        finished = finished and "w5.end" in run.records.runs
        _finish(workers, run.adapter, burst=False)
        log = workers.log_tail()
        run.records.poll()
        lost, dup = run.records.lost_and_dup(keys)
        wall = run.records.last_end(["w5.end"]) - stamps[srv.port] if finished else float("nan")
        between = wall - seeds.stage_spans(run.records.runs)
        out = {
            "after_s": wall,
            "between_stages_s": between,
            "ms_per_step": between * 1000.0 / seeds.STEP_COUNT,
            "lost": lost,
            "dup": dup,
            "timed_out": not finished,
        }
        if lost or dup or not finished:
            out["worker_log"] = log[-1500:]
        return out


WORKLOADS = {
    "w1": w1,
    "w2": w2,
    "w3": w3,
    "w4": w4,
    "w5": w5,
    "ckpt_serial": ckpt_serial,
    "ckpt_batch": ckpt_batch,
}
