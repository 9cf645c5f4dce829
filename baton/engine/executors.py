"""Where step code runs: the event loop, a thread, or a killable child process.

The process pool keeps a few warm child processes (spawned, not forked, so no lock or
thread of the worker leaks into them). A call that outlives its timeout, or whose job is
cancelled, has its process killed and replaced: CPU-bound code (a PDF parser stuck in a
hostile file) cannot be interrupted any other way. A child that dies (OOM, segfault)
fails that step with a clear error; the worker itself carries on. Arguments and results
cross as JSON, like everything else in baton.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from .. import codec
from ..errors import BatonError


class StepTimeout(TimeoutError):
    """A step ran past its timeout (a process step is killed when this happens)."""


class ProcessDied(BatonError):
    """The child process running a step died (killed, out of memory, crashed)."""

    code = "process_died"


class RemoteError(BatonError):
    """An exception raised by a step in a child process, carried back by name and message."""

    code = "step_error"

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.retryable = bool(info.get("retryable", True))
        self.retry_after: float | None = info.get("retry_after")
        super().__init__(f"{info.get('type')}: {info.get('message')}")


def _child_main(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    from ..retry import describe, is_retryable, retry_after
    from .current import StepContext, set_current

    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        module, attr, args_json, info = json.loads(msg)
        set_current(StepContext(**info))
        step: Any = None
        try:
            step = _resolve(module, attr)
            args = step.sig.decode_args(args_json)
            value = step.fn(**args)
            reply = ["ok", codec.encode(value, f"result of step {step.name}")]
        except Exception as exc:
            error = describe(exc)
            error["retryable"] = step is not None and is_retryable(exc, step.options.retry)
            error["retry_after"] = retry_after(exc)
            reply = ["err", json.dumps(error)]
        conn.send_bytes(json.dumps(reply).encode())


def _info_dict(info: Any) -> dict[str, Any]:
    if info is None:
        return {"job_id": "", "step_key": "", "attempt": 1, "tenant": ""}
    return {
        "job_id": info.job_id,
        "step_key": info.step_key,
        "attempt": info.attempt,
        "tenant": info.tenant,
    }


def _resolve(module: str, attr: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class _Proc:
    def __init__(self, ctx: Any) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(target=_child_main, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class ProcessPool:
    def __init__(self, size: int | None = None) -> None:
        self.size = size or max(1, os.cpu_count() or 1)
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Proc] = []
        self._sem: asyncio.Semaphore | None = None

    async def run(
        self, module: str, attr: str, args_json: str, timeout: float | None, info: Any = None
    ) -> str:
        """Run the step found at `module:attr` with JSON args; return its JSON result."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.size)
        async with self._sem:
            proc = self._idle.pop() if self._idle else await asyncio.to_thread(_Proc, self._ctx)
            ok = False
            try:
                payload = [module, attr, args_json, _info_dict(info)]
                proc.conn.send_bytes(json.dumps(payload).encode())
                reply = await self._recv(proc, timeout)
                ok = True
            finally:
                if ok:
                    self._idle.append(proc)
                else:
                    await asyncio.to_thread(proc.kill)
        kind, payload = reply
        if kind == "ok":
            return str(payload)
        raise RemoteError(json.loads(payload))

    async def _recv(self, proc: _Proc, timeout: float | None) -> list[Any]:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = proc.conn.fileno()
        loop.add_reader(fd, ready.set)
        try:
            try:
                async with asyncio.timeout(timeout):
                    await ready.wait()
            except TimeoutError:
                raise StepTimeout(
                    f"step ran past its timeout of {timeout}s and was killed"
                ) from None
        finally:
            loop.remove_reader(fd)
        try:
            data = proc.conn.recv_bytes()
        except (EOFError, OSError):
            proc.process.join(timeout=5)
            code = proc.process.exitcode
            raise ProcessDied(f"the process running the step died (exit code {code})") from None
        result: list[Any] = json.loads(data)
        return result

    def close(self) -> None:
        while self._idle:
            self._idle.pop().kill()
