"""The LLM provider chain: OpenAI-compatible chat completions over httpx.

Groq, xAI, Gemini (its OpenAI endpoint), OpenAI, vLLM and Ollama all speak this API, so a
provider is just a base URL, a model and the name of the environment variable that holds
its key. `$BATON_DEMO_LLM_PROVIDERS` is a JSON list, tried in order:

    [{"name": "groq", "base_url": "https://api.groq.com/openai/v1",
      "model": "llama-3.1-8b-instant", "key_env": "GROQ_API_KEY",
      "rate_limit": "30/minute", "timeout": 30},
     {"name": "local", "base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2"}]

Each provider becomes a baton step (pipeline.py) with its own `rate_limit`, `timeout` and
`retry`, the next providers as its `fallback`; when all of them give up, the pipeline runs
the offline analyzer and notes why. baton's Retry
classifies the failures: 429 (honouring Retry-After), 5xx, timeouts and cut connections are
retried; 400 and 401 are not. An answer that is not JSON or does not validate against
`Analysis` raises `InvalidAnswer`, which is retried, then given up (and reported) like any
other failure. A provider that keeps failing trips its circuit breaker: for `cooldown`
seconds this worker skips it at once instead of waiting on it.

Only scrubbed text is ever sent: the parse step scrubs before its result leaves the process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic

import baton

from .models import Analysis, Chunk

SYSTEM_PROMPT = (
    "You triage and extract fields from business documents. Personal data has been "
    "replaced by placeholders such as [EMAIL]; keep them as they are. Answer with one JSON "
    "object only, with these keys: document_type (invoice, receipt, contract, report, "
    "letter, form, transcript, regulation or unknown), parties (list of {name, role}), "
    "dates (list of YYYY-MM-DD), amounts (list of {value, currency, label}), total "
    "({value, currency, label} or null)."
)


class InvalidAnswer(Exception):
    """The provider answered, but not with a valid `Analysis` (retried, then reported)."""


class CircuitOpen(baton.Permanent):
    """The provider failed too often lately; skipped (its fallback runs) until it cools down."""


class ProviderConfig(pydantic.BaseModel):
    name: str
    base_url: str
    model: str
    key_env: str | None = None
    rate_limit: str | None = "60/minute"
    timeout: float = 30.0
    attempts: int = 3
    failures_to_open: int = 5
    cooldown: float = 60.0


@dataclass(slots=True)
class Breaker:
    """Consecutive failures open the circuit for `cooldown` seconds (per worker process)."""

    threshold: int
    cooldown: float
    failures: int = 0
    open_until: float = 0.0

    def check(self, name: str) -> None:
        if time.monotonic() < self.open_until:
            raise CircuitOpen(f"provider {name} is failing; skipped until it cools down")

    def record(self, ok: bool) -> None:
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown
            self.failures = 0


@dataclass(slots=True)
class Provider:
    config: ProviderConfig
    breaker: Breaker = field(init=False)

    def __post_init__(self) -> None:
        self.breaker = Breaker(self.config.failures_to_open, self.config.cooldown)

    @property
    def label(self) -> str:
        return f"llm:{self.config.name}/{self.config.model}"

    async def analyze(self, chunk: Chunk) -> Analysis:
        """One attempt: ask the provider, validate the answer, feed the breaker."""
        self.breaker.check(self.config.name)
        try:
            answer = await self._ask(chunk)
        except Exception as exc:
            status = baton_status(exc)
            if status is None or status >= 500 or status == 429:
                self.breaker.record(False)  # the provider's fault, not the request's
            raise
        self.breaker.record(True)
        return answer.model_copy(update={"analyzer": self.label, "note": None})

    async def _ask(self, chunk: Chunk) -> Analysis:
        cfg = self.config
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(cfg.key_env, "") if cfg.key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        # lets a provider drop a duplicate of a retried request; none outside a step
        with contextlib.suppress(RuntimeError):
            headers["Idempotency-Key"] = baton.current_step().idempotency_key
        body = {
            "model": cfg.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": chunk.text},
            ],
        }
        url = cfg.base_url.rstrip("/") + "/chat/completions"
        async with httpx.AsyncClient(timeout=cfg.timeout) as client:
            response = await client.post(url, json=body, headers=headers)
            response.raise_for_status()
            return parse_answer(response.content)


def baton_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


def parse_answer(raw: bytes) -> Analysis:
    """The chat completion's message content, validated as an `Analysis`."""
    try:
        body: Any = json.loads(raw)
        content = body["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidAnswer(f"not a chat completion ({type(exc).__name__})") from None
    if not isinstance(content, str):
        raise InvalidAnswer("the completion has no text content")
    try:
        return Analysis.model_validate_json(_FENCE.sub("", content))
    except pydantic.ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(root)" for e in exc.errors()[:5])
        raise InvalidAnswer(f"the answer does not match the schema (at {fields})") from None


def providers_from_env(value: str | None = None) -> list[Provider]:
    """Providers from $BATON_DEMO_LLM_PROVIDERS (a JSON list); none means offline."""
    raw = value if value is not None else os.environ.get("BATON_DEMO_LLM_PROVIDERS", "")
    if not raw.strip():
        return []
    try:
        items = json.loads(raw)
        configs = [ProviderConfig.model_validate(item) for item in items]
    except (ValueError, TypeError, pydantic.ValidationError) as exc:
        raise baton.ConfigError(
            f"BATON_DEMO_LLM_PROVIDERS must be a JSON list of providers: {exc}"
        ) from None
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise baton.ConfigError("BATON_DEMO_LLM_PROVIDERS: provider names must be unique")
    return [Provider(c) for c in configs]
