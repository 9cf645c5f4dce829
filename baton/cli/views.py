"""How jobs look to people (Rich) and to scripts (plain dicts, printed as JSON)."""

from __future__ import annotations

from typing import Any

import pydantic_core
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..job import Job, StepInfo
from ..models import Event, Status, ts
from .output import seconds, since, status_text, when

_JSON_TYPES = (dict, list, str, int, float, bool)
RESULT_PREVIEW = 2000  # characters of a result shown in `jobs show`; --json shows it all


# --- scripts ---------------------------------------------------------------------------


def job_data(job: Job, events: list[Event] | None = None) -> dict[str, Any]:
    """A job as JSON-ready data; steps carry their duration, and events when given."""
    data = job.as_dict()
    for step, row in zip(job.steps, data["steps"], strict=True):
        row["duration"] = step.duration
    if events is not None:
        data["events"] = [e.as_dict() for e in events]
    return data


# --- people ----------------------------------------------------------------------------


def jobs_table(jobs: list[Job]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("pipeline", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("progress", justify="right")
    table.add_column("step", overflow="fold")
    table.add_column("created", no_wrap=True)
    table.add_column("age/duration", no_wrap=True)
    for job in jobs:
        table.add_row(
            Text(job.id),
            Text(job.pipeline),
            status_text(job.status.value),
            str(job.attempts),
            f"{job.progress * 100:.0f}%",
            Text(job.current_step or "-"),
            when(job.created_at, short=True),
            timing(job),
        )
    return table


def timing(job: Job) -> str:
    """How long it took (ended), has been running, or has been waiting to run."""
    if job.finished_at is not None:
        return "took " + seconds(since(job.started_at or job.created_at, job.finished_at))
    if job.status is Status.RUNNING and job.started_at is not None:
        return "running " + seconds(since(job.started_at))
    return "age " + seconds(since(job.created_at))


def job_detail(job: Job, events: list[Event]) -> Group:
    parts: list[RenderableType] = [
        Text.assemble(("job ", "bold"), (job.id, "bold"), "  ", status_text(job.status.value)),
        _fields(job),
    ]
    if job.steps:
        parts += [Text("\nsteps", style="bold"), _steps(job.steps)]
    if job.error:
        parts += [Text("\nlast error", style="bold"), *_error(job.error)]
    parts += [Text(f"\nevents ({len(events)})", style="bold"), _events(events)]
    return Group(*parts)


def _fields(job: Job) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    progress = f"{job.progress * 100:.0f}%"
    if job.progress_message:
        progress += f" ({job.progress_message})"
    rows: list[tuple[str, str | None]] = [
        ("pipeline", job.pipeline),
        ("queue", job.queue),
        ("tenant", job.tenant),
        ("priority", str(job.priority)),
        ("attempts", str(job.attempts)),
        ("progress", progress),
        ("current step", job.current_step),
        ("idempotency key", job.idempotency_key),
        ("parent", job.parent_id),
        ("callback url", job.callback_url),
        ("created", when(job.created_at)),
        ("run at", when(job.run_at)),
        ("started", when(job.started_at)),
        ("finished", when(job.finished_at)),
        ("time", timing(job)),
    ]
    for name, value in rows:
        if value is not None:
            grid.add_row(name, Text(value))
    if job.result is not None:
        kind = type(job.result)
        if kind not in _JSON_TYPES:  # decoded by the pipeline's type hints (needs --app)
            grid.add_row("result type", Text(f"{kind.__module__}.{kind.__qualname__}"))
        grid.add_row("result", Text(_preview(job.result)))
    return grid


def _steps(steps: list[StepInfo]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("key", "status", "attempts", "duration", "worker", "error"):
        table.add_column(name, overflow="fold", justify="right" if name == "attempts" else "left")
    for step in steps:
        table.add_row(
            Text(step.key),
            status_text(step.status),
            str(step.attempts),
            seconds(step.duration),
            Text(step.worker or "-"),
            Text(_brief(step.error)),
        )
    return table


def _error(error: dict[str, Any]) -> list[RenderableType]:
    parts: list[RenderableType] = [Text(_brief(error), style="red")]
    extra = [f"{k} {error[k]}" for k in ("step", "attempt", "http_status") if error.get(k)]
    if extra:
        parts.append(Text(", ".join(extra), style="dim"))
    if error.get("traceback"):
        parts.append(Text(str(error["traceback"]).rstrip()))
    return parts


def _events(events: list[Event]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("at", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("details", overflow="fold")
    for event in events:
        at = ts(event.at)
        table.add_row(str(event.seq), when(at), Text(event.type), Text(_details(event.data)))
    return table


def _details(data: dict[str, Any]) -> str:
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and ("type" in value or "message" in value):
            value = _brief(value)
        elif key == "duration" and isinstance(value, int | float):
            value = seconds(value)
        out.append(f"{key}={value}")
    return " ".join(out)


def _brief(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    kind, message = error.get("type"), error.get("message")
    return f"{kind}: {message}" if kind and message else str(kind or message or "")


def _preview(value: Any) -> str:
    text = pydantic_core.to_json(value, indent=2, serialize_unknown=True).decode()
    if len(text) <= RESULT_PREVIEW:
        return text
    return f"{text[:RESULT_PREVIEW]}… ({len(text)} characters; --json shows it all)"
