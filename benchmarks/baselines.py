"""Baseline methods of Δ-learning cells (review section 6), by name, and their labels.

A sweep names a baseline (``[delta] baseline = "gfn1-xtb"``); a Δ cell trains its model on
target − baseline energies and forces and predicts baseline + correction, as
:class:`zoo.Delta` does. Only calculators that run without downloads are listed. Baseline
labels of a whole data set are computed once and cached as a :class:`zoo.data.Dataset` npz
in ``zoo.reference.cache_dir() / "baselines"``, keyed by the baseline and a hash of the
structures, so every size and seed of a data set (and every re-run) reuses them: tblite
costs milliseconds per structure, a sweep evaluates thousands.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

from zoo.data import Dataset
from zoo.delta import CORRECTED, baseline_labels, total_charges

#: bumped whenever a baseline's settings change, to invalidate cached labels
CACHE_VERSION = 1


def gfn1_xtb(total_charge: float):
    """GFN1-xTB through tblite at the structure's total charge (e)."""
    from tblite.ase import TBLite

    return TBLite(method="GFN1-xTB", charge=total_charge, verbosity=0)


def emt(total_charge: float):
    """ASE's EMT (Cu, Ag, Au, Ni, Pd, Pt, Al; crude H, C, N, O); it has no charge states."""
    from ase.calculators.emt import EMT

    if total_charge != 0:
        raise ValueError(f"the EMT baseline is for neutral structures only, received total charge {total_charge}")
    return EMT()


#: baseline name -> factory of a fresh ASE calculator at a given total charge (e)
BASELINES = {"gfn1-xtb": gfn1_xtb, "emt": emt}


def check_name(name: str) -> str:
    if name not in BASELINES:
        raise ValueError(f"unknown Δ baseline {name!r}; available: {sorted(BASELINES)}")
    return name


def compute(data: Dataset, name: str) -> Dataset:
    """``data``'s structures labelled with baseline ``name``: ENERGY [S] eV, FORCES [n_atoms, 3] eV/Å."""
    base = baseline_labels(data, BASELINES[check_name(name)], charged=True)
    return Dataset.from_arrays(data.numbers, data.positions, data.n_atoms, cell=data.cell, pbc=data.pbc, **base)


def fingerprint(data: Dataset) -> str:
    """A short hash of what a baseline sees: elements, positions, cells, pbc, total charges."""
    digest = hashlib.sha1()
    for array in (data.numbers, data.offsets, data.positions, data.cell, data.pbc, total_charges(data)):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def cache_path(data: Dataset, name: str) -> Path:
    from zoo.reference import cache_dir

    return cache_dir() / "baselines" / f"{check_name(name)}-v{CACHE_VERSION}-{fingerprint(data)}.npz"


def labels(data: Dataset, name: str) -> Dataset:
    """:func:`compute`, read from the cache when it was computed before."""
    path = cache_path(data, name)
    if path.is_file():
        return Dataset.load_npz(path)
    base = compute(data, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    base.save_npz(tmp)
    os.replace(tmp, path)  # atomic: a worker never reads half a file
    return base
