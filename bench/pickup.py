"""Where does idle pickup latency (W2) go? A breakdown, not a benchmark.

    .venv/bin/python -m bench.pickup postgresql://postgres@127.0.0.1:5432/bench_pickup
    .venv/bin/python -m bench.pickup redis://127.0.0.1:6379/0?prefix=bench_pickup:

One idle worker process; the producer enqueues 200 jobs one at a time, 20 ms apart (as
W2 does). The worker wraps its backend's `wait_for_work` and `claim` to note when it was
woken and when its claim came back, and each job notes when it started. Per job:

    enqueue   the producer's `enqueue` call (until the commit is acknowledged)
    wake      acknowledged commit -> the worker's wait returns (NOTIFY / pub-sub / datagram)
    claim     the claim round trip (SKIP LOCKED / Lua / UPDATE ... RETURNING)
    start     claim returned -> the job's code runs (engine and event-loop scheduling)
"""

# A measuring harness, not library code: blocking file and process calls are fine here.
# ruff: noqa: ASYNC110, ASYNC220, ASYNC230, ASYNC240

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import baton

ROOT = Path(__file__).resolve().parent.parent
LOG = os.environ.get("PICKUP_LOG", "")

app = baton.App(os.environ.get("BATON_URL", "sqlite:///pickup.db"))


def note(*fields: Any) -> None:
    with open(LOG, "a") as f:
        f.write(json.dumps(fields) + "\n")


@app.task(queue="pickup")
async def probe(n: int) -> int:
    note("start", n, time.time())
    return n


async def worker_main() -> None:
    backend = await app.backend()
    wait, claim = backend.wait_for_work, backend.claim

    async def timed_wait(queues: Any, timeout: float) -> None:
        await wait(queues, timeout)
        note("woken", time.time())

    async def timed_claim(*args: Any) -> Any:
        t0 = time.time()
        got = await claim(*args)
        if got:
            note("claimed", t0, time.time(), [c.job.id for c in got])
        return got

    backend.wait_for_work = timed_wait  # type: ignore[method-assign]
    backend.claim = timed_claim  # type: ignore[method-assign]
    worker = baton.Worker(app, baton.WorkerConfig(queues=("pickup",)))
    loop = asyncio.get_running_loop()
    import signal

    loop.add_signal_handler(signal.SIGTERM, worker.stop)
    note("ready", time.time())
    await worker.run()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(url: str, count: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "pickup.log")
        env = {**os.environ, "BATON_URL": url, "PICKUP_LOG": log, "PYTHONPATH": str(ROOT)}
        app.url = url  # this process's app: the same store as the worker's
        await app.backend()  # migrate before the worker starts
        worker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import asyncio, bench.pickup as p; asyncio.run(p.worker_main())",
            ],
            env=env,
        )
        global LOG
        LOG = log
        while not os.path.exists(log):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        sent: dict[int, tuple[str, float, float]] = {}
        for n in range(count):
            t0 = time.time()
            job = await probe.enqueue(n)
            sent[n] = (job.id, t0, time.time())
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        worker.terminate()
        worker.wait(timeout=30)
        with open(log) as f:
            rows = [json.loads(line) for line in f]
    await app.aclose()
    starts = {r[1]: r[2] for r in rows if r[0] == "start"}
    woken = sorted(r[1] for r in rows if r[0] == "woken")
    claims = {jid: (r[1], r[2]) for r in rows if r[0] == "claimed" for jid in r[3]}
    parts: dict[str, list[float]] = {k: [] for k in ("enqueue", "wake", "claim", "start", "total")}
    for n, (jid, t0, t1) in sent.items():
        if n not in starts or jid not in claims:
            continue
        c0, c1 = claims[jid]
        w = max((t for t in woken if t <= c0), default=c0)
        parts["enqueue"].append(t1 - t0)
        parts["wake"].append(max(0.0, w - t1))
        parts["claim"].append(c1 - c0)
        parts["start"].append(starts[n] - c1)
        parts["total"].append(starts[n] - t0)
    print(f"{url.split('://')[0]}: {len(parts['total'])} jobs")
    print("| part | p50 ms | p95 ms | mean ms |\n|---|---|---|---|")
    for name, values in parts.items():
        ms = [v * 1000 for v in values]
        print(f"| {name} | {pct(ms, 0.5):.2f} | {pct(ms, 0.95):.2f} | {statistics.fmean(ms):.2f} |")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
