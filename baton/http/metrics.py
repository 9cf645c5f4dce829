"""`GET /metrics`: store-wide gauges read at scrape time, plus this process's step timings.

Queue depth, running, waiting, oldest waiting age and jobs by end state come from the
backend on every scrape (one `queue_stats` read), so any API process reports the same
numbers however many there are. Step durations are observed where steps run: in `baton
dev` that is this process; workers expose theirs with `baton worker --metrics-port`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .. import metrics as step_metrics
from ..app import App
from ..models import QueueStats

if TYPE_CHECKING:
    from .sse import EventHub


class _Snapshot(Collector):
    """`watchers` is None for a tenant: the count spans every tenant's streams."""

    def __init__(self, stats: list[QueueStats], watchers: int | None) -> None:
        self.stats = stats
        self.watchers = watchers

    def collect(self) -> Iterator[Metric]:
        gauges = {
            "queued": GaugeMetricFamily(
                "baton_queue_depth", "Jobs queued (due or delayed).", labels=["queue"]
            ),
            "running": GaugeMetricFamily(
                "baton_queue_running", "Jobs running now.", labels=["queue"]
            ),
            "waiting": GaugeMetricFamily(
                "baton_queue_waiting", "Jobs parked on children or a sleep.", labels=["queue"]
            ),
        }
        oldest = GaugeMetricFamily(
            "baton_queue_oldest_waiting_seconds",
            "Age of the oldest due job not yet started (0 when none).",
            labels=["queue"],
        )
        ended = GaugeMetricFamily(
            "baton_jobs_ended", "Jobs kept in the store, by end state.", labels=["queue", "status"]
        )
        for s in self.stats:
            for attr, gauge in gauges.items():
                gauge.add_metric([s.queue], getattr(s, attr))
            oldest.add_metric([s.queue], s.oldest_queued_age or 0.0)
            for status in ("succeeded", "failed", "cancelled", "expired"):
                ended.add_metric([s.queue, status], getattr(s, status))
        yield from gauges.values()
        yield oldest
        yield ended
        if self.watchers is None:
            return
        watchers = GaugeMetricFamily(
            "baton_sse_watchers", "Event streams open on this API process."
        )
        watchers.add_metric([], self.watchers)
        yield watchers


async def render_metrics(app: App, tenant: str | None, hub: EventHub) -> tuple[bytes, str]:
    """The scrape for a caller whose scope is `tenant`. A tenant sees only its own queue
    series; the process-wide ones (SSE watchers, step durations of every tenant) only
    when `tenant` is None: an open API or an admin key."""
    stats = await (await app.backend()).queue_stats(tenant)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(stats, hub.watchers if tenant is None else None))
    body = generate_latest(registry)
    if tenant is None and step_metrics.REGISTRY is not None:
        body += generate_latest(step_metrics.REGISTRY)
    return body, CONTENT_TYPE_LATEST
