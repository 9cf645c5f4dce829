"""`make bench-http` (second half): a flood of enqueues against one `baton serve`, on SQLite
and on PostgreSQL, to show that a busy store slows enqueue but never turns it into a 5xx.

    .venv/bin/python -m bench.http_flood [--clients 8] [--rate 500] [--seconds 60]
                                         [--backends sqlite,postgres]

Open loop: `clients` processes share `rate` requests a second on a fixed schedule, each
request sent at its slot whether or not the previous ones answered, and its latency counted
from that slot (so a server that falls behind is not flattered by coordinated omission). A
`baton worker` drains the `default` queue meanwhile, as in production. Every loop is
bounded: `rate * seconds` requests in all, and a hard stop `seconds + 60` s after the start.
PostgreSQL is the server on 127.0.0.1:5432 ($BATON_BENCH_POSTGRES), in a database of its own
created and dropped here. Writes bench/results/<date>-http-flood.json and a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.http_api import RESULTS, ROOT, free_port, pct, spawn, wait_up

PG_ADMIN = os.environ.get("BATON_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _client(
    base: str, index: int, clients: int, rate: float, seconds: float, start: float
) -> tuple[Counter[str], list[float]]:
    """One client: its share of the slots (every `clients`-th), each sent on time."""
    total = int(rate * seconds)
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    hard_stop = start + seconds + 60

    async def one(client: httpx.AsyncClient, n: int, slot: float) -> None:
        try:
            r = await client.post("/jobs/noop", json={"input": {"n": n}})
            statuses[str(r.status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
        latencies.append((time.time() - slot) * 1000)

    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        tasks = []
        for n in range(index, total, clients):
            slot = start + n / rate
            delay = slot - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.time() > hard_stop:
                break
            tasks.append(asyncio.create_task(one(client, n, slot)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(1.0, hard_stop - time.time()))
    return statuses, latencies


def _client_process(
    args: tuple[str, int, int, float, float, float],
) -> tuple[dict[str, int], list[float]]:
    statuses, latencies = asyncio.run(_client(*args))
    return dict(statuses), latencies


def flood(base: str, clients: int, rate: float, seconds: float) -> dict[str, Any]:
    """`clients` processes (so the load generator is not one Python thread's CPU)."""
    start = time.time() + 1.0  # wall clock: shared by the client processes
    jobs = [(base, i, clients, rate, seconds, start) for i in range(clients)]
    t0 = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        parts = pool.map(_client_process, jobs)
    wall = time.monotonic() - t0
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    for st, lat in parts:
        statuses.update(st)
        latencies.extend(lat)
    total = int(rate * seconds)
    accepted = statuses.get("202", 0)
    c4 = sum(v for k, v in statuses.items() if k.startswith("4"))
    c5 = sum(v for k, v in statuses.items() if k.startswith("5"))
    return {
        "sent": total,
        "accepted": accepted,
        "4xx": c4,
        "5xx": c5,
        "transport_errors": sum(v for k, v in statuses.items() if not k[0].isdigit()),
        "statuses": dict(statuses),
        "p50_ms": round(pct(latencies, 0.50), 1),
        "p99_ms": round(pct(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1),
        "wall_s": round(wall, 1),
    }


def pg_database() -> tuple[str, str]:
    name = f"baton_flood_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name, PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def run_one(url: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env |= {"BATON_URL": url, "PYTHONPATH": str(ROOT)}
    migrate = spawn("migrate", "--app", "bench.http_app:app", env=env)
    migrate.wait(timeout=60)
    server = spawn("serve", "bench.http_app:app", "--port", str(port), "--quiet", env=env)
    procs = [server]
    if args.worker:
        procs.append(spawn("worker", "bench.http_app:app", "-Q", "default", "--quiet", env=env))
    try:
        await wait_up(base)
        load_before = os.getloadavg()[0]
        result = await asyncio.to_thread(flood, base, args.clients, args.rate, args.seconds)
        result["load_avg_1m_before"] = round(load_before, 2)
        result["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
        return result
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


async def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.http_flood")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    p.add_argument("--no-worker", dest="worker", action="store_false", help="no worker drains")
    args = p.parse_args(argv)
    rows: dict[str, Any] = {}
    for kind in args.backends.split(","):
        if kind == "sqlite":
            with tempfile.TemporaryDirectory(prefix="baton-flood-") as tmp:
                rows[kind] = await run_one(f"sqlite:///{tmp}/baton.db", args)
        elif kind == "postgres":
            name, url = pg_database()
            try:
                rows[kind] = await run_one(url, args)
            finally:
                drop_pg(name)
        else:
            raise SystemExit(f"unknown backend {kind!r}: sqlite or postgres")
        print(f"{kind}: {rows[kind]}", flush=True)
    out = {"date": date.today().isoformat(), "cpus": os.cpu_count(), "runs": rows}
    out |= {k: v for k, v in vars(args).items() if k != "results"}
    args.results.mkdir(exist_ok=True)
    path = args.results / f"{date.today().isoformat()}-http-flood.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\n{args.clients} clients, {args.rate:g} req/s, {args.seconds:g} s:\n")
    print("| store | sent | accepted | 4xx | 5xx | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        print(
            f"| {kind} | {r['sent']:,} | {r['accepted']:,} | {r['4xx']} | {r['5xx']} | "
            f"{r['p50_ms']} | {r['p99_ms']} |"
        )
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    asyncio.run(main())
