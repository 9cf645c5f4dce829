"""Shared fixtures. Backends are parametrized here: a new backend adds itself to BACKENDS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import baton
from tests.pg import pg_spares, pg_url  # noqa: F401  (fixtures)
from tests.redis_store import redis_url

BACKENDS = ["sqlite", "postgres", "redis"]


@pytest.fixture(params=BACKENDS)
def backend_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    kind = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/baton.db"
    elif kind == "postgres":
        yield str(request.getfixturevalue("pg_url"))
    elif kind == "redis":
        with redis_url() as url:
            yield url
    else:
        raise AssertionError(kind)


@pytest.fixture
async def app(backend_url: str) -> AsyncIterator[baton.App]:
    a = baton.App(backend_url)
    yield a
    await a.aclose()


@pytest.fixture
def run_burst() -> Callable[..., object]:
    """Run an in-process worker until the queues are drained (arq's burst mode)."""

    async def run(app: baton.App, **config: object) -> baton.Worker:
        cfg = baton.WorkerConfig(burst=True, **config)  # type: ignore[arg-type]
        return await baton.run_worker(app, cfg)

    return run
