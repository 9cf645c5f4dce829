"""PostgreSQL for the tests: one migrated template per test session, and a fresh database
cloned from it for each test (`CREATE DATABASE … TEMPLATE`), dropped afterwards (both in
helper threads, ahead of and behind the tests, so they cost the run little time).

The server is $BATON_TEST_POSTGRES (default the local one, 127.0.0.1:5432). When it does not
answer, PostgreSQL tests skip with one line; with BATON_REQUIRE_SERVERS=1 (CI) they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("BATON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
POOL = "pool_size=3"  # max_connections is shared by everyone on the server: stay small

_reachable: str | None = None  # "" when it answered, else why not


def _with_db(url: str, db: str, query: str = "") -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}", query=query))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def require_postgres() -> None:
    """Skip (or, with BATON_REQUIRE_SERVERS=1, fail) when the server does not answer."""
    global _reachable
    if _reachable is None:
        try:
            with psycopg.connect(ADMIN_URL, connect_timeout=3):
                _reachable = ""
        except Exception as exc:
            _reachable = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    if _reachable:
        where = urlsplit(ADMIN_URL).netloc.split("@")[-1]
        message = f"PostgreSQL not reachable at {where} ({_reachable})"
        if os.environ.get("BATON_REQUIRE_SERVERS") == "1":
            pytest.fail(message + " and BATON_REQUIRE_SERVERS=1")
        pytest.skip(message)


def create_database(name: str, template: str | None = None) -> None:
    with _admin() as conn:
        clause = f" TEMPLATE {template}" if template else ""
        conn.execute(f"CREATE DATABASE {name}{clause}")


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def url_of(name: str) -> str:
    return _with_db(ADMIN_URL, name, POOL)


class _Spares:
    """Databases cloned ahead of need, and dropped behind: a clone takes a few hundred ms
    of mostly server time, so a helper thread makes the next ones while tests run."""

    AHEAD = 2

    def __init__(self, template: str) -> None:
        self.template = template
        self.ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.AHEAD)
        self.drops: queue.Queue[str | None] = queue.Queue()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._make, daemon=True, name="pg-spares"),
            threading.Thread(target=self._drop, daemon=True, name="pg-drops"),
        ]
        for t in self.threads:
            t.start()

    def _make(self) -> None:
        while not self.stopping.is_set():
            name = f"baton_t_{uuid.uuid4().hex[:12]}"
            try:
                create_database(name, template=self.template)
            except Exception as exc:
                self.ready.put(exc)
                return
            self.ready.put(name)  # blocks while AHEAD are waiting
            if self.stopping.is_set():
                self.drops.put(name)

    def _drop(self) -> None:
        while (name := self.drops.get()) is not None:
            with contextlib.suppress(Exception):
                drop_database(name)

    def take(self) -> str:
        item = self.ready.get(timeout=120)
        if isinstance(item, BaseException):
            raise item
        return item

    def discard(self, name: str) -> None:
        self.drops.put(name)

    def close(self) -> None:
        self.stopping.set()
        while True:  # unblock the maker and collect what it made
            try:
                item = self.ready.get(timeout=0.5)
            except queue.Empty:
                if not self.threads[0].is_alive():
                    break
                continue
            if isinstance(item, str):
                self.drops.put(item)
        self.threads[0].join(timeout=30)
        self.drops.put(None)
        self.threads[1].join(timeout=60)


@pytest.fixture(scope="session")
def pg_spares() -> Iterator[_Spares]:
    """A database migrated once, to clone for each test; unique to this session, so
    several test runs can share one server."""
    require_postgres()
    from baton.backends.postgres import PostgresBackend

    name = f"baton_t_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    create_database(name)
    spares = None
    try:

        async def migrate() -> None:
            backend = PostgresBackend(url_of(name))
            try:
                await backend.migrate()
            finally:
                await backend.aclose()

        asyncio.run(migrate())
        spares = _Spares(name)
        yield spares
    finally:
        if spares is not None:
            spares.close()
        drop_database(name)


@pytest.fixture
def pg_url(pg_spares: _Spares) -> Iterator[str]:
    """A fresh database cloned from the migrated template, for one test."""
    name = pg_spares.take()
    try:
        yield url_of(name)
    finally:
        pg_spares.discard(name)
