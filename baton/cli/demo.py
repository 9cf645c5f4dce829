"""`baton demo [PDF ...]`: the reference document app, end to end, offline."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Annotated

import typer

HINT = "baton demo needs the demo extras: pip install 'baton[demo]'"
# what `baton[demo]` brings (import names), checked before anything of the demo is loaded
EXTRAS = ("phonenumbers", "stdnum", "cryptography", "multipart", "fastapi", "httpx", "pypdf")


def _missing() -> str | None:
    for name in (*EXTRAS, "fsspec"):
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):  # a module set to None in sys.modules
            return name
    return None


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
    missing = _missing()
    if missing:
        typer.echo(f"{HINT} ({missing} is missing)", err=True)
        raise typer.Exit(2)
    # the demo is a layer above the CLI, with its own extras: load it only when asked for
    runner = importlib.import_module("baton.demo.cli")
    raise typer.Exit(
        runner.run(list(pdfs or []), as_json=as_json, timeout=timeout, workdir=workdir)
    )
