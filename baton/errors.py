"""The exceptions baton raises, and the ones user code may raise to steer retries.

    BatonError
     ├── ConfigError            bad URL, bad APP path, unknown backend scheme
     ├── PayloadError           a value that cannot be encoded as JSON (raised at enqueue)
     │    └── IdempotencyKeyReused  the key belongs to a different request
     │    └── ReservedKey       an idempotency key in the space baton keeps for itself
     ├── JobNotFound            no such job (or another tenant's)
     ├── BackendUnavailable     the store cannot be reached right now (HTTP 503, workers retry)
     ├── LeaseLost              a fenced write carried a stale lease token
     ├── NonDeterminismError    a replayed pipeline called a different step than it saved
     ├── StepFailed             a step gave up; carries the saved error (type, message)
     ├── JobFailed              `wait` on a job that ended failed/cancelled/expired
     └── Permanent              raise from a step to fail at once, without retries

Cancellation reaches a step as `asyncio.CancelledError` and a pipeline's suspension (waiting
for children, a durable sleep) as `Suspend`: both are BaseExceptions on purpose (as in DBOS),
so user code that catches `Exception` cannot swallow them.
"""

from __future__ import annotations

from typing import Any


class BatonError(Exception):
    """Base of every baton error; `code` is stable and maps to an HTTP status."""

    code = "baton_error"


class ConfigError(BatonError):
    code = "config_error"


class PayloadError(BatonError):
    code = "invalid_payload"


class IdempotencyKeyReused(PayloadError):
    """The idempotency key names a job made by another request (other pipeline, input,
    queue, priority or callback): answering with that job would hide the caller's bug."""

    code = "idempotency_key_reused"
    field = "Idempotency-Key"


class ReservedKey(PayloadError):
    """A caller's idempotency key starts with a prefix baton uses for its own jobs.

    Webhook deliveries are keyed `baton.callback:<job>:<seq>`: a tenant that could take
    such a key first would make the real delivery a duplicate, silently suppressing it.
    """

    code = "invalid_request"
    field = "Idempotency-Key"


class JobNotFound(BatonError):
    code = "job_not_found"


class BackendUnavailable(BatonError):
    """The store cannot be reached (connection refused or reset, server restarting).

    Transient by nature: the HTTP API answers 503 with Retry-After and workers back off
    and try again, so a database restart costs latency, never work.
    """

    code = "backend_unavailable"


class UnknownPipeline(BatonError):
    code = "unknown_pipeline"


class LeaseLost(BatonError):
    """The job is no longer ours: its lease was taken over, or it was cancelled."""

    code = "lease_lost"


class NonDeterminismError(BatonError):
    code = "non_determinism"


class Permanent(BatonError):
    """Raise (or wrap an error in) this inside a step to fail it without retrying."""

    code = "permanent"


class StepFailed(BatonError):
    """A step exhausted its retries (and fallbacks). Raised inside the pipeline."""

    code = "step_failed"

    def __init__(self, step: str, error: dict[str, Any]) -> None:
        self.step = step
        self.error = error
        super().__init__(f"step {step} failed: {error.get('type')}: {error.get('message')}")


class JobFailed(BatonError):
    code = "job_failed"

    def __init__(self, job_id: str, status: str, error: dict[str, Any] | None) -> None:
        self.job_id = job_id
        self.status = status
        self.error = error
        msg = (error or {}).get("message", "")
        super().__init__(f"job {job_id} ended {status}: {msg}".rstrip(": "))


class Suspend(BaseException):
    """Unwinds a pipeline so its worker slot is freed; the runner settles the outcome it carries."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        super().__init__()
