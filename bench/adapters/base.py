"""What an adapter provides. One small module per system; `bench.run` does the rest.

The orchestrator (one process) creates a fresh store with `setup()`, enqueues through
`client()`, and starts `worker_specs(...)` as real OS processes (`python -m bench.worker`),
each of which calls `worker_main(spec, ready)` in the child. `ready()` blocks until every
worker process is up, so all of them start on the same signal and process start-up cost
is never measured. Jobs call `bench.common.record(key, t_start, t_end)`.

Job kinds every adapter implements (keys are what the jobs record):
- "noop" n: a no-op job; records key `n`.
- "pipeline" n: STEPS no-op steps, each checkpointed the system's way; step k records `p{n}.{k}`.
- "baseline" n: one job doing the same STEPS no-op calls inline; call k records `b{n}.{k}`.
- "sleep" n: W3, sleeps `SLEEP_S` (asyncio.sleep where the system runs async jobs, else
  time.sleep in its threads); records `s{n}` with start and end.
- "fanout" n: W4, one parent that records `parent` when it starts, spawns n children
  (child i records `c{i}` and returns i*i) and gathers their results the system's way;
  the gatherer records `gather` if the results add up (`bench.common.gathered`), else
  `gather-wrong`.

A workload an adapter cannot express is listed in `unsupported` with the reason; the
table shows n/a and the reason. `store` (sqlite, postgres, redis) groups systems for the
ratios, and `role` says what the row is: "baton", "peer" or "floor".
"""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Client(ABC):
    """The producer side: one client, enqueuing one job per call (as a web handler would)."""

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect (outside the timed loop)."""

    @abstractmethod
    async def enqueue(self, kind: str, n: int) -> None: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        pass


class Adapter(ABC):
    name: str = "?"
    description: str = ""
    # Whether a worker started with mode="burst" exits by itself once the queue is empty.
    has_burst: bool = False
    stop_signal: int = signal.SIGTERM
    store: str = "sqlite"
    role: str = "peer"
    unsupported: dict[str, str] = {}
    # Some peers are too slow per job for the full W1 inside make bench's time budget.
    w1_jobs: int | None = None

    def __init__(self, workdir: Path, options: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.options = dict(options or {})

    @abstractmethod
    def setup(self) -> None:
        """Create a fresh, empty store under `self.workdir` (called in the orchestrator)."""

    @abstractmethod
    def client(self) -> Client: ...

    def worker_specs(
        self, processes: int, mode: str, concurrency: int | None = None
    ) -> list[dict[str, Any]]:
        """One spec per OS process to start for `processes` worker processes.

        mode: "burst" (exit when the queue is empty, where supported) or "serve" (until
        `stop_signal`). Adapters whose consumer forks its own workers return one spec.
        `concurrency` (W3: jobs in flight per process) is None for the system's default.
        """
        return [{"mode": mode, "index": i, "concurrency": concurrency} for i in range(processes)]

    @abstractmethod
    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        """Run in a worker process: connect, call `ready()` (returns on the start signal),
        then work until the queue is drained (burst) or the process is signalled."""

    def verify(self, expected: int) -> dict[str, Any]:
        """Facts read from the store after a W1 run (statuses, attempts, rows written)."""
        return {}

    def cleanup(self) -> None:  # noqa: B027 - optional hook
        """Remove anything the adapter left outside `self.workdir`."""
