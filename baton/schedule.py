"""Cron schedules: when the ticks of `@app.pipeline(schedule="0 3 * * *")` fall.

Every worker that serves a scheduled pipeline's queue enqueues each tick with the tick
itself as the idempotency key, so a tick runs exactly once however many workers are up,
and keeps running while any one of them is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]

MISFIRE_GRACE = timedelta(seconds=60)  # a tick missed by longer than this is skipped


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron expression (5 fields, or 6 with seconds last) read in a time zone."""

    expr: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expr):
            raise ValueError(f"bad cron schedule {self.expr!r}: expected e.g. '0 3 * * *'")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None

    def previous(self, now: datetime) -> datetime:
        """The latest tick at or before `now` (an aware datetime)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if croniter.match(self.expr, local.replace(microsecond=0)) and local.microsecond == 0:
            return local
        tick: datetime = croniter(self.expr, local).get_prev(datetime)
        return tick

    def next(self, now: datetime) -> datetime:
        """The first tick after `now`."""
        tick: datetime = croniter(self.expr, now.astimezone(ZoneInfo(self.timezone))).get_next(
            datetime
        )
        return tick

    def key(self, name: str, tick: datetime) -> str:
        """The idempotency key of one tick: the same on every worker."""
        return f"schedule:{name}:{tick.isoformat()}"
