"""Tools for testing baton backends and apps.

- `baton.testing.conformance.BackendConformance`: the one suite every backend passes;
  a backend's tests subclass it and provide a fresh store (it needs pytest).
- `baton.testing.helpers`: helpers for tests that drive workers in-process.

Nothing is imported here, so `import baton.testing` never needs pytest.
"""
