"""`baton worker APP`: run workers until stopped (SIGTERM/SIGINT) or, with --burst, until idle."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Annotated

import typer

from ..app import App
from ..errors import BackendUnavailable
from ..worker import Worker, WorkerConfig
from .fleet import run_fleet
from .loader import load_app
from .output import errors, fail, redact, run

log = logging.getLogger("baton.cli")

AppArgument = Annotated[
    str,
    typer.Argument(
        metavar="APP",
        envvar="BATON_APP",
        help="Your baton.App as module:attribute, e.g. myproject.jobs:app.",
    ),
]


def worker(
    app: AppArgument,
    concurrency: Annotated[
        int,
        typer.Option(min=1, envvar="BATON_CONCURRENCY", help="Jobs run at once by each process."),
    ] = 10,
    processes: Annotated[
        int,
        typer.Option(min=1, help="Worker processes to start, each with its own worker identity."),
    ] = 1,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            "-Q",
            envvar="BATON_QUEUES",
            show_default=False,
            help="Queues to work on: repeat the option or "
            "separate names with commas. Default: default.",
        ),
    ] = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit once these queues have nothing left to do.")
    ] = False,
    lease: Annotated[
        float,
        typer.Option(
            min=0.1, metavar="SECONDS", help="How long a claim lasts without a heartbeat."
        ),
    ] = 30.0,
    grace: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="On SIGTERM, how long running jobs may take to finish before they are "
            "handed back to other workers.",
        ),
    ] = 30.0,
    process_pool: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Child processes for executor='process' steps, per worker process "
            "(default: one per CPU).",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            envvar="BATON_METRICS_PORT",
            help="Expose this process's step timings for Prometheus on this port "
            "(with --processes N, child i uses port + i).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Log warnings and errors only.")] = False,
) -> None:
    """Run workers for APP: claim jobs, run them, save each step's result."""
    names = parse_queues(queues or [])
    with errors():
        target = load_app(app)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = WorkerConfig(
        queues=names,
        concurrency=concurrency,
        lease=lease,
        grace=grace,
        burst=burst,
        process_pool_size=process_pool,
    )
    if processes > 1:
        with errors():
            run(target, App.backend)  # check the database (and migrate it) once, up front
        args = child_args(app, config, quiet)
        if metrics_port is not None:
            args += ["--metrics-port", str(metrics_port)]
        raise typer.Exit(run_fleet(args, processes))
    if metrics_port is not None:
        serve_metrics(metrics_port + int(os.environ.get("BATON_WORKER_INDEX", "0")))
    with errors():
        asyncio.run(serve(target, config))


def child_args(app: str, config: WorkerConfig, quiet: bool) -> list[str]:
    """The `baton worker` arguments of one child process: the same flags, one process."""
    args = [app, "--concurrency", str(config.concurrency), "--queues", ",".join(config.queues)]
    args += ["--lease", str(config.lease), "--grace", str(config.grace)]
    if config.process_pool_size is not None:
        args += ["--process-pool", str(config.process_pool_size)]
    return args + ["--burst"] * config.burst + ["--quiet"] * quiet


def serve_metrics(port: int) -> None:
    """Prometheus' own little HTTP server on a thread, for this process's step timings."""
    from .. import metrics

    if metrics.REGISTRY is None:
        fail("--metrics-port needs prometheus-client: pip install 'baton[http]'", 2)
    import prometheus_client

    try:
        prometheus_client.start_http_server(port, addr="0.0.0.0", registry=metrics.REGISTRY)
    except OSError as exc:
        fail(f"cannot serve metrics on port {port}: {exc}", 2)
    log.info("metrics on http://0.0.0.0:%d/metrics", port)


def parse_queues(values: list[str]) -> tuple[str, ...]:
    """`-Q a,b -Q c` -> ("a", "b", "c"); duplicates and blanks dropped; "default" if none."""
    names = [name.strip() for value in values for name in value.split(",")]
    return tuple(dict.fromkeys(n for n in names if n)) or ("default",)


async def serve(app: App, config: WorkerConfig) -> Worker:
    """What `baton.run_worker(app, config, install_signals=True)` does, plus a start line
    that names the worker (run_worker creates it out of sight) and closing the app."""
    worker = Worker(app, config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # from now on a signal stops, never kills
        loop.add_signal_handler(sig, worker.stop)
    try:
        try:
            await app.backend()  # a bad URL fails here, before the worker says it started
        except BackendUnavailable as exc:  # a store that is down is waited for, not fatal
            log.warning("store unavailable at start (%s): waiting for it", exc)
        log.info(
            "worker %s started: queues=%s concurrency=%d backend=%s%s",
            worker.id,
            ",".join(config.queues),
            config.concurrency,
            redact(app.url),
            " (burst)" if config.burst else "",
        )
        await worker.run()
    finally:
        await app.aclose()
    log.info("worker %s stopped: %d job(s) done", worker.id, worker.processed)
    return worker
