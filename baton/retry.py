"""Retry policy and error classification: a 429 is not a 400.

HTTP errors are recognised by shape (an exception with `.response.status_code`, as httpx and
requests raise), so the core needs neither library.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .errors import NonDeterminismError, PayloadError, Permanent

RETRYABLE_4XX = frozenset({408, 425, 429})  # timeout, too early, too many requests


@dataclass(frozen=True, slots=True)
class Retry:
    """How a step is retried: `attempts` in all (1 = no retry), exponential backoff with jitter.

    `retry_on` limits retries to those exception classes; `give_up_on` never retries them.
    A delay longer than `inline_max` gives the worker slot back and reschedules the job.
    """

    attempts: int = 3
    backoff: float = 2.0
    base_delay: float = 0.5
    max_delay: float = 60.0
    jitter: float = 0.25
    retry_on: tuple[type[BaseException], ...] = field(default=(Exception,))
    give_up_on: tuple[type[BaseException], ...] = field(default=())
    inline_max: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Delay before attempt `attempt + 1`, given attempt `attempt` just failed."""
        base = min(self.max_delay, self.base_delay * self.backoff ** (attempt - 1))
        base *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            base = max(base, retry_after)
        return max(0.0, base)


NO_RETRY = Retry(attempts=1)


def http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP-date), if the error has one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_retryable(exc: BaseException, policy: Retry) -> bool:
    """Permanent errors never; then `give_up_on`, then `retry_on` (which narrows all else);
    then an HTTP error by its status: 5xx, 408, 425 and 429 yes, other 4xx no. Timeouts
    and connection errors are plain exceptions: retried under the default policy."""
    if isinstance(exc, Permanent | PayloadError | NonDeterminismError):
        return False
    if policy.give_up_on and isinstance(exc, policy.give_up_on):
        return False
    if not isinstance(exc, policy.retry_on):
        return False
    status = http_status(exc)
    if status is not None:
        return status >= 500 or status in RETRYABLE_4XX
    return True


def describe(exc: BaseException) -> dict[str, Any]:
    import traceback

    info: dict[str, Any] = {
        "type": type(exc).__qualname__,
        "message": str(exc) or type(exc).__qualname__,
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }
    status = http_status(exc)
    if status is not None:
        info["http_status"] = status
    return info
