"""`make bench-http`: the HTTP API's enqueue latency and how many live SSE watchers one
`baton serve` process holds, on SQLite.

    .venv/bin/python -m bench.http_api [--enqueues 2000] [--watchers 250,500,1000,2000,4000]

Starts `baton serve bench.http_app:app` and a `baton worker` as real processes on
loopback. Enqueue latency: sequential `POST /jobs/noop` on one keep-alive connection,
client-side wall time per request. Watchers: N raw SSE connections on one ticker job
(20 progress events, 4 a second); a level passes when every watcher got every event and
the terminal one; reports the p99 lag from an event's `at` to its arrival and the server's
RSS. Writes bench/results/<date>-http.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "baton", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def wait_up(base: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < end:
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("baton serve did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def enqueue_latency(base: str, count: int) -> dict[str, Any]:
    times: list[float] = []
    async with httpx.AsyncClient(base_url=base) as client:
        for n in range(50):  # warm the connection and the type adapters
            await client.post("/jobs/noop", json={"input": {"n": n}})
        for n in range(count):
            t0 = time.perf_counter()
            r = await client.post("/jobs/noop", json={"input": {"n": n}})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 202, r.text
    return {
        "count": count,
        "p50_ms": round(pct(times, 0.50), 2),
        "p95_ms": round(pct(times, 0.95), 2),
        "p99_ms": round(pct(times, 0.99), 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


async def watch(host: str, port: int, path: str, lags: list[float]) -> tuple[int, bool]:
    """One raw SSE client: (events received, saw the terminal event)."""
    reader, writer = await asyncio.open_connection(host, port)
    connected = time.time()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    events, ended, buffer = 0, False, b""
    try:
        while not ended:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\n\n")
            now = time.time()
            for message in messages:
                for line in message.split(b"\n"):
                    if line.startswith(b"data: {"):
                        data = json.loads(line[6:])
                        events += 1
                        at = datetime.fromisoformat(data["at"]).timestamp()
                        if at > connected:  # live events only: history is not lag
                            lags.append(now - at)
                        if data["type"] in ("job.succeeded", "job.failed"):
                            ended = True
    finally:
        writer.close()
    return events, ended


async def watchers_level(base: str, port: int, n: int, ticks: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/jobs/ticker", json={"input": {"ticks": ticks, "every": 0.25}})
        job = r.json()
    lags: list[float] = []
    t0 = time.monotonic()
    results = await asyncio.gather(
        *(watch("127.0.0.1", port, job["events_url"], lags) for _ in range(n)),
        return_exceptions=True,
    )
    wall = time.monotonic() - t0
    ok = [r for r in results if isinstance(r, tuple) and r[1]]
    counts = {r[0] for r in ok}
    return {
        "watchers": n,
        "completed": len(ok),
        "errors": sum(1 for r in results if isinstance(r, BaseException)),
        "events_each": sorted(counts),
        "lag_p50_ms": round(pct(lags, 0.5) * 1000, 1) if lags else None,
        "lag_p99_ms": round(pct(lags, 0.99) * 1000, 1) if lags else None,
        "wall_s": round(wall, 2),
    }


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.http_api")
    p.add_argument("--enqueues", type=int, default=2000)
    p.add_argument("--watchers", default="250,500,1000,2000,4000")
    p.add_argument("--ticks", type=int, default=20)
    args = p.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    with tempfile.TemporaryDirectory(prefix="baton-bench-http-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
        env |= {"BATON_URL": f"sqlite:///{tmp}/baton.db", "PYTHONPATH": str(ROOT)}
        server = spawn("serve", "bench.http_app:app", "--port", str(port), "--quiet", env=env)
        worker = spawn("worker", "bench.http_app:app", "-Q", "ticks", "--quiet", env=env)
        try:
            await wait_up(base)
            enqueue = await enqueue_latency(base, args.enqueues)
            print(f"enqueue over HTTP: {enqueue}", flush=True)
            levels = []
            for n in (int(x) for x in args.watchers.split(",")):
                level = await watchers_level(base, port, n, args.ticks)
                level["server_rss_mb"] = round(rss_mb(server.pid), 1)
                print(f"watchers: {level}", flush=True)
                levels.append(level)
                if level["completed"] < n:
                    break
        finally:
            for proc in (server, worker):
                proc.terminate()
                proc.wait(timeout=30)
    out = {
        "date": date.today().isoformat(),
        "backend": "sqlite",
        "enqueue": enqueue,
        "watchers": levels,
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{date.today().isoformat()}-http.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(
        f"\n| enqueue p50 ms | p95 | p99 |\n|---|---|---|\n| {enqueue['p50_ms']} | "
        f"{enqueue['p95_ms']} | {enqueue['p99_ms']} |\n"
    )
    print("| watchers | completed | events each | lag p50 ms | lag p99 ms | server RSS MB |")
    print("|---|---|---|---|---|---|")
    for lv in levels:
        print(
            f"| {lv['watchers']} | {lv['completed']} | {lv['events_each']} | "
            f"{lv['lag_p50_ms']} | {lv['lag_p99_ms']} | {lv['server_rss_mb']} |"
        )
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    asyncio.run(main())
