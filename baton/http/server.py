"""A FastAPI app around the router: what `baton serve` and `baton dev` run.

`create_app(app, worker=WorkerConfig(...))` also runs a worker in the same process and
event loop (`baton dev`): one command for local development and small deployments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .. import __version__
from ..app import App
from ..worker import Worker, WorkerConfig
from .auth import AuthDependency
from .problems import from_http, from_validation
from .router import RouterConfig, build_router

log = logging.getLogger("baton.http")


def create_app(
    app: App,
    *,
    auth: AuthDependency | None = None,
    worker: WorkerConfig | None = None,
    config: RouterConfig | None = None,
    title: str | None = None,
) -> FastAPI:
    router = build_router(app, auth=auth, config=config)
    hub = router.state["hub"]  # type: ignore[attr-defined]
    state: dict[str, Any] = {"hub": hub}  # api.state.baton: the hub, and the dev worker

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            w = Worker(app, worker)
            state["worker"] = w
            task = asyncio.get_running_loop().create_task(w.run(), name="baton-dev-worker")
            log.info("baton dev: worker %s on queues %s", w.id, ",".join(worker.queues))
        try:
            yield
        finally:
            if worker is not None:
                state["worker"].stop()
                await task
            await hub.aclose()
            await app.aclose()

    api = FastAPI(
        title=title or f"{app.name} jobs",
        version=__version__,
        description="Enqueue pipelines, watch them live, get called back. Served by baton.",
        lifespan=lifespan,
    )
    api.state.baton = state

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 405:  # Allow: every method any route serves at this path
            exc.headers = {"Allow": ", ".join(_allowed(api, request.url.path))}
        return from_http(exc)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return from_validation(exc)

    api.include_router(router)
    return api


def _allowed(api: FastAPI, path: str) -> list[str]:
    """`/jobs/x` is both `POST /jobs/{pipeline}` and `GET /jobs/{job_id}`: Starlette names
    only the first route's methods in a 405, so gather them from every matching route."""
    methods: set[str] = set()
    for route in api.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def dev_queues(app: App) -> tuple[str, ...]:
    """Every queue the app's pipelines and tasks use: what a `baton dev` worker serves."""
    from ..engine.registry import enqueue_options_of

    names = {enqueue_options_of(p).queue for p in app.registry.pipelines()}
    return tuple(sorted(names | {"default"}))
