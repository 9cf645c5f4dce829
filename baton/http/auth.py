"""Who is calling, as a tenant. The built-in scheme is API keys from `BATON_API_KEYS`
(`key1:tenant1,key2:tenant2`, sent as `Authorization: Bearer key1`); any FastAPI
dependency that returns a `Caller` replaces it (JWT, sessions, the app's own users).

With no keys configured the API is open and single-tenant: fine on a laptop, and said
loudly at start so it never reaches production by accident.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import ConfigError
from .problems import fail

log = logging.getLogger("baton.http")

OPEN_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Caller:
    """`tenant` owns what the caller enqueues; `scope` is what it may see (None: every
    tenant, only in open mode or for an operator the app's own auth lets through)."""

    tenant: str
    scope: str | None


AuthDependency = Callable[..., Caller | Awaitable[Caller]]


ADMIN = "*"  # `key:*` in BATON_API_KEYS: an admin key, which sees every tenant


def parse_api_keys(text: str) -> dict[str, str]:
    """`key1:tenant1,key2:tenant2` (a tenant `*` marks an admin key); a key listed
    twice is refused, since silently keeping the last would hand it to the wrong tenant."""
    keys: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, tenant = item.partition(":")
        if not sep or not key.strip() or not tenant.strip():
            raise ConfigError("BATON_API_KEYS must look like key1:tenant1,key2:tenant2")
        if key.strip() in keys:
            raise ConfigError("BATON_API_KEYS lists one key twice: each key names one tenant")
        keys[key.strip()] = tenant.strip()
    return keys


_bearer = HTTPBearer(auto_error=False, description="An API key from BATON_API_KEYS")


def api_key_auth(keys: Mapping[str, str] | None = None) -> AuthDependency:
    """The built-in scheme: `keys` maps API key to tenant (default: $BATON_API_KEYS)."""
    if keys is None:
        keys = parse_api_keys(os.environ.get("BATON_API_KEYS", ""))
    table = dict(keys)
    if not table:
        log.warning("BATON_API_KEYS is not set: the baton API is open and single-tenant")

        async def open_access() -> Caller:  # async: a sync dependency costs a thread hop
            return Caller(OPEN_TENANT, None)

        return open_access

    pairs = [(k.encode(), t) for k, t in table.items()]

    async def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Caller:
        if credentials is None:
            raise fail(
                401,
                "unauthorized",
                "missing API key: send Authorization: Bearer <key>",
                {"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode()
        tenant = None
        for key, owner in pairs:  # compare with every key, so timing says nothing
            if hmac.compare_digest(key, given):
                tenant = owner
        if tenant is None:
            raise fail(401, "unauthorized", "invalid API key", {"WWW-Authenticate": "Bearer"})
        if tenant == ADMIN:  # sees every tenant; enqueues under the open-mode tenant
            return Caller(OPEN_TENANT, None)
        return Caller(tenant, tenant)

    return check
