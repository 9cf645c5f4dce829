"""The app of the webhook tests, importable by worker subprocesses: fast delivery retries
so a receiver that is down, then failing, then up, is waited out in seconds."""

from __future__ import annotations

import os

import baton
from baton.webhooks import WebhookConfig

SECRET = "whsec-test-0123456789"


def make_app(url: str) -> baton.App:
    hooks = WebhookConfig(
        secret=SECRET,
        allow_private=True,  # the receiver is on loopback
        timeout=2.0,
        retry=baton.Retry(
            attempts=int(os.environ.get("HOOK_ATTEMPTS", "60")),
            base_delay=0.05,
            backoff=1.5,
            max_delay=0.5,
            jitter=0.1,
        ),
    )
    app = baton.App(url, webhooks=hooks)

    @app.task
    async def note(n: int) -> int:
        return n * 10

    @app.task(retry=baton.Retry(attempts=1))
    async def broken(n: int) -> None:
        raise ValueError(f"broken {n}")

    return app


app = make_app(os.environ.get("BATON_URL", "sqlite:///baton.db"))
