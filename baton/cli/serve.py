"""`baton serve APP` runs the HTTP API alone; `baton dev APP` runs it with a worker in the
same process (one command for local development)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ..app import App
from ..worker import WorkerConfig
from .loader import load_app
from .output import errors, fail, redact, run
from .worker import AppArgument, parse_queues

log = logging.getLogger("baton.cli")

Host = Annotated[str, typer.Option(envvar="BATON_HOST", help="Interface to listen on.")]
Port = Annotated[int, typer.Option(envvar="BATON_PORT", min=0, max=65535, help="TCP port.")]
Quiet = Annotated[bool, typer.Option("--quiet", help="Log warnings and errors only.")]


def _asgi(target: App, worker: WorkerConfig | None) -> object:
    try:
        from ..http import create_app
    except ImportError as exc:
        fail(str(exc), 2)
    with errors():  # a malformed or duplicate BATON_API_KEYS: one line, exit 2
        return create_app(target, worker=worker)


def _uvicorn(api: object, host: str, port: int, quiet: bool) -> None:
    import uvicorn

    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvicorn.run(
        api,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level="warning" if quiet else "info",
        timeout_graceful_shutdown=5,  # open event streams reconnect with Last-Event-ID
    )


def serve(
    app: AppArgument, host: Host = "127.0.0.1", port: Port = 8000, quiet: Quiet = False
) -> None:
    """Serve APP's HTTP API (enqueue, status, live events, metrics) with uvicorn."""
    with errors():
        target = load_app(app)
        run(target, App.backend)  # a bad URL fails here, in one line, before uvicorn starts
    log.info("baton API on http://%s:%d, backend %s", host, port, redact(target.url))
    _uvicorn(_asgi(target, None), host, port, quiet)


def dev(
    app: AppArgument,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs the worker runs at once.")] = 10,
    queues: Annotated[
        list[str] | None,
        typer.Option("--queues", "-Q", show_default=False, help="Default: every queue of APP."),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Run APP's HTTP API and a worker in one process: the whole system in one command."""
    from ..http.server import dev_queues

    with errors():
        target = load_app(app)
        run(target, App.backend)
    names = parse_queues(queues) if queues else dev_queues(target)
    config = WorkerConfig(queues=names, concurrency=concurrency)
    _uvicorn(_asgi(target, config), host, port, quiet)
