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

    def __init__(self, workdir: Path, options: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.options = dict(options or {})

    @abstractmethod
    def setup(self) -> None:
        """Create a fresh, empty store under `self.workdir` (called in the orchestrator)."""

    @abstractmethod
    def client(self) -> Client: ...

    def worker_specs(self, processes: int, mode: str) -> list[dict[str, Any]]:
        """One spec per OS process to start for `processes` worker processes.

        mode: "burst" (exit when the queue is empty, where supported) or "serve" (until
        `stop_signal`). Adapters whose consumer forks its own workers return one spec.
        """
        return [{"mode": mode, "index": i} for i in range(processes)]

    @abstractmethod
    def worker_main(self, spec: dict[str, Any], ready: Callable[[], None]) -> None:
        """Run in a worker process: connect, call `ready()` (returns on the start signal),
        then work until the queue is drained (burst) or the process is signalled."""

    def verify(self, expected: int) -> dict[str, Any]:
        """Facts read from the store after a W1 run (statuses, attempts, rows written)."""
        return {}

    def cleanup(self) -> None:  # noqa: B027 - optional hook
        """Remove anything the adapter left outside `self.workdir`."""
