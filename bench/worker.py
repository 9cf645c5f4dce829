"""One worker process: `python -m bench.worker ADAPTER WORKDIR SPEC_JSON`.

The adapter connects, then calls `ready()`: this writes `WORKDIR/ready-<index>` and waits
for `WORKDIR/go` (created by the orchestrator once every worker is ready), so that all
workers start together and interpreter start-up is never part of a measurement.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .adapters import load

READY_TIMEOUT = 60.0


def main(argv: list[str]) -> int:
    spec_name, workdir, spec_json = argv
    folder = Path(workdir)
    spec = json.loads(spec_json)
    adapter = load(spec_name, folder)
    if spec.get("concurrency") and adapter.role == "baton":
        # W3's in-flight share, also as the option every baton adapter reads
        adapter.options["concurrency"] = str(spec["concurrency"])
    stats = os.environ.get("BENCH_BATON_STATS")
    if stats:  # bench.profile: count commits inside baton's SQLite thread
        from .profile import install_counters

        install_counters(stats.format(index=spec["index"]))

    def ready() -> None:
        (folder / f"ready-{spec['index']}").touch()
        deadline = time.monotonic() + READY_TIMEOUT
        go = folder / "go"
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("bench worker: no start signal within 60 s")
            time.sleep(0.0005)

    adapter.worker_main(spec, ready)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
