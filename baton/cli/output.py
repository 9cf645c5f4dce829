"""Rendering shared by every command: JSON for scripts, Rich for people, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import pydantic_core
import typer
from rich.console import Console
from rich.text import Text

from ..app import App
from ..errors import BatonError, ConfigError, JobNotFound
from ..redact import redact as redact  # re-exported for the commands

T = TypeVar("T")

USAGE = 2  # exit code for a bad command line or configuration (as Click uses)
NOT_FOUND = 1  # exit code for a job that does not exist, or an operation baton refused
PIPE_WIDTH = 240  # columns for output that is not a terminal

STATUS_STYLES = {
    "queued": "cyan",
    "running": "bold yellow",
    "waiting": "magenta",
    "succeeded": "green",
    "failed": "bold red",
    "cancelled": "dim",
    "expired": "dark_orange",
}


def console() -> Console:
    """A console on the current stdout (made per call, so test runners can swap streams).

    A terminal gets tables fitted to its width; a pipe or file gets them whole, never
    squeezed to 80 columns, so `baton jobs list | grep …` sees every column.
    """
    width = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(highlight=False, width=width)


def print_json(data: Any) -> None:
    """Machine-readable output: indented JSON, datetimes as ISO 8601."""
    typer.echo(pydantic_core.to_json(data, indent=2, serialize_unknown=True).decode())


def note(message: str) -> None:
    """A one-line remark on stderr, apart from the output a script parses."""
    typer.echo(_one_line(message), err=True)


def fail(message: str, code: int) -> NoReturn:
    """Print a one-line error on stderr and exit with `code`, no traceback."""
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors() -> Iterator[None]:
    """Turn baton's errors into one line and an exit code (2 config, 1 not found)."""
    try:
        yield
    except ConfigError as exc:
        fail(str(exc), USAGE)
    except JobNotFound as exc:
        fail(str(exc), NOT_FOUND)
    except BatonError as exc:
        fail(f"{type(exc).__name__}: {exc}", NOT_FOUND)


def run(app: App, work: Callable[[App], Awaitable[T]]) -> T:
    """Run one async operation on `app` in a fresh event loop, then close the app."""

    async def go() -> T:
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(go())


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def when(moment: datetime | None, short: bool = False) -> str:
    """A timestamp for people: local time, to the second (`short`: without the year)."""
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def seconds(value: float | None) -> str:
    """A duration for people: 0.42s, 12.3s, 4m 05s, 2h 10m, 3d 4h."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.2f}s"
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def since(moment: datetime, until: datetime | None = None) -> float:
    return ((until or datetime.now(UTC)) - moment).total_seconds()


def _one_line(message: str) -> str:
    return redact(" ".join(message.split()))
