"""The Lua scripts, one per state transition, loaded with importlib.resources.

Each script is sent as the shared prelude (`common.lua`, `sha256.lua`, `lifecycle.lua`)
followed by its own body, so helpers are written once and every transition is still a
single script, run atomically by the server (EVALSHA, loaded again by redis-py when a
restarted server has forgotten it).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

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
    """The registered scripts of one client; `run` passes the prefix as ARGV[1]."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self._prefix = prefix
        self._key = prefix + "jobs"  # KEYS[1]: routes the call to the prefix's slot
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(src) for name, src in sources().items()
        }

    async def run(self, name: str, *args: Any) -> Any:
        return await self._scripts[name](keys=[self._key], args=[self._prefix, *args])
