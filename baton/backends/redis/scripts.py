"""The Lua scripts, one per state transition, loaded with importlib.resources.

Each script is sent as the shared prelude (`common.lua`, `sha256.lua`, `lifecycle.lua`)
followed by its own body, so helpers are written once and every transition is still a
single script, run atomically by the server (EVALSHA, loaded again by redis-py when a
restarted server has forgotten it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from .codec import FIELDS

PRELUDE = ("common.lua", "sha256.lua", "lifecycle.lua")
NAMES = (
    "enqueue",
    "claim",
    "settle",
    "start_step",
    "save_step",
    "progress",
    "renew",
    "cancel",
    "retry",
    "acquire",
    "release_permit",
    "pause_rate",
    "next_due",
    "list_jobs",
    "queue_stats",
    "purge",
)


def _read(name: str) -> str:
    return (resources.files(__package__ or "baton.backends.redis") / "scripts" / name).read_text()


@cache
def sources() -> dict[str, str]:
    # the job fields the scripts return, in JobRecord's order, so replies carry no names
    fields = ", ".join(f"'{name}'" for name in FIELDS)
    prelude = "\n".join([f"local JOB_FIELDS = {{{fields}}}", *(_read(name) for name in PRELUDE)])
    return {name: f"{prelude}\n{_read(name + '.lua')}" for name in NAMES}


class Scripts:
    """The registered scripts of one client; `run` passes the prefix as ARGV[1].

    Calls made in the same event-loop tick (the settles of jobs that finished together,
    the claim that follows them) go out in one pipeline: one write and one wake-up instead
    of one each, while every script still runs atomically on its own. Not a transaction:
    each caller gets its own script's reply or error.
    """

    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._key = prefix + "jobs"  # KEYS[1]: routes the call to the prefix's slot
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(src) for name, src in sources().items()
        }
        self._pending: list[tuple[AsyncScript, list[Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self, name: str, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((self._scripts[name], [self._prefix, *args], fut))
        return await fut

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[AsyncScript, list[Any], asyncio.Future[Any]]]) -> None:
        if len(batch) == 1:
            script, args, fut = batch[0]
            await _settle(fut, script(keys=[self._key], args=args))
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for script, args, _ in batch:
                    pipe.evalsha(script.sha, 1, self._key, *args)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # the connection broke: every caller hears of it
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (script, args, fut), reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):  # a restarted server forgot it: load, rerun
                await _settle(fut, script(keys=[self._key], args=args))
            elif fut.done():  # its caller stopped waiting
                continue
            elif isinstance(reply, Exception):
                fut.set_exception(reply)
            else:
                fut.set_result(reply)


async def _settle(fut: asyncio.Future[Any], call: Awaitable[Any]) -> None:
    try:
        value = await call
    except Exception as exc:
        if not fut.done():
            fut.set_exception(exc)
        return
    if not fut.done():
        fut.set_result(value)
