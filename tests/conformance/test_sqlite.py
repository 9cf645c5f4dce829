"""The backend conformance suite against SQLite: a fresh database file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.testing.conformance import BackendConformance


class TestSQLiteConformance(BackendConformance):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/baton.db"
