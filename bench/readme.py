"""Put a results file's headline table and chart into README.md, between the markers.

    bench/.venv/bin/python -m bench.readme bench/results/<date>.json [--note TEXT]

Only the text between `<!-- bench:start -->` and `<!-- bench:end -->` changes, so the
README's table is always one real run's, with the file it came from named beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .report import METRICS, STORES, _flag, _ratio, best_peer, cell

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HEADLINE = ["w1.drain_jobs_s", "w2.p50_ms", "w3.wall_s", "w4.wall_s", "ckpt_serial.ms_per_step"]


def headline(doc: dict[str, Any], source: str, note: str) -> str:
    metrics = [m for key in HEADLINE for m in METRICS if m.key == key]
    systems = doc["systems"]
    lines = [
        f"From `make bench` on {doc['date']} ([{source}]({source}), with the full tables "
        f"beside it): {doc['config']['runs']} runs each, median (min\u2013max), 2 worker "
        "processes, PostgreSQL and Redis on loopback. " + note,
        "",
        "| store | system | " + " | ".join(m.label for m in metrics) + " | lost / dup |",
        "|---" * (len(metrics) + 3) + "|",
    ]
    for store, label in STORES.items():
        for name, d in systems.items():
            if d["store"] != store:
                continue
            shown = f"**{name}**" if d["role"] == "baton" else name
            shown = f"*{name}* (floor)" if d["role"] == "floor" else shown
            cells = [cell(d["summary"][m.key], m.unit) for m in metrics]
            flag = _flag(d["summary"]["integrity"])
            lines.append(f"| {label} | {shown} | " + " | ".join(cells) + f" | {flag} |")
    lines += ["", "baton \u00f7 the best peer on the same store (medians):", ""]
    lines += ["| baton on | " + " | ".join(m.label for m in metrics[:4]) + " |"]
    lines += ["|---" * 5 + "|"]
    for name, d in systems.items():
        if d["role"] != "baton":
            continue
        cells = []
        for m in metrics[:4]:
            peer = best_peer(systems, d["store"], m)
            ratio = _ratio(d["summary"][m.key], systems[peer]["summary"][m.key], m) if peer else ""
            cells.append(f"{ratio} ({peer})" if peer else "n/a")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    before = doc.get("w5_before")
    if before:
        lines += [
            "",
            f"W5, the seeds' pipeline on fake servers: **{cell(before, 's')} s** sequential "
            "(before); with `ctx.map` on 2 workers (after): "
            + "; ".join(
                f"{n} {cell(d['summary']['w5.after_s'], 's')} s "
                f"({before['median'] / d['summary']['w5.after_s']['median']:.1f}\u00d7)"
                for n, d in systems.items()
                if d["role"] == "baton" and d["summary"]["w5.after_s"].get("n")
            )
            + ".",
        ]
    png = Path(source).with_suffix(".png")
    lines += ["", f"![baton against the peers]({png.as_posix()})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.readme")
    p.add_argument("results", type=Path)
    p.add_argument("--note", default="")
    args = p.parse_args(argv)
    doc = json.loads(args.results.read_text())
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    source = args.results.resolve().relative_to(README.parent).as_posix()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{headline(doc, source, args.note)}\n{END}{tail}")
    print(f"README.md: benchmark table from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
