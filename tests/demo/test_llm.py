"""One provider against the real fake server: answers validated, failures raised in the
shapes baton's Retry classifies, and the circuit breaker."""

from __future__ import annotations

import json

import httpx
import pytest

import baton
from baton.demo.llm import (
    CircuitOpen,
    InvalidAnswer,
    Provider,
    ProviderConfig,
    parse_answer,
    providers_from_env,
)
from baton.demo.models import Chunk

from .fakellm import FakeLLM


def _provider(server: FakeLLM, **kw: object) -> Provider:
    cfg = {"name": "fake", "base_url": server.base_url, "model": "m", "timeout": 1.0} | kw
    return Provider(ProviderConfig.model_validate(cfg))


CHUNK = Chunk(index=0, text="Invoice for [EMAIL]")


async def test_a_valid_answer_names_its_analyzer(
    fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEY", "sk-1")
    answer = await _provider(fake_llm, key_env="FAKE_KEY").analyze(CHUNK)
    assert answer.document_type == "invoice" and answer.analyzer == "llm:fake/m"
    seen = fake_llm.seen[0]
    assert seen.path == "/v1/chat/completions" and seen.headers["authorization"] == "Bearer sk-1"
    assert seen.body["messages"][1]["content"] == "Invoice for [EMAIL]"
    assert seen.body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize(
    ("action", "error", "status"),
    [
        ("429", httpx.HTTPStatusError, 429),
        ("500", httpx.HTTPStatusError, 500),
        ("400", httpx.HTTPStatusError, 400),
        ("401", httpx.HTTPStatusError, 401),
        ("garbage", InvalidAnswer, None),
        ("invalid", InvalidAnswer, None),
        ("cut", httpx.RemoteProtocolError, None),
        ("hang", httpx.ReadTimeout, None),
    ],
)
async def test_failures_surface_as_classifiable_errors(
    fake_llm: FakeLLM, action: str, error: type[Exception], status: int | None
) -> None:
    fake_llm.script = [action]
    with pytest.raises(error) as info:
        await _provider(fake_llm, timeout=0.5).analyze(CHUNK)
    if status is not None:
        assert info.value.response.status_code == status  # type: ignore[attr-defined]
    if action == "429":
        assert info.value.response.headers["retry-after"] == "1"  # type: ignore[attr-defined]


async def test_the_breaker_opens_after_repeated_failures(fake_llm: FakeLLM) -> None:
    fake_llm.script = ["500"] * 3
    provider = _provider(fake_llm, failures_to_open=3, cooldown=60)
    for _ in range(3):
        with pytest.raises(httpx.HTTPStatusError):
            await provider.analyze(CHUNK)
    with pytest.raises(CircuitOpen):  # skipped without a request: its fallback runs at once
        await provider.analyze(CHUNK)
    assert len(fake_llm.seen) == 3
    assert isinstance(CircuitOpen("x"), baton.Permanent)  # so baton does not retry it


async def test_client_errors_do_not_trip_the_breaker(fake_llm: FakeLLM) -> None:
    fake_llm.script = ["400"] * 3
    provider = _provider(fake_llm, failures_to_open=2)
    for _ in range(3):
        with pytest.raises(httpx.HTTPStatusError):
            await provider.analyze(CHUNK)
    assert (await provider.analyze(CHUNK)).document_type == "invoice"


def test_answers_in_code_fences_are_accepted() -> None:
    content = '```json\n{"document_type": "letter"}\n```'
    body = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
    assert parse_answer(body).document_type == "letter"


def test_provider_configuration_is_checked() -> None:
    assert providers_from_env("") == []
    ok = providers_from_env('[{"name": "a", "base_url": "http://x/v1", "model": "m"}]')
    assert ok[0].config.rate_limit == "60/minute"
    with pytest.raises(baton.ConfigError, match="JSON list"):
        providers_from_env('[{"name": "a"}]')
    with pytest.raises(baton.ConfigError, match="unique"):
        one = {"name": "a", "base_url": "u", "model": "m"}
        providers_from_env(json.dumps([one, one]))
