"""Every sweep shipped in benchmarks/sweeps/ parses, names registered models, built-in
reference sets (or files) and hyper-parameters of models it runs."""

from pathlib import Path

import pytest

import zoo
from benchmarks.sweep import load_sweep
from zoo import reference

SWEEPS = sorted((Path(__file__).parents[2] / "benchmarks" / "sweeps").glob("*.toml"))


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_shipped_sweep_is_valid(path):
    sweep = load_sweep(path)
    registered = zoo.registry.registered()
    names = set()
    for spec in sweep.datasets:
        assert spec.name in reference.available() or Path(spec.name).is_file(), spec.name
        names.update(sweep.model_names(registered, spec))
    assert set(sweep.hyper) <= names, sorted(set(sweep.hyper) - names)
