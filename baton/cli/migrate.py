"""`baton migrate`: create or upgrade the schema (idempotent, safe from many processes)."""

from __future__ import annotations

import typer

from ..app import App
from .loader import open_app
from .options import AppOption, JsonOption, UrlOption
from .output import errors, print_json, redact, run


def migrate(app: AppOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Create or upgrade baton's tables in the database."""
    with errors():
        client = open_app(app, url)
        run(client, _migrate)
    shown = redact(client.url)
    if as_json:
        print_json({"url": shown, "migrated": True})
    else:
        typer.echo(f"database is up to date: {shown}")


async def _migrate(app: App) -> None:
    backend = await app.backend()
    await backend.migrate()  # `backend()` migrates on first use; an explicit call says so
