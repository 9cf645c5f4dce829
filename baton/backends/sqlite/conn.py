"""One SQLite connection on its own thread, with group commit.

Write operations queued while a transaction is open are committed together: concurrent
settles from many running jobs share one fsync, which is what lets a durable
(`synchronous=FULL`) queue beat a non-durable one. Each operation runs in its own SAVEPOINT,
so one that raises (say `LeaseLost`) rolls back alone and the rest still commit. A caller's
future is resolved only after COMMIT returns: durable before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

_MAX_BATCH = 256
_STOP = object()


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-16000")
    return conn


class Connection:
    def __init__(self, path: str) -> None:
        self._path = path
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"baton-sqlite:{path}", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        self.after_commit: Callable[[], None] | None = None

    async def write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(op, True)  # type: ignore[no-any-return]

    async def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(op, False)  # type: ignore[no-any-return]

    async def _submit(self, op: Op, write: bool) -> Any:
        if not self._thread.is_alive():
            raise RuntimeError("the SQLite backend is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._queue.put((op, write, loop, fut))
        return await fut

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10)

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = connect(self._path)
        except BaseException as exc:  # surfaced by __init__
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < _MAX_BATCH:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(nxt)
                reads = [b for b in batch if not b[1]]
                writes = [b for b in batch if b[1]]
                done = [(loop, fut, *_call(conn, op)) for op, _, loop, fut in reads]
                if writes:
                    done.extend(self._commit(conn, writes))
                _resolve_all(done)
        finally:
            conn.close()

    def _commit(self, conn: sqlite3.Connection, writes: list[Any]) -> list[Any]:
        outcomes: list[tuple[Any, BaseException | None]] = []
        alone = len(writes) == 1  # no savepoint needed: its failure rolls back everything
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op, *_ in writes:
                if not alone:
                    conn.execute("SAVEPOINT op")
                value, exc = _call(conn, op)
                if not alone:
                    if exc is not None:
                        conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                outcomes.append((value, exc))
            if alone and outcomes[0][1] is not None:
                conn.execute("ROLLBACK")
            else:
                conn.execute("COMMIT")
        except BaseException as exc:  # the whole batch failed (disk, lock timeout)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(loop, fut, None, exc) for _, _, loop, fut in writes]
        if self.after_commit is not None:
            self.after_commit()
        return [
            (loop, fut, value, error)
            for (_, _, loop, fut), (value, error) in zip(writes, outcomes, strict=True)
        ]


def _call(conn: sqlite3.Connection, op: Op) -> tuple[Any, BaseException | None]:
    try:
        return op(conn), None
    except Exception as exc:
        return None, exc


def _resolve_all(done: list[tuple[Any, asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """Hand results back: one wake-up per event loop for the whole batch, not one per op."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for loop, fut, value, exc in done:
        by_loop.setdefault(loop, []).append((fut, value, exc))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed: nobody listens
            loop.call_soon_threadsafe(_apply, items)


def _apply(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, exc in items:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)
