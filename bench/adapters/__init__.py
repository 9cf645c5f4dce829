"""Adapter registry. A new system adds one module here and one line below.

An adapter is named on the command line as `name` or `name:key=value,key=value`
(e.g. `baton-sqlite:concurrency=50`); the options reach the adapter in both the
orchestrator and the worker processes.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from .base import Adapter, Client

ADAPTERS: dict[str, str] = {
    "baton-sqlite": "bench.adapters.baton_sqlite:BatonSQLite",
    "huey-sqlite": "bench.adapters.huey_sqlite:HueySQLite",
    "huey-redis": "bench.adapters.huey_redis:HueyRedis",
    "huey-postgres": "bench.adapters.huey_postgres:HueyPostgres",
    "raw-sqlite": "bench.adapters.raw_sqlite:RawSQLite",
    "celery": "bench.adapters.celery_redis:CeleryRedis",
    "rq": "bench.adapters.rq_redis:RQRedis",
    "arq": "bench.adapters.arq_redis:ArqRedisAdapter",
    "dramatiq": "bench.adapters.dramatiq_redis:DramatiqRedis",
    "taskiq": "bench.adapters.taskiq_redis:TaskiqRedis",
    "procrastinate": "bench.adapters.procrastinate_pg:ProcrastinatePG",
    "raw-pg": "bench.adapters.raw_pg:RawPG",
    "raw-redis": "bench.adapters.raw_redis:RawRedis",
}
# baton's PostgreSQL and Redis adapters come with their backends; registered when present
# (the class is found by itself: the module's one Adapter subclass).
_HERE = Path(__file__).resolve().parent
for _name, _module in (("baton-postgres", "baton_postgres"), ("baton-redis", "baton_redis")):
    if (_HERE / f"{_module}.py").exists():
        ADAPTERS[_name] = f"bench.adapters.{_module}"
BATON_STORES = {"baton-sqlite": "sqlite", "baton-postgres": "postgres", "baton-redis": "redis"}


def parse(spec: str) -> tuple[str, dict[str, str]]:
    name, _, rest = spec.partition(":")
    if name not in ADAPTERS:
        raise SystemExit(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}")
    options = {}
    for part in filter(None, rest.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise SystemExit(f"adapter option {part!r} in {spec!r} is not key=value")
        options[key.strip()] = value.strip()
    return name, options


def _adapter_class(target: str) -> type[Adapter]:
    module_name, _, cls = target.partition(":")
    module = importlib.import_module(module_name)
    if cls:
        found: type[Adapter] = getattr(module, cls)
        return found
    own = [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, Adapter) and c.__module__ == module_name and not inspect.isabstract(c)
    ]
    if len(own) != 1:
        raise SystemExit(f"{module_name}: expected one Adapter subclass, found {len(own)}")
    return own[0]


def load(spec: str, workdir: Path) -> Adapter:
    name, options = parse(spec)
    adapter = _adapter_class(ADAPTERS[name])(workdir, options)
    adapter.name = spec
    if name in BATON_STORES:  # grouping in the tables, whatever the module says
        adapter.role, adapter.store = "baton", BATON_STORES[name]
    return adapter


__all__ = ["ADAPTERS", "Adapter", "Client", "load", "parse"]
