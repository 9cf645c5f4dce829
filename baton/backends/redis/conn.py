"""One redis-py client per event loop.

An asyncio client's connections belong to the loop that opened them, but a baton backend
may be used from several loops (the sync door's private loop, `asyncio.run` in a script,
a worker's own loop), as the SQLite backend is. So each loop gets its own client, script
registry and wake-up subscription, made on first use and closed with the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .scripts import Scripts
from .wake import Waker


class LoopClient:
    """What one event loop uses: the client, its scripts and its wake-up subscription."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=5.0,
            socket_timeout=30.0,
            retry=Retry(NoBackoff(), 0),  # the backend retries, knowing which writes may replay
        )
        # redis-py's reply types are unions of bytes and str; with decode_responses they are
        # str, so reads go through an untyped view of the same client
        self.r: Any = self.client
        self.scripts = Scripts(self.client, prefix)
        self.waker = Waker(self.client, prefix)

    async def aclose(self) -> None:
        await self.waker.aclose()
        await self.client.aclose()


class Clients:
    def __init__(self, url: str, prefix: str) -> None:
        self._url = url
        self._prefix = prefix
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._last: LoopClient | None = None
        self._last_loop: asyncio.AbstractEventLoop | None = None  # strong: the one in use

    def here(self) -> LoopClient:
        loop = asyncio.get_running_loop()
        if loop is self._last_loop and self._last is not None:  # the usual case: one loop
            return self._last
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = LoopClient(self._url, self._prefix)
        self._last_loop, self._last = loop, found
        return found

    async def aclose(self) -> None:
        """Close every loop's client: this loop's here, a live loop's on its own thread."""
        here = asyncio.get_running_loop()
        for loop, lc in list(self._by_loop.items()):
            if loop is here:
                await lc.aclose()
            elif loop.is_running():
                done = asyncio.run_coroutine_threadsafe(lc.aclose(), loop)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.wrap_future(done), 5.0)
        self._by_loop.clear()
        self._last = self._last_loop = None
