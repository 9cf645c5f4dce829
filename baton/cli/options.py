"""Options shared by the commands that read the database (`jobs …`, `migrate`)."""

from __future__ import annotations

from typing import Annotated

import typer

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        envvar="BATON_APP",
        metavar="APP",
        help="Your baton.App as module:attribute; results then decode by their type hints.",
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        show_default=False,
        help="Database URL; overrides the APP's. Default: $BATON_URL, else sqlite:///baton.db.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
