"""The connection pool, and the one place driver errors become baton's.

Every backend operation is a function of one connection, run by `Database.run` inside one
transaction (or as one autocommit statement). A deadlock or serialization failure is retried
on the spot: the whole transaction rolled back, so running it again is safe. A lost or
refused connection becomes `BackendUnavailable`; reads are retried once first, since a
pool that outlived a server restart hands out dead connections until it has checked them.
A full pool is not an outage: when `pool_timeout` passes with every connection busy, one
direct connection probes the server, and while it answers the request waits on, up to
`pool_wait` seconds in all (a flood must queue, not turn into 503s with the server up).
Claims are the exception: `run_own` runs them on one connection of their own, so a worker's
next claim never queues behind its own burst of settles (W3 in bench/: 0.71 s -> 0.59 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pgerrors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ...errors import BackendUnavailable, ConfigError
from .. import redact

T = TypeVar("T")
Conn = psycopg.AsyncConnection[Any]
Op = Callable[[Conn], Awaitable[T]]

log = logging.getLogger("baton.postgres")

_RETRIES = 8  # deadlock / serialization failures in a row before giving up
_PROBE_TIMEOUT = 10.0  # seconds for the direct connection that tells busy from down


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Options read from the URL's query (`?pool_size=10&pool_min=1&pool_timeout=5`,
    `pool_max` an alias of `pool_size`); the rest of the URL goes to libpq unchanged."""

    conninfo: str
    max_size: int = 10
    min_size: int = 1
    timeout: float = 5.0  # seconds per wait for a connection before probing the server
    wait: float = 60.0  # seconds in all to wait for a connection while the server is up


def parse_url(url: str) -> PoolConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"not a PostgreSQL URL: {redact(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k.startswith("pool_")}
    theirs = dict((k, v) for k, v in query if not k.startswith("pool_"))
    theirs.setdefault("application_name", "baton")
    theirs.setdefault("connect_timeout", "5")
    conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(theirs)))
    unknown = set(ours) - {"pool_size", "pool_max", "pool_min", "pool_timeout", "pool_wait"}
    if unknown:
        raise ConfigError(f"unknown PostgreSQL URL option(s): {', '.join(sorted(unknown))}")
    if "pool_size" in ours and "pool_max" in ours and ours["pool_size"] != ours["pool_max"]:
        raise ConfigError(f"pool_size and pool_max disagree in {redact(url)!r}")
    try:
        max_size = int(ours.get("pool_size", ours.get("pool_max", 10)))
        min_size = min(max_size, int(ours.get("pool_min", 1)))
        timeout = float(ours.get("pool_timeout", 5.0))
        wait = float(ours.get("pool_wait", 60.0))
    except ValueError as exc:
        raise ConfigError(f"bad pool option in {redact(url)!r}: {exc}") from None
    if max_size < 1 or min_size < 0 or timeout <= 0 or wait < 0:
        raise ConfigError(f"pool options out of range in {redact(url)!r}")
    return PoolConfig(conninfo, max_size, min_size, timeout, wait)


def unavailable(url: str, exc: BaseException) -> BackendUnavailable:
    """The error for logs and the CLI: the driver's text is kept, redacted as a whole (it
    may quote the conninfo). The HTTP layer never shows it to callers (problems.py)."""
    return BackendUnavailable(redact(f"PostgreSQL at {url} is unavailable: {exc}".strip()))


class Database:
    def __init__(self, url: str, config: PoolConfig) -> None:
        self.url = url
        self.config = config
        self.pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            config.conninfo,
            min_size=config.min_size,
            max_size=config.max_size,
            kwargs={"autocommit": True},
            configure=_configure,
            timeout=config.timeout,
            open=False,
            name="baton",
            # give up a failing reconnection soon: the next request then connects afresh,
            # instead of waiting out the pool's exponential backoff after a restart
            reconnect_timeout=max(1.0, config.timeout),
        )
        self._opened = False
        self._checking: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[bool] | None = None  # the one server probe in flight
        self._own: Conn | None = None  # the claim loop's connection, outside the pool
        self._own_lock = asyncio.Lock()

    async def run(self, op: Op[T], tx: bool = True, retry: bool = False) -> T:
        """Run `op` on a pooled connection, in a transaction unless `tx` is False.

        `retry`: the op is safe to run twice even if the first run's commit was lost in
        transit (a read, or a write that is idempotent), so a dead connection is retried once.
        """
        if not self._opened:
            self._opened = True
            await self.pool.open(wait=False)
        failures = 0
        deadline: float | None = None  # pool_wait after the call began, set on a full pool
        attempt = 0
        while attempt < _RETRIES:
            try:
                async with self.pool.connection() as conn:
                    if not tx:
                        return await op(conn)
                    # not pipelined: psycopg's async pipeline spins on a writable socket
                    async with conn.transaction():
                        return await op(conn)
            except pgerrors.TransactionRollback:  # deadlock, serialization: nothing was kept
                await asyncio.sleep(0.001 * 2**attempt)
                attempt += 1
            except PoolTimeout as exc:  # raised before `op` ran, so waiting again is safe
                loop = asyncio.get_running_loop()
                if deadline is None:
                    deadline = loop.time() - self.config.timeout + self.config.wait
                if loop.time() < deadline and await self._server_answers():
                    log.debug("pool busy for %.1fs; waiting on", self.config.timeout)
                    continue
                self._check_soon()
                raise unavailable(self.url, exc) from exc
            except psycopg.OperationalError as exc:
                if _is_server_error(exc):
                    raise
                failures += 1
                if not retry or failures > 1:
                    self._check_soon()
                    raise unavailable(self.url, exc) from exc
                await self._check()  # drop the dead connections, then try once more
                attempt += 1
        raise unavailable(self.url, RuntimeError("too many deadlocks in a row"))

    async def run_own(self, op: Op[T]) -> T:
        """Run `op` as autocommit statements on a connection of its own, outside the pool.

        For the claim loop: an idle worker's claim then never waits behind a burst of
        settles queued for the pool, nor pays for a checkout. Not retried on a lost
        connection (a claim's commit may have landed): the next call reconnects.
        """
        async with self._own_lock:
            for attempt in range(_RETRIES):
                try:
                    if self._own is None or self._own.closed:
                        self._own = None
                        conn = await psycopg.AsyncConnection.connect(
                            self.config.conninfo, autocommit=True
                        )
                        await _configure(conn)
                        self._own = conn
                    return await op(self._own)
                except pgerrors.TransactionRollback:
                    await asyncio.sleep(0.001 * 2**attempt)
                except psycopg.OperationalError as exc:
                    if _is_server_error(exc):
                        raise
                    await self._drop_own()
                    raise unavailable(self.url, exc) from exc
                except asyncio.CancelledError:
                    # a statement cut short leaves the protocol mid-way: start afresh next time
                    if self._own is not None:
                        self._own.pgconn.finish()
                        self._own = None
                    raise
            raise unavailable(self.url, RuntimeError("too many deadlocks in a row"))

    async def _server_answers(self) -> bool:
        """Whether a fresh connection, outside the pool, gets through: tells a busy pool
        (wait on) from a server that is down or unreachable (BackendUnavailable). Requests
        that time out together share one probe, so a flood does not open one each."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._connect_once())
        return await asyncio.shield(self._probe)

    async def _connect_once(self) -> bool:
        try:
            # libpq's connect_timeout (5 s unless the URL says) bounds it; this is a backstop
            async with asyncio.timeout(max(self.config.timeout, _PROBE_TIMEOUT)):
                conn = await psycopg.AsyncConnection.connect(self.config.conninfo)
        except Exception:
            log.debug("server probe failed", exc_info=True)
            return False
        with contextlib.suppress(Exception):
            await conn.close()
        return True

    async def _drop_own(self) -> None:
        conn, self._own = self._own, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _check_soon(self) -> None:
        """Weed out the pool's dead connections (after a server restart) in the background."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check())

    async def _check(self) -> None:
        try:
            async with asyncio.timeout(self.config.timeout):
                await self.pool.check()
        except Exception:  # the server is still down: the next failure checks again
            log.debug("pool check failed", exc_info=True)

    async def close(self) -> None:
        for task in (self._checking, self._probe):
            if task is not None:
                task.cancel()
        await self._drop_own()
        await self.pool.close()


async def _configure(conn: Conn) -> None:
    """Once per new connection. baton's statements are fixed and psycopg prepares them after
    a few runs; a generic plan then serves every run, where PostgreSQL's default would plan
    the claim afresh each time (its CTEs cost ~0.5 ms to plan, 10x what they take to run)."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")


def _is_server_error(exc: psycopg.OperationalError) -> bool:
    """An error the server reported on a live connection (out of memory, disk full, a
    statement timeout): not a reachability problem, so not BackendUnavailable."""
    state = exc.sqlstate or ""
    # 08: connection exceptions; 57P0x: admin/crash shutdown, cannot connect now
    return bool(state) and not (state.startswith("08") or state.startswith("57P"))
