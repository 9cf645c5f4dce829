"""`baton.current_step()`: what a running step knows about itself."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepContext:
    job_id: str
    step_key: str
    attempt: int  # 1 the first time
    tenant: str

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and crashes: hand it to external APIs (payments, LLM caches)."""
        return f"{self.job_id}:{self.step_key}"


_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "baton_current_step", default=None
)


def current_step() -> StepContext:
    """The running step's identity. Raises RuntimeError outside a step."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("baton.current_step() called outside a running step")
    return ctx


def set_current(ctx: StepContext | None) -> contextvars.Token[StepContext | None]:
    return _current.set(ctx)


def reset_current(token: contextvars.Token[StepContext | None]) -> None:
    _current.reset(token)
