"""The nnp-zoo benchmark harness: ``python -m benchmarks run SWEEP.toml``."""

from benchmarks.runner import run, write_results
from benchmarks.sweep import load_sweep

__all__ = ["run", "write_results", "load_sweep"]
