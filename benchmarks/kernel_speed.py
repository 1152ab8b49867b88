"""Speed and memory of every descriptor kernel a model uses (values + full Jacobian).

    python -m benchmarks.kernel_speed [--repeats 7] [--sizes 2 3 5 8] [--threads 1] [--smoke]
                                      [--out results/kernels]

Systems: (a) periodic fcc Cu, 3 x 3 x 3 conventional cells (108 atoms, a = 3.61 Å, rattled
by 0.05 Å, :func:`benchmarks.descriptor_speed.copper`), cutoff 6 Å; (b) a batch of 20
ethanol molecules, each rattled by 0.05 Å, cutoff 4.5 Å, featurized one molecule per call
as a featurizer does. Each kernel gets the parameters its model builds by default
(``zoo/models``), at that cutoff; presets with their own cutoffs keep them (ANI-1x:
5.2/3.5 Å) and D2 keeps its 15 Å. The Coulomb matrix is the Ewald sum for Cu and the direct
sum for ethanol. ``inverse_distances`` and ``pip`` (1G models) apply to molecules only.
``descriptors.qeq`` has no kernel of its own: its matrix is ``coulomb_matrix`` with
Gaussian damping plus a diagonal, so it is not a separate row.

Per kernel: the median µs/atom of one call (values + COO Jacobian, including the kernel's
own setup such as the Ewald k vectors; neighbour lists are built once, outside the timing,
as in :mod:`benchmarks.descriptor_speed`), the columns of its output rows
(``values.shape[1]``, summed over a kernel's outputs, e.g. ANI's radial and angular
parts), rows and Jacobian blocks per atom, and bytes per atom of the values plus every
Jacobian array (item, atom, value, displacement), float64 as the kernels return them
(models keep float32 copies: half of it). Timings are medians over ``repeats`` rounds after
a warm-up, round-robin over the kernels of a system (a busy machine slows them alike).

Scaling: µs/atom of ACSF, DeepPot-SE and EANN against Cu size (n x n x n conventional
cells), with dscribe's ACSF (values only, n_jobs=1, same 24 functions) on the same
structures as the reference. Numba runs with ONE thread unless ``--threads 2``.

Results in ``--out`` (default ``results/kernels``): ``kernels.csv`` and ``kernel_scaling.csv``
(the two long tables, with the machine's conditions) and, made from those tables only,
``report.md`` and ``kernel_scaling.png`` (µs/atom against atoms, log-log).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Callable, NamedTuple

import numba
import numpy as np
import pandas as pd
from ase.build import molecule

from benchmarks.descriptor_speed import copper, dscribe_runner, medians
from benchmarks.report import DPI, plain_log_ticks, to_markdown
from descriptors.acsf import AcsfParams, acsf
from descriptors.ani import AniParams, ani_aev, ani_terms
from descriptors.coulomb import CoulombParams, coulomb_matrix
from descriptors.d2 import D2Params, d2
from descriptors.deeppot_se import DeepPotSeParams, deeppot_se
from descriptors.distances import pair_distances
from descriptors.dpmd import DpmdParams, dpmd
from descriptors.eann import EannParams, eann
from descriptors.internal import inverse_distances
from descriptors.neighbors import neighbor_list
from descriptors.pair_sf import PairSfParams, pair_sf
from descriptors.pip import PipBasis, pip
from descriptors.wacsf import WacsfParams, wacsf

#: Å, cutoffs of the two systems
CU_CUTOFF, ETHANOL_CUTOFF = 6.0, 4.5
#: model defaults the kernels are given (zoo/models: pair_hdnnp, pip_nn, D2Featurizer)
PAIR_CUTOFF, PIP_DEGREE, MORSE_RANGE, D2_CUTOFF = 3.5, 3, 1.5, 15.0
#: the kernels of the scaling table
SCALING_KERNELS = ("acsf", "deeppot_se", "eann")
#: name of dscribe's row in the scaling table
DSCRIBE = "dscribe acsf (values only)"
#: default and smoke-mode sizes
DEFAULTS = {"repeats": 7, "sizes": (2, 3, 5, 8), "cu_cells": 3, "n_molecules": 20}
SMOKE = {"repeats": 1, "sizes": (1, 2), "cu_cells": 1, "n_molecules": 2}
KERNELS_CSV, SCALING_CSV, REPORT, FIGURE = "kernels.csv", "kernel_scaling.csv", "report.md", "kernel_scaling.png"


class Prepared(NamedTuple):
    """One kernel set up on one structure, its neighbour list built."""

    run: Callable  #: () -> list of (values, Jacobian), one per differentiable output
    cutoff: float  #: Å, the neighbour-list cutoff (NaN: no cutoff)
    note: str  #: the parameters, in words


# --- structures -----------------------------------------------------------------------------


def ethanol(n: int, seed: int = 0) -> list:
    """``n`` copies of ethanol, each rattled by 0.05 Å (no cell, not periodic)."""
    rng = np.random.default_rng(seed)
    copies = [molecule("CH3CH2OH") for _ in range(n)]
    for atoms in copies:
        atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    return copies


def _structure(atoms) -> tuple:
    return atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc


def _elements(atoms) -> tuple[int, ...]:
    return tuple(sorted({int(z) for z in atoms.numbers}))


def _neighbors(atoms, cutoff):
    return neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)


# --- one function per kernel: (atoms, cutoff) -> Prepared ----------------------------------


def _first_two(out) -> list:
    """The (values, Jacobian) of kernels that also return indices."""
    return [(out[0], out[1])]


def _acsf(atoms, cutoff) -> Prepared:
    params = AcsfParams.auto(_elements(atoms), cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, cutoff)
    return Prepared(lambda: [acsf(*args, nb, params, device="cpu")], cutoff, f"auto, {params.n_features} functions")


def _wacsf(atoms, cutoff) -> Prepared:
    params = WacsfParams.auto(_elements(atoms), cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, cutoff)
    return Prepared(lambda: [wacsf(*args, nb, params, device="cpu")], cutoff, f"auto, {params.n_features} functions")


def _ani_params(atoms) -> AniParams:
    return AniParams.like_ani1x(_elements(atoms))


def _ani(atoms, cutoff) -> Prepared:
    params = _ani_params(atoms)
    args, nb = _structure(atoms), _neighbors(atoms, params.radial_cutoff)

    def run():
        out = ani_aev(*args, nb, params, device="cpu")
        return [(out.radial, out.radial_jac), (out.angular, out.angular_jac)]

    return Prepared(run, params.radial_cutoff, f"ANI-1x, {params.radial_cutoff}/{params.angular_cutoff} Å")


def _ani_terms(atoms, cutoff) -> Prepared:
    params = _ani_params(atoms)
    args, nb = _structure(atoms), _neighbors(atoms, params.radial_cutoff)

    def run():
        out = ani_terms(*args, nb, params, device="cpu")
        return [(out.pair, out.pair_jac), (out.triplet, out.triplet_jac)]

    return Prepared(run, params.radial_cutoff, "ANI-1x pair/triplet terms (AIMNet)")


def _pair_sf(atoms, cutoff) -> Prepared:
    params = PairSfParams.auto(_elements(atoms), PAIR_CUTOFF, cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, max(PAIR_CUTOFF, cutoff))
    return Prepared(lambda: _first_two(pair_sf(*args, nb, params)), cutoff, f"auto, pairs within {PAIR_CUTOFF} Å")


def _dpmd(atoms, cutoff) -> Prepared:
    params = DpmdParams.auto(_elements(atoms), cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, cutoff)
    return Prepared(lambda: [dpmd(*args, nb, params)], cutoff, f"auto, {params.n_slots} slots")


def _deeppot_se(atoms, cutoff) -> Prepared:
    params = DeepPotSeParams.auto(_elements(atoms), cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, cutoff)
    sel = "/".join(map(str, params.sel))
    return Prepared(lambda: _first_two(deeppot_se(*args, nb, params)), cutoff, f"auto, sel {sel}")


def _eann(atoms, cutoff) -> Prepared:
    params = EannParams.auto(_elements(atoms), cutoff)
    args, nb = _structure(atoms), _neighbors(atoms, cutoff)
    return Prepared(lambda: _first_two(eann(*args, nb, params)), cutoff,
                    f"auto, {params.n_features} factor columns per pair")


def _pair_distances(atoms, cutoff) -> Prepared:
    nb, n = _neighbors(atoms, cutoff), len(atoms)
    return Prepared(lambda: _first_two(pair_distances(nb, n, cutoff)), cutoff, "full list (message passing)")


def _coulomb(atoms, cutoff) -> Prepared:
    args = atoms.positions, atoms.cell.array, atoms.pbc
    note = "Ewald, accuracy 1e-8" if atoms.pbc.all() else "direct sum"
    return Prepared(lambda: [coulomb_matrix(*args, CoulombParams())], float("nan"), note)


def _d2(atoms, cutoff) -> Prepared:
    # s6 = 1 and a 15 Å cutoff, as D2Featurizer (PhysNet, TensorMol) builds it
    params, nb = D2Params(s6=1.0, cutoff=D2_CUTOFF), _neighbors(atoms, D2_CUTOFF)
    return Prepared(lambda: [d2(atoms.numbers, nb, params)], D2_CUTOFF, "Grimme D2, s6 = 1")


def _inverse_distances(atoms, cutoff) -> Prepared:
    return Prepared(lambda: [inverse_distances(atoms.positions)], float("nan"), "all pairs (global NN)")


def _pip(atoms, cutoff) -> Prepared:
    basis = PipBasis.generate(atoms.numbers, PIP_DEGREE)
    return Prepared(lambda: [pip(atoms.positions, basis, MORSE_RANGE)], float("nan"),
                    f"degree {PIP_DEGREE}, {basis.n_basis} polynomials")


#: every kernel a model uses, by the name of its public function
KERNELS = {"acsf": _acsf, "wacsf": _wacsf, "ani_aev": _ani, "ani_terms": _ani_terms, "pair_sf": _pair_sf,
           "dpmd": _dpmd, "deeppot_se": _deeppot_se, "eann": _eann, "pair_distances": _pair_distances,
           "coulomb_matrix": _coulomb, "d2": _d2, "inverse_distances": _inverse_distances, "pip": _pip}
#: kernels of one fixed molecule (1G models), not defined for periodic cells
MOLECULE_ONLY = ("inverse_distances", "pip")


def applicable(periodic: bool) -> list[str]:
    """Names of the kernels that apply to a periodic cell (or to a molecule)."""
    return [name for name in KERNELS if not (periodic and name in MOLECULE_ONLY)]


# --- measurements ---------------------------------------------------------------------------


def output_bytes(outputs) -> int:
    """Bytes of the values and of every Jacobian array of a kernel's outputs."""
    return sum(values.nbytes + sum(array.nbytes for array in jac if array is not None) for values, jac in outputs)


def batch_runner(prepared: list[Prepared]) -> Callable:
    """One call per structure, as a featurizer runs a batch; all their outputs in one list."""
    return lambda: [pair for p in prepared for pair in p.run()]


def set_threads(threads: int) -> None:
    """Use ``threads`` Numba threads, with a clear error where NUMBA_NUM_THREADS caps them."""
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= limit:
        raise ValueError(f"threads must be in 1..{limit} (NUMBA_NUM_THREADS={limit}), received {threads}")
    numba.set_num_threads(threads)


def kernel_row(name: str, prepared: list[Prepared], us_per_atom: float, n_atoms: int) -> dict:
    """One table row: time, shapes and memory of one kernel on a batch of structures."""
    outputs = batch_runner(prepared)()
    return {"kernel": name, "note": prepared[0].note, "cutoff_A": prepared[0].cutoff,
            "us_per_atom": us_per_atom,
            "columns": sum(values.shape[1] for values, _ in prepared[0].run()),
            "rows_per_atom": sum(len(values) for values, _ in outputs) / n_atoms,
            "blocks_per_atom": sum(len(jac.item) for _, jac in outputs) / n_atoms,
            "bytes_per_atom": output_bytes(outputs) / n_atoms}


def kernel_table(structures: list, system: str, cutoff: float, repeats: int, threads: int = 1,
                 names=None) -> pd.DataFrame:
    """Per-kernel µs/atom, columns and Jacobian bytes/atom on a batch of structures.

    Args:
        structures: ase.Atoms, all periodic or all molecules.
        system: label of the ``system`` column.
        cutoff: Å, given to every kernel with a cutoff parameter.
        repeats: timed rounds (median).
        threads: Numba threads.
        names: kernels to measure (default: all that apply).
    """
    set_threads(threads)
    names = names or applicable(bool(structures[0].pbc.any()))
    prepared = {name: [KERNELS[name](atoms, cutoff) for atoms in structures] for name in names}
    n_atoms = sum(len(atoms) for atoms in structures)
    runners = {name: batch_runner(p) for name, p in prepared.items()}
    times = medians(runners, dict.fromkeys(runners, n_atoms), repeats)
    rows = [kernel_row(name, p, times[name], n_atoms) for name, p in prepared.items()]
    return pd.DataFrame(rows).assign(system=system, atoms=n_atoms, threads=threads)


def scaling_row(n: int, repeats: int, names) -> pd.DataFrame:
    """µs/atom of ``names`` and of dscribe's ACSF on Cu with n x n x n cells."""
    atoms = copper(n)
    runners = {name: batch_runner([KERNELS[name](atoms, CU_CUTOFF)]) for name in names}
    dscribe = dscribe_runner(atoms, AcsfParams.auto([29], CU_CUTOFF), 1)
    if dscribe is not None:
        runners[DSCRIBE] = dscribe
    times = medians(runners, dict.fromkeys(runners, len(atoms)), repeats)
    return pd.DataFrame({"cells": n, "atoms": len(atoms), "kernel": list(times), "us_per_atom": list(times.values())})


def scaling_table(sizes, repeats: int, threads: int = 1, names=SCALING_KERNELS) -> pd.DataFrame:
    """Long table (cells, atoms, kernel, us_per_atom) over Cu sizes; dscribe where installed."""
    set_threads(threads)
    return pd.concat([scaling_row(n, repeats, names) for n in sizes], ignore_index=True)


class Tables(NamedTuple):
    kernels: pd.DataFrame  #: one row per (system, kernel)
    scaling: pd.DataFrame  #: one row per (Cu size, kernel)


def benchmark(repeats: int = DEFAULTS["repeats"], sizes=DEFAULTS["sizes"], threads: int = 1,
              cu_cells: int = DEFAULTS["cu_cells"], n_molecules: int = DEFAULTS["n_molecules"]) -> Tables:
    """Both tables: every kernel on Cu and on an ethanol batch, and the Cu scaling."""
    kernels = pd.concat([kernel_table([copper(cu_cells)], "Cu fcc", CU_CUTOFF, repeats, threads),
                         kernel_table(ethanol(n_molecules), "ethanol", ETHANOL_CUTOFF, repeats, threads)],
                        ignore_index=True)
    return Tables(kernels, scaling_table(sizes, repeats, threads))


def smoke(threads: int = 1) -> Tables:
    """Tiny sizes and one repeat (seconds once compiled): for tests and smoke notebooks."""
    return benchmark(threads=threads, **SMOKE)


# --- presentation ---------------------------------------------------------------------------


def machine() -> str:
    """CPUs, Numba threads and load average, the conditions of a measurement."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs, Numba {numba.__version__} with {numba.get_num_threads()} thread(s), "
            f"load average {load}")


def summary(kernels: pd.DataFrame) -> pd.DataFrame:
    """The per-kernel table as people read it: µs/atom, columns, kB/atom per system."""
    table = kernels.assign(kB_per_atom=kernels["bytes_per_atom"] / 1e3)
    columns = ["us_per_atom", "columns", "rows_per_atom", "kB_per_atom"]
    return table.set_index(["system", "kernel"])[["note", "cutoff_A", *columns]].round(2)


def scaling_summary(scaling: pd.DataFrame) -> pd.DataFrame:
    """µs/atom with one column per kernel and one row per system size, and where dscribe ran,
    how many times faster our ACSF (values + Jacobian) is than its values alone."""
    table = scaling.pivot(index="atoms", columns="kernel", values="us_per_atom")
    if DSCRIBE in table:
        table["acsf speed-up vs dscribe"] = table[DSCRIBE] / table["acsf"]
    return table.round(2)


def save_tables(tables: Tables, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tables.kernels.to_csv(folder / KERNELS_CSV, index=False)
    tables.scaling.to_csv(folder / SCALING_CSV, index=False)


def scaling_figure(scaling: pd.DataFrame):
    """µs/atom against atoms (log-log), a line per kernel."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.6), dpi=DPI)
    ax = fig.subplots()
    for kernel, line in scaling.sort_values("atoms").groupby("kernel", sort=False):
        ax.plot(line["atoms"], line["us_per_atom"], marker="o", markersize=3, label=kernel)
    ax.set(xscale="log", yscale="log", xlabel="atoms (fcc Cu, 6 Å)", ylabel="µs/atom",
           title="Descriptor kernels: cost per atom vs system size")
    plain_log_ticks(ax, sorted(scaling["atoms"].unique()))
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_report(folder) -> Path:
    """``report.md`` and the scaling figure in ``folder`` from its two CSV tables only."""
    folder = Path(folder)
    kernels, scaling = pd.read_csv(folder / KERNELS_CSV), pd.read_csv(folder / SCALING_CSV)
    per_kernel = summary(kernels).reset_index()
    per_atoms = scaling_summary(scaling).reset_index()
    conditions = kernels["machine"].iloc[0] if "machine" in kernels else "not recorded"
    text = ["# Descriptor kernels: speed and memory", "",
            "`python -m benchmarks.kernel_speed` (see its docstring). Values + full COO Jacobian per call, "
            f"median µs/atom; kB/atom of float64 values + Jacobian. Measured on: {conditions}.", "",
            to_markdown(per_kernel, digits=2), "",
            "## Against system size, with dscribe's ACSF (values only) on the same structures", "",
            to_markdown(per_atoms.rename(columns=str), digits=2), "", f"![µs/atom vs atoms]({FIGURE})", ""]
    scaling_figure(scaling).savefig(folder / FIGURE, bbox_inches="tight")
    path = folder / REPORT
    path.write_text("\n".join(text))
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"], help="timed rounds (median)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULTS["sizes"]),
                        help="Cu conventional cells per side for the scaling table")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="Numba threads (default 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (overrides the others)")
    parser.add_argument("--out", default="results/kernels", help="folder of the CSV tables, report.md and figure")
    args = parser.parse_args(argv)
    tables = smoke(args.threads) if args.smoke else benchmark(args.repeats, args.sizes, args.threads)
    conditions = machine()
    tables = Tables(tables.kernels.assign(machine=conditions), tables.scaling)
    save_tables(tables, Path(args.out))
    print(conditions)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nEvery kernel, values + Jacobian (median µs/atom; kB/atom of float64 values + Jacobian)")
        print(summary(tables.kernels).to_string())
        print("\nµs/atom against Cu system size (dscribe: values only)")
        print(scaling_summary(tables.scaling).to_string())
    print(f"\nwritten: {write_report(args.out)}")


if __name__ == "__main__":
    main()
