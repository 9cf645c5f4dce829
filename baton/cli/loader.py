"""Find the user's `baton.App` from `module:attribute`, the way uvicorn finds an ASGI app.

Every failure is a `ConfigError` with a one-line message; only an exception raised by the
user's own module while it is imported propagates as is (its traceback is the useful part).
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

from ..app import App
from ..errors import ConfigError


def load_app(spec: str) -> App:
    """Import `module:attribute` (the attribute may be dotted) and check it is a `baton.App`."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute or module_name.startswith("."):
        raise ConfigError(
            f"APP must look like module:attribute (e.g. myproject.jobs:app), not {spec!r}"
        )
    _add_cwd_to_path()
    obj: object = _import(module_name)
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(obj, App):
        raise ConfigError(f"{spec!r} is a {type(obj).__name__}, not a baton.App")
    return obj


def open_app(spec: str | None, url: str | None) -> App:
    """The app to read the database through: the user's (to decode results by their type
    hints) when `spec` is given, else a bare one whose results decode as raw JSON.

    An explicit `url` wins over the app's own; the bare app falls back to $BATON_URL and
    then to the default SQLite file.
    """
    if spec:
        app = load_app(spec)
        if url:
            app.url = url  # nothing has connected yet: App opens its backend on first use
        return app
    return App(url)


def _add_cwd_to_path() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


def _import(module_name: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise ConfigError(
                f"no module named {module_name!r} (looked in {os.getcwd()} and sys.path)"
            ) from None
        raise ConfigError(f"importing {module_name!r} failed: {exc}") from None
