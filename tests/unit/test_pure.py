"""The pure modules: codec, retry classification, limits, ids, blobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

import baton
from baton import codec
from baton.blobs import BlobStore
from baton.ids import uuid7
from baton.limits import parse_rate
from baton.retry import Retry, is_retryable, retry_after


class Model(BaseModel):
    a: int
    when: dt.datetime


@dataclasses.dataclass
class Data:
    x: float
    tags: list[str]


def fn(m: Model, d: Data, n: int = 3) -> list[Model]:
    return [m]


def test_codec_round_trips_by_type_hints() -> None:
    sig = codec.Signature(fn)
    m = Model(a=1, when=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    text = sig.encode_args((m, Data(1.5, ["a"])), {})
    args = sig.decode_args(text)
    assert args == {"m": m, "d": Data(1.5, ["a"]), "n": 3}
    assert sig.decode_result(codec.encode([m])) == [m]


def test_codec_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(baton.PayloadError, match="cannot be encoded"):
        codec.encode({"f": lambda: 1})


def _http_error(status: int, headers: dict[str, str] | None = None) -> httpx.HTTPStatusError:
    req = httpx.Request("GET", "http://127.0.0.1/")
    resp = httpx.Response(status, headers=headers or {}, request=req)
    return httpx.HTTPStatusError("boom", request=req, response=resp)


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (_http_error(429), True),
        (_http_error(500), True),
        (_http_error(503), True),
        (_http_error(400), False),
        (_http_error(401), False),
        (_http_error(404), False),
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (ValueError("x"), True),
        (baton.Permanent("stop"), False),
    ],
)
def test_classification(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc, Retry()) is retryable


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after(_http_error(429, {"Retry-After": "7"})) == 7.0
    future = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    value = retry_after(
        _http_error(503, {"Retry-After": future.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    )
    assert value is not None and 25 < value <= 30
    assert retry_after(ValueError()) is None


def test_backoff_is_capped_and_respects_retry_after() -> None:
    policy = Retry(attempts=10, base_delay=1, backoff=2, max_delay=5, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    assert policy.delay(1, retry_after=9) == 9


def test_parse_rate() -> None:
    assert parse_rate("60/minute") == (60, 60.0)
    assert parse_rate("5/10s") == (5, 10.0)
    with pytest.raises(ValueError, match="bad rate limit"):
        parse_rate("fast")


def test_uuid7_is_time_ordered_and_valid() -> None:
    ids = [uuid7() for _ in range(1000)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == 1000
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


def test_blob_store_wraps_only_big_values(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path), threshold=10)
    assert store.wrap('"small"') == '"small"'
    ref = store.wrap('"' + "x" * 100 + '"')
    assert ref.startswith('{"$baton_blob": "sha256:')
    assert store.unwrap(ref) == '"' + "x" * 100 + '"'
    assert store.wrap('"' + "x" * 100 + '"') == ref  # content-addressed


def test_step_and_pipeline_declarations_validate() -> None:
    app = baton.App("sqlite:///unused.db")
    with pytest.raises(ValueError, match="process"):
        app.step(executor="process")(_async_fn)
    with pytest.raises(TypeError, match="async function"):
        app.pipeline(lambda ctx: None)

    @app.step
    def plain(x: int) -> int:
        return x

    assert plain.options.executor == "thread"
    assert plain(2) == 2  # calling a step directly just runs it


async def _async_fn() -> None:
    return None


def test_current_step_outside_a_step() -> None:
    with pytest.raises(RuntimeError, match="outside a running step"):
        baton.current_step()


def test_retry_on_narrows_everything_and_all_5xx_are_transient() -> None:
    only_keys = Retry(retry_on=(KeyError,))
    assert not is_retryable(_http_error(503), only_keys)
    assert not is_retryable(TimeoutError(), only_keys)
    assert is_retryable(KeyError("k"), only_keys)
    assert is_retryable(_http_error(507), Retry())
    assert not is_retryable(_http_error(503), Retry(give_up_on=(httpx.HTTPStatusError,)))


def test_async_step_cannot_ask_for_a_thread() -> None:
    app = baton.App("sqlite:///unused.db")
    with pytest.raises(ValueError, match="async steps run on the event loop"):
        app.step(executor="thread")(_async_fn)
