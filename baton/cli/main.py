"""The `baton` command: `baton worker`, `serve`, `dev`, `migrate`, `jobs …`, `demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .demo import demo
from .jobs import jobs_cli
from .migrate import migrate
from .serve import dev, serve
from .worker import worker

cli = typer.Typer(
    name="baton",
    help="Durable, checkpointed pipelines: run workers and inspect jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
cli.command("worker")(worker)
cli.command("migrate")(migrate)
cli.command("serve")(serve)
cli.command("dev")(dev)
cli.command("demo")(demo)
cli.add_typer(jobs_cli, name="jobs")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baton {__version__}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Durable, checkpointed pipelines: run workers and inspect jobs."""


def main() -> None:
    cli(prog_name="baton")
