"""`baton demo [PDF ...]`: the reference document app, end to end, offline."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

HINT = "baton demo needs the demo extras: pip install 'baton[demo]'"


def demo(
    pdfs: Annotated[
        list[Path] | None, typer.Argument(help="PDFs to process (default: the bundled samples).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per document instead.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Give up on documents still running after this many seconds.")
    ] = 300.0,
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep the SQLite store and documents here (default: a temp dir)."),
    ] = None,
) -> None:
    """Run the reference app (ingest, scan, parse, scrub PII, analyze, save) on PDFs.

    API and worker run in this process on a temporary SQLite store; no network, no keys.
    """
    try:  # the demo is a layer above the CLI and has its own extras: load it only here
        runner = importlib.import_module("baton.demo.cli")
    except ImportError as exc:
        typer.echo(f"{HINT} ({exc.name} is missing)", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(
        runner.run(list(pdfs or []), as_json=as_json, timeout=timeout, workdir=workdir)
    )
