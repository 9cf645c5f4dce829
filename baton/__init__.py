"""baton: durable, checkpointed pipelines for long AI and document work, off the web process."""

from .app import App
from .engine.context import Context
from .engine.current import StepContext, current_step
from .engine.registry import Pipeline, Step, Task
from .errors import (
    BackendUnavailable,
    BatonError,
    ConfigError,
    IdempotencyKeyReused,
    JobFailed,
    JobNotFound,
    LeaseLost,
    NonDeterminismError,
    PayloadError,
    Permanent,
    StepFailed,
    UnknownPipeline,
)
from .job import Job, StepInfo
from .models import Status
from .retry import Retry
from .worker import Worker, WorkerConfig, run_worker

__version__ = "0.1.0"

__all__ = [
    "App",
    "BackendUnavailable",
    "BatonError",
    "ConfigError",
    "Context",
    "IdempotencyKeyReused",
    "Job",
    "JobFailed",
    "JobNotFound",
    "LeaseLost",
    "NonDeterminismError",
    "PayloadError",
    "Permanent",
    "Pipeline",
    "Retry",
    "Status",
    "Step",
    "StepContext",
    "StepFailed",
    "StepInfo",
    "Task",
    "UnknownPipeline",
    "Worker",
    "WorkerConfig",
    "current_step",
    "run_worker",
]
