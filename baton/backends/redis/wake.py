"""Wake-ups without polling: scripts PUBLISH on `<prefix>wake:<queue>` when they make work
runnable, and each backend instance keeps one subscription for the queues it waits on.

The subscription is confirmed before a waiter looks for work, and the waiter clears its
flag before that look, so a job made runnable after the look always wakes it. When the
subscription's connection breaks (Redis restarting) it is made again and every waiter is
woken, since messages published meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("baton.redis")


class Waker:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._wanted: set[str] = set()
        self._sent: set[str] = set()  # subscribed on the current connection
        self._confirmed: set[str] = set()
        self._changed = asyncio.Condition()
        self._flag = asyncio.Event()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    def channel(self, queue: str) -> str:
        return f"{self._prefix}wake:{queue}"

    async def subscribe(self, queues: Iterable[str], timeout: float = 10.0) -> None:
        """Return once every queue's channel is subscribed (a confirmed subscription)."""
        wanted = {self.channel(q) for q in queues}
        new = wanted - self._wanted
        self._wanted |= new
        await self._resubscribe()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="baton-redis-wake")
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: wanted <= self._confirmed)

    def arm(self) -> None:
        """Forget older wake-ups: call before looking for work."""
        self._flag.clear()

    async def wait(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout)):
                await self._flag.wait()
                return True
        return False

    async def _resubscribe(self) -> None:
        missing = self._wanted - self._sent
        if missing and self._pubsub is not None:
            self._sent |= missing
            await self._pubsub.subscribe(*missing)

    async def _read(self) -> None:
        """Keep the subscription; reconnect with backoff when its connection breaks."""
        backoff = 0.05
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = self._client.pubsub()
                await self._resubscribe()
                msg = await self._pubsub.get_message(timeout=1.0)
                backoff = 0.05
            except (RedisError, OSError) as exc:
                await self._lost(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            if msg is None:
                continue
            if msg["type"] == "subscribe":
                async with self._changed:
                    self._confirmed.add(_text(msg["channel"]))
                    self._changed.notify_all()
            elif msg["type"] == "message":
                self._flag.set()

    async def _lost(self, exc: BaseException) -> None:
        log.debug("wake-up subscription lost (%s); reconnecting", exc)
        pubsub, self._pubsub = self._pubsub, None
        self._sent.clear()
        self._confirmed.clear()
        self._flag.set()  # wake-ups may have been missed: let every waiter look again
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
