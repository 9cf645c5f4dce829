"""JSON in, typed values out. Never pickle: whoever can write to the queue must not run code.

Encoding accepts what Pydantic can serialize (models, dataclasses, datetimes, UUIDs,
builtins). Decoding is driven by type hints, so a replayed step returns the same type
it returned the first time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import lru_cache
from typing import Any, get_type_hints

import pydantic
import pydantic_core

from .errors import PayloadError


def encode(value: Any, what: str = "value") -> str:
    try:
        return pydantic_core.to_json(value).decode()
    except (pydantic_core.PydanticSerializationError, TypeError, ValueError) as exc:
        raise PayloadError(f"{what} cannot be encoded as JSON: {exc}") from None


@lru_cache(maxsize=1024)
def _adapter(hint: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(hint)


def decode(text: str, hint: Any = Any) -> Any:
    if hint is Any or hint is inspect.Parameter.empty:
        return pydantic_core.from_json(text)
    return _adapter(hint).validate_json(text)


def validate(value: Any, hint: Any) -> Any:
    if hint is Any or hint is inspect.Parameter.empty:
        return value
    return _adapter(hint).validate_python(value)


class Signature:
    """A function's parameters and return type, resolved once, for binding and decoding."""

    def __init__(self, fn: Callable[..., Any], skip_first: bool = False) -> None:
        sig = inspect.signature(fn)
        try:
            hints = get_type_hints(fn)
        except Exception:  # unresolvable forward refs: fall back to raw JSON
            hints = {}
        params = list(sig.parameters.values())
        if skip_first:
            params = params[1:]
        self._sig = sig.replace(parameters=params)
        self.params = {p.name: hints.get(p.name, Any) for p in params}
        self.required = [
            p.name
            for p in params
            if p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        self.returns = hints.get("return", Any)
        self.name = getattr(fn, "__qualname__", repr(fn))

    def input_model(self, title: str) -> type[pydantic.BaseModel]:
        """A Pydantic model of the parameters: validates a JSON object of them by name (the
        HTTP API's 422 names the field) and is their schema in OpenAPI."""
        fields: dict[str, Any] = {}
        for p in self._sig.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            hint = self.params.get(p.name, Any)
            default = ... if p.default is inspect.Parameter.empty else p.default
            fields[p.name] = (hint, default)
        config = pydantic.ConfigDict(extra="forbid", title=title)
        return pydantic.create_model(title, __config__=config, **fields)

    def warm(self) -> None:
        """Build the type adapters now (a worker does this at start, not on its first job)."""
        for hint in (*self.params.values(), self.returns):
            if hint is not Any and hint is not inspect.Parameter.empty and hint is not None:
                _adapter(hint)

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise PayloadError(f"bad arguments for {self.name}: {exc}") from None
        bound.apply_defaults()
        return dict(bound.arguments)

    def encode_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return encode(self.bind(args, kwargs), f"arguments of {self.name}")

    def decode_args(self, text: str) -> dict[str, Any]:
        raw = pydantic_core.from_json(text)
        if not isinstance(raw, dict):
            raise PayloadError(f"arguments of {self.name} must be a JSON object")
        out: dict[str, Any] = {}
        for name, value in raw.items():
            hint = self.params.get(name, Any)
            out[name] = validate(value, hint)
        return out

    def decode_result(self, text: str) -> Any:
        hint = self.returns
        if hint is None or hint is type(None):
            return None
        return decode(text, hint)
