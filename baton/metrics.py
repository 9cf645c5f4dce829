"""Process-local measurements the engine records as it runs steps (step durations).

Kept apart from the store: a worker process observes what it runs, and exposes it with
`baton worker --metrics-port` (or `baton dev`, where API and worker share a process).
Store-wide numbers (queue depth, jobs by end state) are read from the backend at scrape
time by the HTTP API instead. Without prometheus-client installed this records nothing.
"""

from __future__ import annotations

from typing import Any

try:
    import prometheus_client
except ImportError:  # the core runs without the `http` extra
    prometheus_client = None  # type: ignore[assignment]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

REGISTRY: Any = prometheus_client.CollectorRegistry() if prometheus_client else None
_STEP_SECONDS: Any = (
    prometheus_client.Histogram(
        "baton_step_duration_seconds",
        "How long step attempts ran, by step and outcome (ok, error).",
        ["step", "outcome"],
        buckets=BUCKETS,
        registry=REGISTRY,
    )
    if prometheus_client
    else None
)


def observe_step(step: str, outcome: str, seconds: float) -> None:
    if _STEP_SECONDS is not None:
        _STEP_SECONDS.labels(step, outcome).observe(seconds)
