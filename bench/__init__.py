"""baton's benchmarks: `make bench` (runs `python -m bench.run` in bench/.venv).

One adapter module per system under `bench/adapters/`; `bench/run.py` drives the
workloads through the same procedure for each, with real worker processes.
"""
