"""Live job events for many watchers from one reader per process.

Every `GET /jobs/{id}/events` subscribes to an `EventHub`. The hub polls the backend once
per watched *job*, not once per watcher: a hundred browser tabs on one job cost one
query per tick, and each event is encoded as an SSE frame once, then written to every
watcher as the same bytes. Each subscriber keeps its own cursor (the last event number it
was sent), and the hub reads from the lowest cursor of a job's subscribers, so history and
live events come down the same path and nothing can fall between them. A job that is quiet
is polled less and less often (down to `idle_interval`); a new subscriber is served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ..app import App
from ..models import Event

log = logging.getLogger("baton.http.sse")

MAX_BACKLOG = 10_000  # events a slow subscriber may owe before it is dropped (it reconnects)


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, encoded once for every watcher."""

    seq: int
    type: str
    data: bytes


def frame_of(event: Event) -> Frame:
    body = json.dumps(event.as_dict(), separators=(",", ":"), default=str)
    text = f"id: {event.seq}\nevent: {event.type}\ndata: {body}\n\n"
    return Frame(event.seq, event.type, text.encode())


@dataclass(eq=False)
class Subscriber:
    cursor: int
    pending: list[Frame] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False

    def push(self, frames: list[Frame]) -> None:
        fresh = [f for f in frames if f.seq > self.cursor]
        if not fresh:
            return
        self.pending.extend(fresh)
        self.cursor = fresh[-1].seq
        if len(self.pending) > MAX_BACKLOG:
            self.dropped = True
        self.ready.set()

    async def next(self, timeout: float) -> list[Frame] | None:
        """The events owed since the last call, or None after `timeout` with nothing."""
        if not self.pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.ready.wait()
        self.ready.clear()
        batch, self.pending = self.pending, []
        return batch or None


@dataclass(eq=False)
class Channel:
    job_id: str
    subscribers: set[Subscriber] = field(default_factory=set)
    due: float = 0.0
    pause: float = 0.0


class EventHub:
    def __init__(self, app: App, interval: float = 0.05, idle_interval: float = 1.0) -> None:
        self.app = app
        self.interval = interval
        self.idle_interval = idle_interval
        self.channels: dict[str, Channel] = {}
        self.polls = 0  # backend reads made, for tests and /metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def watchers(self) -> int:
        return sum(len(c.subscribers) for c in self.channels.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str, after: int) -> AsyncIterator[Subscriber]:
        sub = Subscriber(cursor=after)
        channel = self.channels.setdefault(job_id, Channel(job_id))
        channel.subscribers.add(sub)
        channel.due, channel.pause = 0.0, self.interval  # serve the newcomer at once
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="baton-sse-hub")
        try:
            yield sub
        finally:
            channel.subscribers.discard(sub)
            if not channel.subscribers and self.channels.get(job_id) is channel:
                del self.channels[job_id]

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self.channels:
            now = time.monotonic()
            due = [c for c in self.channels.values() if c.due <= now]
            if due:
                await asyncio.gather(*(self._poll(c) for c in due))
            upcoming = min((c.due for c in self.channels.values()), default=now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, upcoming - time.monotonic())):
                    await self._wake.wait()

    async def _poll(self, channel: Channel) -> None:
        try:
            backend = await self.app.backend()
            after = min((s.cursor for s in channel.subscribers), default=0)
            self.polls += 1
            events = await backend.events(channel.job_id, after, limit=500)
        except Exception as exc:  # a store hiccup: keep the subscribers, try again later
            log.warning("reading events of %s failed: %s", channel.job_id, exc)
            events = []
            channel.pause = self.idle_interval
        else:
            frames = [frame_of(e) for e in events]
            for sub in list(channel.subscribers):
                sub.push(frames)
            more = len(events) == 500
            channel.pause = (
                0.0
                if more
                else (
                    self.interval
                    if events
                    else min(self.idle_interval, channel.pause * 1.5 or self.interval)
                )
            )
        channel.due = time.monotonic() + channel.pause
