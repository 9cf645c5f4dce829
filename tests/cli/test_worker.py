"""`baton worker` as a real subprocess: burst, several processes, SIGTERM with grace."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

import baton
from baton.cli.worker import child_args, parse_queues
from tests.cli.conftest import ROOT, SAMPLE, baton_process, finish
from tests.cli.sample_app import Report
from tests.helpers import until

SUCCEEDED = baton.Status.SUCCEEDED


def runs_of(path: Path) -> Counter[int]:
    """How many times `record` ran for each n (one line per run, outside baton's database)."""
    return Counter(int(line.split()[0]) for line in path.read_text().splitlines())


async def statuses(app: baton.App, jobs: list[baton.Job]) -> list[baton.Status]:
    return [(await app.get_job(j.id)).status for j in jobs]


async def test_burst_runs_every_job_then_exits(
    sample: baton.App, db_url: str, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    jobs = [await sample.enqueue("record", (str(runs), n)) for n in range(3)]
    jobs.append(await sample.enqueue("record", (str(runs), 3), queue="later"))
    report = await sample.enqueue("report", (21,))
    async with baton_process("worker", SAMPLE, "--burst", "-Q", "default,later", url=db_url) as p:
        code, _, err = await finish(p)
    assert code == 0, err
    assert await statuses(sample, [*jobs, report]) == [SUCCEEDED] * 5
    assert runs_of(runs) == Counter({0: 1, 1: 1, 2: 1, 3: 1})
    assert (await sample.get_job(report.id)).result == Report(n=21, doubled=42)
    started = re.search(
        r"worker (\S+) started: queues=default,later concurrency=10 "
        r"backend=(\S+) \(burst\)",
        err,
    )
    assert started is not None, err
    assert started.group(2) == db_url


async def test_processes_run_each_job_exactly_once(
    sample: baton.App, db_url: str, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.txt"
    jobs = [await sample.enqueue("record", (str(runs), n)) for n in range(20)]
    async with baton_process(
        "worker", SAMPLE, "--processes", "2", "--concurrency", "3", "--burst", url=db_url
    ) as proc:
        code, _, err = await finish(proc, 60)
    assert code == 0, err
    assert await statuses(sample, jobs) == [SUCCEEDED] * 20
    assert runs_of(runs) == Counter(range(20))  # every n once: no job lost, none run twice
    workers = set(re.findall(r"worker (\S+) started: queues=default concurrency=3", err))
    assert len(workers) == 2, err  # two children, each with its own identity (and pid)
    assert len({w.split(":")[1] for w in workers}) == 2


async def test_processes_forward_sigterm_to_children(sample: baton.App, db_url: str) -> None:
    jobs = [await sample.enqueue("nap", (1.0,)) for _ in range(2)]
    async with baton_process(
        "worker", SAMPLE, "--processes", "2", "--concurrency", "1", "--grace", "10", url=db_url
    ) as proc:
        # one slot per child: both jobs running means both children are up and working
        await until(lambda: _all_running(sample, jobs), what="both jobs running")
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc)
    assert code == 0, err
    assert await statuses(sample, jobs) == [SUCCEEDED] * 2


async def test_sigterm_lets_the_running_job_finish_within_grace(
    sample: baton.App, db_url: str
) -> None:
    job = await sample.enqueue("nap", (1.0,))
    async with baton_process("worker", SAMPLE, "--grace", "5", url=db_url) as proc:
        await until(lambda: _all_running(sample, [job]), what="job running")
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc)
    assert code == 0, err
    done = await sample.get_job(job.id)
    assert done.status is SUCCEEDED
    assert done.result == "rested"


async def test_sigterm_past_grace_releases_the_job(sample: baton.App, db_url: str) -> None:
    job = await sample.enqueue("nap", (30.0,))
    async with baton_process("worker", SAMPLE, "--grace", "0.2", url=db_url) as proc:
        await until(lambda: _all_running(sample, [job]), what="job running")
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        code, _, err = await finish(proc, timeout=10)
    assert code == 0, err
    assert time.monotonic() - began < 5, "the worker did not stop promptly after its grace"
    assert (await sample.get_job(job.id)).status is baton.Status.QUEUED
    events = await (await sample.backend()).events(job.id)
    assert (events[-1].type, events[-1].data.get("reason")) == ("job.released", "shutdown")


async def test_worker_bad_app_is_one_line(db_url: str) -> None:
    async with baton_process("worker", "tests.cli.no_such_module:app", url=db_url) as proc:
        code, out, err = await finish(proc)
    assert code == 2
    assert err.splitlines() == [
        f"error: no module named 'tests.cli.no_such_module' (looked in {ROOT} and sys.path)"
    ]
    assert out == ""


async def test_worker_bad_url_is_one_line_without_the_password(db_url: str) -> None:
    async with baton_process(
        "worker", "tests.cli.sample_app:bad_url_app", "--burst", url=db_url
    ) as proc:
        code, _, err = await finish(proc)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: unknown database URL"), err
    assert "tiger" not in err and "scott:***@" in err


def test_parse_queues() -> None:
    assert parse_queues([]) == ("default",)
    assert parse_queues(["a,b", " c ", "a", ","]) == ("a", "b", "c")


def test_child_args_repeat_every_flag_but_processes() -> None:
    config = baton.WorkerConfig(queues=("a", "b"), concurrency=3, lease=5, grace=0.5, burst=True)
    assert child_args("m:app", config, quiet=True) == [
        "m:app", "--concurrency", "3", "--queues", "a,b", "--lease", "5", "--grace", "0.5",
        "--burst", "--quiet",
    ]  # fmt: skip
    pooled = baton.WorkerConfig(process_pool_size=2)
    assert child_args("m:app", pooled, quiet=False)[-2:] == ["--process-pool", "2"]


async def _all_running(app: baton.App, jobs: list[baton.Job]) -> bool:
    return all(s is baton.Status.RUNNING for s in await statuses(app, jobs))
