"""Shared pieces: what jobs record, reading it back, statistics, process CPU.

Every job in every adapter calls `record(key, t_start, t_end)` with `time.time()` stamps.
Each worker process appends one line per call to its own file in `$BENCH_RECORDS`
(`os.write` on an O_APPEND descriptor: no fsync, a few microseconds), so the numbers come
from the jobs themselves, not from guessing, and a job that ran twice shows up twice.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

RECORDS_ENV = "BENCH_RECORDS"
STEPS = 10  # steps per pipeline in the checkpoint workload
SLEEP_S = 0.1  # W3: what each job sleeps

_fd: int | None = None
_fd_pid = 0


def record(key: str, t_start: float, t_end: float) -> None:
    """Append `key t_start t_end` to this process's record file (called from inside jobs)."""
    global _fd, _fd_pid
    pid = os.getpid()
    if _fd is None or _fd_pid != pid:  # first call, or a forked child (huey's process workers)
        folder = os.environ[RECORDS_ENV]
        _fd = os.open(
            os.path.join(folder, f"rec-{pid}.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
        _fd_pid = pid
    os.write(_fd, f"{key} {t_start:.6f} {t_end:.6f}\n".encode())


def noop(n: int) -> None:
    """The W1/W2 job body shared by every adapter."""
    t = time.time()
    record(str(n), t, time.time())


def sleep_job(n: int) -> None:
    """W3 for systems that run sync jobs in threads."""
    t = time.time()
    time.sleep(SLEEP_S)
    record(f"s{n}", t, time.time())


async def sleep_job_async(n: int) -> None:
    """W3 for systems that run async jobs on an event loop."""
    import asyncio

    t = time.time()
    await asyncio.sleep(SLEEP_S)
    record(f"s{n}", t, time.time())


def parent_started() -> None:
    t = time.time()
    record("parent", t, t)


def child(i: int) -> int:
    """W4's child: records itself and returns i*i for the parent to gather."""
    t = time.time()
    record(f"c{i}", t, time.time())
    return i * i


def gathered(values: Iterable[int] | None, n: int) -> None:
    """W4's gather: record `gather` if the n children's results add up, else `gather-wrong`.
    `values=None` means the system stores no results (only completion was awaited)."""
    t = time.time()
    ok = values is None or sum(values) == sum(i * i for i in range(n))
    record("gather" if ok else "gather-wrong", t, time.time())


@dataclass
class Records:
    """Tails every `rec-*.txt` in a folder, incrementally (cheap to poll)."""

    folder: Path
    runs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    total: int = 0
    _offsets: dict[str, int] = field(default_factory=dict)
    _partial: dict[str, bytes] = field(default_factory=dict)

    def poll(self) -> int:
        """Read what was appended since the last poll; return the number of distinct keys."""
        for path in self.folder.glob("rec-*.txt"):
            name = path.name
            with path.open("rb") as fh:
                fh.seek(self._offsets.get(name, 0))
                chunk = fh.read()
            if not chunk:
                continue
            self._offsets[name] = self._offsets.get(name, 0) + len(chunk)
            data = self._partial.pop(name, b"") + chunk
            lines = data.split(b"\n")
            if lines[-1]:
                self._partial[name] = lines[-1]
            for line in lines[:-1]:
                key, t0, t1 = line.decode().split()
                self.runs.setdefault(key, []).append((float(t0), float(t1)))
                self.total += 1
        return len(self.runs)

    def has_all(self, keys: Iterable[str]) -> bool:
        return all(k in self.runs for k in keys)

    def first_start(self, keys: Iterable[str]) -> float:
        return min(self.runs[k][0][0] for k in keys if k in self.runs)

    def last_end(self, keys: Iterable[str]) -> float:
        return max(t1 for k in keys if k in self.runs for _, t1 in self.runs[k])

    def lost_and_dup(self, keys: Sequence[str]) -> tuple[int, int]:
        """(jobs that never ran, extra runs of jobs that ran more than once) among `keys`."""
        lost = sum(1 for k in keys if k not in self.runs)
        dup = sum(len(self.runs[k]) - 1 for k in keys if k in self.runs)
        return lost, dup


def wait_until(check: object, timeout: float, interval: float = 0.005) -> bool:
    """Poll `check()` until truthy or `timeout` seconds pass; True if it became truthy."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- statistics ---------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..100."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, min and max over the repeated runs of one metric."""
    clean = [v for v in values if v == v]  # drop NaN (a failed run)
    if not clean:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "median": statistics.median(clean),
        "min": min(clean),
        "max": max(clean),
        "n": len(clean),
    }


# --- CPU of worker process trees (Linux /proc) -------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    return out


def tree_cpu(pid: int) -> float:
    """User+system CPU seconds used so far by `pid` and its live descendants (all threads)."""
    total = 0.0
    todo = [pid]
    seen: set[int] = set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        todo.extend(_children(p))
    return total
