"""The backend conformance suite against PostgreSQL: a database cloned from a migrated
template per test (see tests/pg.py)."""

from __future__ import annotations

import pytest

from baton.testing.conformance import BackendConformance


class TestPostgresConformance(BackendConformance):
    @pytest.fixture
    def store_url(self, pg_url: str) -> str:
        return pg_url
