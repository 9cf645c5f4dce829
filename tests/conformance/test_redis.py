"""The backend conformance suite against Redis: a fresh key prefix per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.testing.conformance import BackendConformance
from tests.redis_store import redis_url


class TestRedisConformance(BackendConformance):
    @pytest.fixture
    def store_url(self) -> Iterator[str]:
        with redis_url() as url:
            yield url
