"""Starting, signalling and reaping a group of worker processes (`python -m bench.worker`)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .adapters import Adapter
from .common import RECORDS_ENV, tree_cpu, wait_until

REPO = Path(__file__).resolve().parent.parent


class WorkerError(RuntimeError):
    pass


class Workers:
    """The worker processes of one measurement. Use as a context manager: it always reaps."""

    def __init__(
        self,
        adapter: Adapter,
        records: Path,
        processes: int,
        mode: str,
        wrap: list[str] | None = None,
        concurrency: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.adapter = adapter
        self.records = records
        self.specs = adapter.worker_specs(processes, mode, concurrency)
        self.wrap = wrap or []  # e.g. a profiler command line to run each worker under
        self.extra_env = env or {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.cpu_at_go = 0.0
        self.cpu_total = 0.0  # from wait4: the whole life of each process tree
        self.go_at = 0.0
        self._logs: list[Any] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(timeout=10.0)
        for log in self._logs:
            log.close()

    def start(self, timeout: float = 30.0) -> None:
        workdir = self.adapter.workdir
        env = dict(
            os.environ, PYTHONPATH=str(REPO), **{RECORDS_ENV: str(self.records)}, **self.extra_env
        )
        for spec in self.specs:
            log = open(workdir / f"worker-{spec['index']}.log", "wb")  # noqa: SIM115
            self._logs.append(log)
            cmd = [
                *self.wrap,
                sys.executable,
                "-m",
                "bench.worker",
                self.adapter.name,
                str(workdir),
                json.dumps(spec),
            ]
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        ready = [workdir / f"ready-{s['index']}" for s in self.specs]
        if not wait_until(
            lambda: all(p.exists() for p in ready) or self._any_exited(), timeout, 0.005
        ) or not all(p.exists() for p in ready):
            raise WorkerError(f"workers not ready within {timeout}s: {self.log_tail()}")

    def go(self) -> None:
        self.cpu_at_go = sum(tree_cpu(p.pid) for p in self.procs)
        self.go_at = time.time()
        (self.adapter.workdir / "go").touch()

    def _any_exited(self) -> bool:
        return any(p.poll() is not None for p in self.procs)

    def _reap(self, block: bool) -> None:
        for p in self.procs:
            if p.returncode is not None:
                continue
            try:
                pid, status, usage = os.wait4(p.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                p.returncode = -1
                continue
            if pid == p.pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                self.cpu_total += usage.ru_utime + usage.ru_stime

    def alive(self) -> bool:
        self._reap(block=False)
        return any(p.returncode is None for p in self.procs)

    def wait_exit(self, timeout: float) -> bool:
        """Wait for every worker to exit by itself (burst mode)."""
        return wait_until(lambda: not self.alive(), timeout, 0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Send the adapter's stop signal, wait, then kill what is left (our own processes)."""
        if not self.alive():
            return
        for p in self.procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, self.adapter.stop_signal)
        if self.wait_exit(timeout):
            return
        for p in self.procs:
            if p.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
        self._reap(block=True)

    def crashed(self) -> bool:
        """Whether a worker exited by itself with an error (not by our stop signal)."""
        self._reap(block=False)
        return any(p.returncode not in (None, 0, -self.adapter.stop_signal) for p in self.procs)

    def cpu_since_go(self) -> float:
        """CPU seconds the worker trees used after `go` (valid once all have exited)."""
        return self.cpu_total - self.cpu_at_go

    def log_tail(self, n: int = 2000) -> str:
        out = []
        for spec in self.specs:
            path = self.adapter.workdir / f"worker-{spec['index']}.log"
            with contextlib.suppress(OSError):
                text = path.read_bytes()[-n:].decode(errors="replace").strip()
                if text:
                    out.append(f"[worker {spec['index']}] {text}")
        return "\n".join(out) or "(no worker output)"
