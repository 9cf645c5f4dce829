"""baton's HTTP API (FastAPI): `app.router()` to mount, `create_app` to run it alone.

Needs the `http` extra: `pip install 'baton[http]'`.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("baton's HTTP API needs FastAPI: pip install 'baton[http]'") from exc

from .auth import Caller, api_key_auth, parse_api_keys
from .router import RouterConfig, build_router
from .server import create_app

__all__ = ["Caller", "RouterConfig", "api_key_auth", "build_router", "create_app", "parse_api_keys"]
