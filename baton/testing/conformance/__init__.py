"""The backend conformance suite: one pytest class every backend must pass (as Huey does).

It drives the `Backend` Protocol directly, never through App or Worker, one behaviour per
test. A backend adopts it by subclassing and providing a fresh, empty store per test:

    from baton.testing.conformance import BackendConformance

    class TestSQLiteConformance(BackendConformance):
        @pytest.fixture
        def store_url(self, tmp_path: Path) -> str:
            return f"sqlite:///{tmp_path}/baton.db"

`store_url` is the one override (a PostgreSQL subclass yields a database cloned from a
migrated template, a Redis one a flushed database). `open_backend(url)` may be overridden
too, when a backend is not built from its URL alone. Several instances opened on the same
`store_url` stand for several processes sharing one store.

The tests live in one module per area; `BackendConformance` gathers them all.
"""

from __future__ import annotations

from .callbacks import CallbackTests
from .control import ControlTests
from .harness import Harness, eventually, new_job
from .leases import LeaseTests
from .limits import LimitTests
from .settle import SettleTests
from .store import StoreTests

__all__ = ["BackendConformance", "Harness", "eventually", "new_job"]


class BackendConformance(
    StoreTests, LeaseTests, SettleTests, ControlTests, LimitTests, CallbackTests
):
    """Every behaviour the Backend Protocol promises. Subclass it and override `store_url`."""
