"""Adapter registry. A new system adds one module here and one line below.

An adapter is named on the command line as `name` or `name:key=value,key=value`
(e.g. `baton-sqlite:concurrency=50`); the options reach the adapter in both the
orchestrator and the worker processes.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import Adapter, Client

ADAPTERS: dict[str, str] = {
    "baton-sqlite": "bench.adapters.baton_sqlite:BatonSQLite",
    "baton-postgres": "bench.adapters.baton_postgres:BatonPostgres",
    "baton-redis": "bench.adapters.baton_redis:BatonRedis",
    "huey-sqlite": "bench.adapters.huey_sqlite:HueySQLite",
    "raw-sqlite": "bench.adapters.raw_sqlite:RawSQLite",
}


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


def load(spec: str, workdir: Path) -> Adapter:
    name, options = parse(spec)
    module, _, cls = ADAPTERS[name].partition(":")
    adapter: Adapter = getattr(importlib.import_module(module), cls)(workdir, options)
    adapter.name = spec
    return adapter


__all__ = ["ADAPTERS", "Adapter", "Client", "load", "parse"]
