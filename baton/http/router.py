"""`app.router()`: the HTTP API of DESIGN §5 as a FastAPI `APIRouter` to mount anywhere.

Every read and write is scoped to the caller's tenant: another tenant's job is a 404, the
same answer as a job that does not exist, so ids leak nothing.
"""

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic_core import to_json

from ..app import App
from ..backends import backend_kind
from ..backends.callbacks import CALLBACK_PIPELINE
from ..engine.registry import Pipeline, Task
from ..errors import (
    BackendUnavailable,
    IdempotencyKeyReused,
    JobNotFound,
    PayloadError,
    UnknownPipeline,
)
from ..job import Job, brief_error
from ..models import TERMINAL_EVENTS, Status
from ..redact import redact
from ..webhooks import deliveries, describe_delivery
from .auth import AuthDependency, Caller, api_key_auth
from .metrics import render_metrics
from .problems import RETRY_AFTER_UNAVAILABLE, UNAVAILABLE_MESSAGE, BatonRoute, Problem, fail
from .schemas import (
    DeliveryOut,
    Enqueued,
    EnqueueRequest,
    Health,
    JobOut,
    JobPage,
    JobSummary,
    QueueOut,
    StepOut,
)
from .sse import EventHub

log = logging.getLogger("baton.http")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be parsed"},
    401: {"model": Problem, "description": "Missing or wrong API key"},
    404: {"model": Problem, "description": "No such job or pipeline (or another tenant's)"},
    422: {"model": Problem, "description": "Invalid request; `field` names the culprit"},
    503: {"model": Problem, "description": "The store is unreachable; retry after a while"},
}
Runnable = Pipeline[Any, Any] | Task[Any, Any]
# The event stream answers errors in JSON too, not as text/event-stream.
STREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": spec["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for code, spec in ERRORS.items()
}


class EventStream(StreamingResponse):
    """text/event-stream, written as pre-encoded frames (see `sse.EventHub`)."""

    media_type = "text/event-stream"


STREAM_OK: dict[str, Any] = {
    "description": "A stream of Server-Sent Events, ending after the job's terminal event",
    "content": {
        "text/event-stream": {
            "schema": {"type": "string", "description": "id: <n>, event: <type>, data: <JSON>"}
        }
    },
}


@dataclass(frozen=True, slots=True)
class RouterConfig:
    keepalive: float = 15.0  # seconds between SSE keep-alive comments
    poll_interval: float = 0.05  # the event hub's fastest poll of a busy job
    idle_interval: float = 0.5  # ... and its slowest, of a quiet one


class InvalidInput(PayloadError):
    """A 422 that names its field."""

    code = "invalid_request"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def job_id_of(text: str) -> str:
    """Job ids are UUIDs; anything else names no job (404, never a store error)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise JobNotFound(f"no job {text}") from None


@dataclass
class _Api:
    """What every endpoint shares: the app, the event hub, and a few renderers."""

    app: App
    hub: EventHub
    cfg: RouterConfig
    models: dict[str, type[pydantic.BaseModel]] = field(default_factory=dict)
    templates: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, request: Request, name: str, job_id: str) -> str:
        """The path of a job's endpoint. `url_for` walks every route: once per mount."""
        key = (request.scope.get("root_path", ""), name)
        if key not in self.templates:
            path = str(request.url_for(name, job_id="{job_id}").path)
            self.templates[key] = path.replace("%7B", "{").replace("%7D", "}")
        return self.templates[key].replace("{job_id}", job_id)

    def input_model(self, item: Runnable) -> type[pydantic.BaseModel]:
        if item.name not in self.models:
            self.models[item.name] = item.sig.input_model(_title(item.name) + "Input")
        return self.models[item.name]

    def runnable(self, name: str) -> Runnable:
        item = self.app.registry.get(name)
        if item is None or not isinstance(item, Pipeline | Task) or name == CALLBACK_PIPELINE:
            raise UnknownPipeline(f"no pipeline named {name!r}")
        return item

    async def enqueue(
        self, request: Request, item: Runnable, caller: Caller, key: str | None
    ) -> Enqueued:
        """Validates the raw body: the generic route knows the pipeline only by name, so its
        input is checked here against the pipeline's own model (lenient, as FastAPI is:
        "5" makes an int)."""
        try:
            body = EnqueueRequest.model_validate_json(await request.body())
        except pydantic.ValidationError as exc:
            raise _invalid(exc, "") from None
        try:
            values = self.input_model(item).model_validate_json(to_json(body.input))
        except pydantic.ValidationError as exc:
            raise _invalid(exc, "input") from None
        try:
            job = await self.app.enqueue(
                item,
                (),
                {k: getattr(values, k) for k in type(values).model_fields},
                idempotency_key=key,
                tenant=caller.tenant,
                priority=body.priority,
                delay=body.delay,
                expires=body.expires,
                callback_url=None if body.callback_url is None else str(body.callback_url),
                same_request=True,
            )
        except IdempotencyKeyReused:
            raise  # its own code and field
        except PayloadError as exc:
            named = getattr(exc, "field", None)  # e.g. ReservedKey names Idempotency-Key
            where = named or ("callback_url" if "callback_url" in str(exc) else "input")
            raise InvalidInput(str(exc), where) from None
        return Enqueued(
            id=job.id,
            status=job.status,
            created=job.created,
            status_url=self.url(request, "get_job", job.id),
            events_url=self.url(request, "job_events", job.id),
        )

    async def job_out(self, request: Request, job: Job, caller: Caller) -> JobOut:
        sent = await deliveries(self.app, job.id, caller.scope)
        summary = JobSummary.of(job, self.url(request, "get_job", job.id))
        return JobOut(
            **summary.model_dump(),
            result=job.result,
            error=brief_error(job.error),
            run_at=job.run_at,
            idempotency_key=job.idempotency_key,
            parent_id=job.parent_id,
            callback_url=job.callback_url,
            steps=[StepOut.of(s) for s in job.steps],
            deliveries=[DeliveryOut(**describe_delivery(d)) for d in sent],
            events_url=self.url(request, "job_events", job.id),
        )

    async def stream(self, job_id: str, cursor: int) -> AsyncIterator[bytes]:
        """Events after `cursor` until the job's latest ending (a retried job goes on).

        The 200 is already sent when the store fails mid-stream, so the failure ends the
        stream with an `error` event (a problem body, never the driver's text) instead of a
        broken chunked response; the client reconnects with `Last-Event-ID` later."""
        try:
            async for chunk in self._frames(job_id, cursor):
                yield chunk
        except BackendUnavailable:
            log.warning("event stream of job %s ended: the store is unavailable", job_id)
            yield _error_frame("backend_unavailable", "the job store is unavailable; retry later")
        except Exception:
            log.exception("event stream of job %s failed", job_id)
            yield _error_frame("internal_error", "the event stream failed; retry later")

    async def _frames(self, job_id: str, cursor: int) -> AsyncIterator[bytes]:
        async with self.hub.subscribe(job_id, cursor) as sub:
            yield b": baton events\nretry: 2000\n\n"
            if await self._over(job_id, cursor):
                return  # resumed after the end: nothing more will come
            while True:
                batch = await sub.next(self.cfg.keepalive)
                if batch is None:
                    if await self._over(job_id, sub.cursor):
                        return
                    yield b": keep-alive\n\n"
                    continue
                yield b"".join(frame.data for frame in batch)
                if sub.dropped:
                    return  # too far behind: the client reconnects with Last-Event-ID
                if batch[-1].type in TERMINAL_EVENTS:
                    rec = await (await self.app.backend()).get_job(job_id)
                    if rec is None or rec.status.terminal:
                        return

    async def _over(self, job_id: str, cursor: int) -> bool:
        """The job has ended and the client has seen everything up to its end."""
        backend = await self.app.backend()
        rec = await backend.get_job(job_id)
        return rec is None or (rec.status.terminal and not await backend.events(job_id, cursor, 1))


def _error_frame(code: str, message: str) -> bytes:
    data = to_json({"type": "error", "code": code, "message": message}).decode()
    return f"event: error\ndata: {data}\n\n".encode()


def build_router(
    app: App,
    *,
    auth: AuthDependency | None = None,
    prefix: str = "",
    config: RouterConfig | None = None,
) -> APIRouter:
    """The API for `app`. `auth` is any dependency returning a `Caller` (default: API keys
    from BATON_API_KEYS). Mount it with `fastapi_app.include_router(router)`.

    Pipelines registered before this call also get their own `POST /jobs/<name>` whose
    body schema is their parameters (typed OpenAPI); `POST /jobs/{pipeline}` serves all.
    """
    cfg = config or RouterConfig()
    api = _Api(app, EventHub(app, cfg.poll_interval, cfg.idle_interval), cfg)
    caller_dep = Annotated[Caller, Depends(auth or api_key_auth())]
    router = APIRouter(prefix=prefix, route_class=BatonRoute, tags=["baton"], responses=ERRORS)
    router.state = {"hub": api.hub}  # type: ignore[attr-defined]  # for tests and `baton serve`
    for item in app.registry.pipelines():
        if item.name != CALLBACK_PIPELINE and "/" not in item.name:
            _typed_enqueue(router, api, item, caller_dep)
    _enqueue_routes(router, api, caller_dep)
    _job_routes(router, api, caller_dep)
    _ops_routes(router, api, caller_dep)
    return router


IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Same key (per tenant), same job: a retried request enqueues once.",
    ),
]


def _typed_enqueue(router: APIRouter, api: _Api, item: Runnable, caller_dep: Any) -> None:
    title = _title(item.name)
    body_model = pydantic.create_model(
        f"{title}Request",
        __base__=EnqueueRequest,
        input=(api.input_model(item), ...),
    )

    async def enqueue_typed(
        request: Request,
        body: body_model,
        caller: caller_dep,
        idempotency_key: IdemKey = None,
    ) -> Enqueued:
        return await api.enqueue(request, item, caller, idempotency_key)

    router.add_api_route(
        f"/jobs/{item.name}",
        enqueue_typed,
        methods=["POST"],
        status_code=202,
        response_model=Enqueued,
        name=f"enqueue_{item.name}",
        summary=f"Enqueue {item.name}",
        description=(item.fn.__doc__ or f"Enqueue a run of {item.name}.").strip(),
    )


def _enqueue_routes(router: APIRouter, api: _Api, caller_dep: Any) -> None:
    @router.post("/jobs/{pipeline}", status_code=202, response_model=Enqueued, name="enqueue")
    async def enqueue_any(
        request: Request,
        body: EnqueueRequest,
        caller: caller_dep,
        pipeline: Annotated[str, Path(max_length=200)],
        idempotency_key: IdemKey = None,
    ) -> Enqueued:
        """Enqueue a run of `pipeline`; answers at once with where to watch it."""
        return await api.enqueue(request, api.runnable(pipeline), caller, idempotency_key)


def _job_routes(router: APIRouter, api: _Api, caller_dep: Any) -> None:
    app = api.app

    @router.get("/jobs/{job_id}", response_model=JobOut, name="get_job")
    async def get_job(request: Request, job_id: str, caller: caller_dep) -> JobOut:
        """Status, current step, progress, attempts, last error, step timings and result."""
        job = await app.get_job(job_id_of(job_id), tenant=caller.scope)
        return await api.job_out(request, job, caller)

    async def watched(job_id: str, caller: caller_dep) -> str:
        """Checked before the stream starts, so a wrong id is a 404, not an empty stream."""
        return (await app.get_job(job_id_of(job_id), tenant=caller.scope)).id

    @router.get(
        "/jobs/{job_id}/events",
        response_class=EventStream,
        name="job_events",
        responses={200: STREAM_OK, **STREAM_ERRORS},
    )
    async def job_events(
        job_id: Annotated[str, Depends(watched)],
        last_event_id: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="Resume after this event."),
        ] = None,
        after: Annotated[int | None, Query(description="Like Last-Event-ID.")] = None,
    ) -> EventStream:
        """Server-Sent Events: every event after `Last-Event-ID`, live, until the job ends.

        Each message has `id` (the event number, for `Last-Event-ID`), `event` (its type)
        and `data` (the event as JSON: `type`, `job_id`, `at` and its own fields)."""
        cursor = max(_cursor_of(None if after is None else str(after)), _cursor_of(last_event_id))
        return EventStream(
            api.stream(job_id, cursor),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post("/jobs/{job_id}/cancel", response_model=JobOut, name="cancel_job")
    async def cancel_job(request: Request, job_id: str, caller: caller_dep) -> JobOut:
        """Cancel a job: a running step is stopped, no later step starts."""
        job = await app.cancel(job_id_of(job_id), tenant=caller.scope)
        return await api.job_out(request, await app.get_job(job.id, tenant=caller.scope), caller)

    @router.post("/jobs/{job_id}/retry", response_model=JobOut, name="retry_job")
    async def retry_job(request: Request, job_id: str, caller: caller_dep) -> JobOut:
        """Run a failed, cancelled or expired job again from its last saved step."""
        job = await app.get_job(job_id_of(job_id), tenant=caller.scope)
        if not job.status.terminal or job.status == Status.SUCCEEDED:
            raise fail(
                409,
                "not_retryable",
                f"job {job.id} is {job.status.value}: only a failed, cancelled or expired "
                "job can be retried",
            )
        await app.retry(job.id, tenant=caller.scope)
        return await api.job_out(request, await app.get_job(job.id, tenant=caller.scope), caller)

    @router.get("/jobs", response_model=JobPage, name="list_jobs")
    async def list_jobs(
        request: Request,
        caller: caller_dep,
        status: Status | None = None,
        pipeline: Annotated[str | None, Query(max_length=200)] = None,
        queue: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[uuid.UUID | None, Query(description="A `next` cursor.")] = None,
    ) -> JobPage:
        """Jobs newest first, filtered, a page at a time."""
        jobs = await app.list_jobs(
            status=status,
            pipeline=pipeline,
            queue=queue,
            tenant=caller.scope,
            limit=limit + 1,
            before=None if before is None else str(before),
        )
        page = jobs[:limit]
        return JobPage(
            jobs=[JobSummary.of(j, api.url(request, "get_job", j.id)) for j in page],
            next=page[-1].id if len(jobs) > limit else None,
        )


def _ops_routes(router: APIRouter, api: _Api, caller_dep: Any) -> None:
    app = api.app

    @router.get("/queues", response_model=list[QueueOut], name="queues")
    async def queues(caller: caller_dep) -> list[QueueOut]:
        """Per queue: depth, running, waiting, oldest waiting age and counts by end state."""
        backend = await app.backend()
        return [QueueOut.of(s) for s in await backend.queue_stats(caller.scope)]

    @router.get(
        "/metrics",
        response_class=Response,
        name="metrics",
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text"}},
    )
    async def metrics(caller: caller_dep) -> Response:
        """Prometheus text format: queue gauges, end-state counts, step durations."""
        body, content_type = await render_metrics(app, caller.scope, api.hub)
        return Response(body, media_type=content_type)

    @router.get(
        "/healthz",
        response_model=Health,
        name="healthz",
        responses={503: {"model": Health, "description": "The job store does not answer"}},
    )
    async def healthz() -> Response:
        """Liveness, and whether the backend answers (503 when it does not). Public, so it
        names the backend's kind only: no path, host, pool or driver text (logged instead)."""
        kind = backend_kind(app.url)
        try:
            backend = await app.backend()
            await backend.pending(["baton.healthz"])
        except Exception as exc:
            log.warning("healthz: job store unavailable: %s", redact(f"{app.url}: {exc}"))
            body = Health(
                status="unavailable",
                backend=kind,
                code=BackendUnavailable.code,
                message=UNAVAILABLE_MESSAGE,
            )
            headers = {"Retry-After": RETRY_AFTER_UNAVAILABLE}
            return JSONResponse(body.model_dump(), status_code=503, headers=headers)
        return JSONResponse(Health(status="ok", backend=kind).model_dump(exclude_none=True))


MAX_CURSOR = 2**63 - 1  # event numbers are signed 64-bit in every store


def _cursor_of(text: str | None) -> int:
    """A `Last-Event-ID` as a cursor: a 400 before the stream starts, not a broken stream,
    when it is not a number in 0..2^63-1 (SQLite and Redis cannot compare past that)."""
    if text is None:
        return 0
    text = text.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_CURSOR:
        raise fail(
            400, "bad_request", f"an event cursor (after, Last-Event-ID) is in 0..{MAX_CURSOR}"
        )
    return int(text)


def _invalid(exc: pydantic.ValidationError, prefix: str) -> InvalidInput:
    err = exc.errors()[0]
    where = ".".join([p for p in (prefix, *(str(p) for p in err["loc"])) if p]) or "body"
    return InvalidInput(f"{where}: {err['msg']}", where)


def _title(name: str) -> str:
    return "".join(p.capitalize() for p in name.replace(".", "_").replace("-", "_").split("_"))
