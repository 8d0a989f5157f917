"""Benchmarks (run as modules, e.g. `python -m bench.loader`); not part of the package."""
