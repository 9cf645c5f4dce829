"""`baton worker --processes N`: start N worker processes, pass signals on, wait for all."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from types import FrameType

log = logging.getLogger("baton.cli")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_fleet(worker_args: list[str], n: int) -> int:
    """Run `python -m baton worker *worker_args` N times; 0 if every child exited 0, else 1.

    SIGTERM and SIGINT are forwarded to the children, which stop gracefully on their own
    (a terminal's Ctrl-C reaches them directly too; a second signal changes nothing).
    """
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        log.info(
            "received %s: stopping %d worker process(es)",
            signal.Signals(signum).name,
            len(children),
        )
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in SIGNALS}
    try:
        command = [sys.executable, "-m", "baton", "worker", *worker_args]
        try:
            for index in range(n):
                if stopping:
                    break
                env = {**os.environ, "BATON_WORKER_INDEX": str(index)}
                children.append(subprocess.Popen(command, env=env))
        except BaseException:  # could not start them all: stop the ones that did start
            for child in children:
                child.terminate()
            _wait_all(children)
            raise
        log.info(
            "started %d worker processes: pids %s",
            len(children),
            ", ".join(str(c.pid) for c in children),
        )
        return _wait_all(children)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_all(children: list[subprocess.Popen[bytes]]) -> int:
    failed = 0
    for child in children:
        code = child.wait()
        if code != 0:
            failed += 1
            log.error("worker process %d exited with code %d", child.pid, code)
    return 1 if failed else 0
