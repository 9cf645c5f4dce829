"""`baton jobs list|show|retry|cancel`: inspect and steer jobs."""

from __future__ import annotations

from typing import Annotated

import typer

from ..app import App
from ..job import Job
from ..models import Event, Status
from .loader import open_app
from .options import AppOption, JsonOption, UrlOption
from .output import console, errors, note, print_json, run, status_text
from .views import job_data, job_detail, jobs_table

jobs_cli = typer.Typer(help="Inspect and steer jobs.", no_args_is_help=True)

JobId = Annotated[str, typer.Argument(metavar="ID", help="The job's id.")]
EVENTS_PAGE = 1000


@jobs_cli.command("list")
def list_jobs(
    status: Annotated[Status | None, typer.Option(help="Only jobs in this state.")] = None,
    pipeline: Annotated[str | None, typer.Option(help="Only jobs of this pipeline.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only jobs in this queue.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's jobs.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
    app: AppOption = None,
    url: UrlOption = None,
) -> None:
    """List jobs, newest first."""

    async def work(a: App) -> list[Job]:
        return await a.list_jobs(
            status=status, pipeline=pipeline, queue=queue, tenant=tenant, limit=limit
        )

    with errors():
        jobs = run(open_app(app, url), work)
    if as_json:
        print_json([job_data(j) for j in jobs])
    elif not jobs:
        note("no jobs match")
    else:
        console().print(jobs_table(jobs))


@jobs_cli.command("show")
def show(
    job_id: JobId, as_json: JsonOption = False, app: AppOption = None, url: UrlOption = None
) -> None:
    """Show one job: its fields, steps, last error and event log."""

    async def work(a: App) -> tuple[Job, list[Event]]:
        return await a.get_job(job_id), await _events(a, job_id)

    with errors():
        job, events = run(open_app(app, url), work)
    if as_json:
        print_json(job_data(job, events))
    else:
        console().print(job_detail(job, events))


@jobs_cli.command("retry")
def retry(
    job_id: JobId, as_json: JsonOption = False, app: AppOption = None, url: UrlOption = None
) -> None:
    """Queue a failed, cancelled or expired job again; it resumes from its last saved step."""
    with errors():
        job = run(open_app(app, url), lambda a: a.retry(job_id))
    _report(job, as_json, Status.QUEUED, "only failed, cancelled or expired jobs can be retried")


@jobs_cli.command("cancel")
def cancel(
    job_id: JobId, as_json: JsonOption = False, app: AppOption = None, url: UrlOption = None
) -> None:
    """Cancel a queued, waiting or running job (and its unfinished children)."""
    with errors():
        job = run(open_app(app, url), lambda a: a.cancel(job_id))
    _report(job, as_json, Status.CANCELLED, "it had already ended")


async def _events(app: App, job_id: str) -> list[Event]:
    backend = await app.backend()
    events: list[Event] = []
    while True:
        page = await backend.events(
            job_id, after=events[-1].seq if events else 0, limit=EVENTS_PAGE
        )
        events += page
        if len(page) < EVENTS_PAGE:
            return events


def _report(job: Job, as_json: bool, wanted: Status, why_not: str) -> None:
    """Print the job's status after retry/cancel; say so on stderr when nothing changed."""
    if job.status is not wanted:
        note(f"job {job.id} is {job.status.value}: {why_not}")
    if as_json:
        print_json(job_data(job))
    else:
        console().print("job", job.id, status_text(job.status.value))
