"""Molecular-dynamics throughput and energy conservation of an HDNNP through zoo.Calculator.

    python -m benchmarks.md_speed [--sizes 108 864 6912] [--steps 5] [--drift-ps 10]
                                  [--system cu|ethanol] [--model m.keras] [--train-seconds 300]
                                  [--no-drift] [--no-speed]

Speed: fcc Cu (a = 3.61 Å, rattled by 0.05 Å, 300 K velocities), 3³, 6³ and 12³
conventional cells (108, 864, 6912 atoms), ASE's ``VelocityVerlet`` with a 1 fs step and an
HDNNP with random weights (``zoo.create("hdnnp", elements=[29], cutoff=6.0)``, the default
ACSF set, float32: the speed does not depend on the weights). Reported per size: µs per
atom per MD step (median over ``steps`` steps after two warm-up steps that trace the
compiled function), and the parts of one step (medians over the same number of repeats on
the structure the run ends on): the neighbour list (:func:`descriptors.neighbors.neighbor_list`),
the featurization (neighbour list + ACSF values and Jacobian), the model inputs (also
collating and casting) and the compiled model call (energy, forces by the Jacobian
contraction). The neighbour-list share says what a Verlet skin could save at most.

Drift (``--system cu``, the default): NVE on Cu-108 at 300 K, 1 fs steps for ``drift_ps`` ps,
in float64, with an HDNNP trained on the built-in ``cu_emt`` data for ``train_seconds`` (or
the ``--model`` given). ``--system ethanol``: one ethanol molecule from ``ethanol_xtb`` at
300 K, 0.5 fs steps (C-H vibrations), with a SchNet trained on ``ethanol_xtb``.
Reported: the slope of a least-squares line through the total energy per atom against time
(meV/atom/ps), the RMS fluctuation of the total energy about that line, the mean
temperature, and the model's test errors. ``--no-speed`` skips the speed part.

Results go to ``--out`` (default ``results/md``): ``speed.csv``, ``drift_<system>.csv`` and a
``report.md`` with the tables of every run stored there.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from ase import units
from ase.build import bulk
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet

import zoo
from benchmarks.report import to_markdown
from benchmarks.runner import BudgetSchedule
from benchmarks.sweep import Budget
from benchmarks.timing import median_seconds
from descriptors.neighbors import neighbor_list
from zoo import keys, reference

#: conventional fcc cells per edge -> 4 n³ atoms
REPEATS = {108: 3, 864: 6, 6912: 12}


def rattled_copper(repeat: int, rng: np.random.Generator):
    """Periodic fcc Cu (a = 3.61 Å) of ``repeat``³ conventional cells (4 ``repeat``³ atoms),
    positions rattled by a normal 0.05 Å per component."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1 cell per edge, received {repeat}")
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(repeat)
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def copper(n_atoms: int, temperature: float = 300.0, seed: int = 0):
    """Rattled periodic fcc Cu with Maxwell–Boltzmann velocities (zero total momentum)."""
    if n_atoms not in REPEATS:
        raise ValueError(f"sizes must be among {sorted(REPEATS)}, received {n_atoms}")
    rng = np.random.default_rng(seed)
    atoms = rattled_copper(REPEATS[n_atoms], rng)
    thermalize_momenta(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    return atoms


def md_speed(model, n_atoms: int, steps: int) -> dict:
    """µs/atom/step of VelocityVerlet with ``zoo.Calculator(model)`` and its parts."""
    atoms = copper(n_atoms)
    calc = zoo.Calculator(model)
    atoms.calc = calc
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.run(2)  # traces the compiled function
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        dyn.run(1)
        times.append(time.perf_counter() - start)
    step = statistics.median(times)
    cutoff = model.featurizer.cutoff
    cell, pbc = atoms.cell.array, atoms.pbc
    parts = {
        "neighbor_list": lambda: neighbor_list(atoms.positions, cell, pbc, cutoff),
        "featurize": lambda: model.featurizer.featurize(atoms.numbers, atoms.positions, cell, pbc),
        "model_inputs": lambda: calc.model_inputs(atoms),
    }
    row = {"n_atoms": n_atoms, "us_atom_step": 1e6 * step / n_atoms}
    for name, fn in parts.items():
        row[f"{name}_ms"] = 1e3 * median_seconds(fn, repeats=steps, warmup=0)
    inputs = calc.model_inputs(atoms)
    compiled = model.compiled_energy_and_forces()
    row["model_call_ms"] = 1e3 * median_seconds(lambda: compiled(inputs)[keys.FORCES].numpy(), repeats=steps)
    row["step_ms"] = 1e3 * step
    row["neighbor_share"] = row["neighbor_list_ms"] / row["step_ms"]
    row["jacobian_blocks"] = len(inputs[keys.DESCRIPTORS_JACOBIAN.item])
    return row


@dataclasses.dataclass(frozen=True)
class DriftSystem:
    """What an NVE drift run trains on and integrates."""
    dataset: str
    model: str
    hyper: dict
    timestep_fs: float
    n_train: int


DRIFT_SYSTEMS = {
    "cu": DriftSystem("cu_emt", "hdnnp", {"cutoff": 6.0}, 1.0, 200),
    "ethanol": DriftSystem("ethanol_xtb", "schnet", {"cutoff": 5.0}, 0.5, 800),
}


def trained_model(system: DriftSystem, train_seconds: float, seed: int = 0):
    """The system's model (float64) fitted on its data set within ``train_seconds``;
    returns it with its test-set scores."""
    data = reference.load(system.dataset)
    order = np.random.default_rng(seed).permutation(len(data))
    n = system.n_train
    train, val, test = data[np.sort(order[:n])], data[order[n:n + 50]], data[order[-100:]]
    keras.utils.set_random_seed(seed)
    model = zoo.create(system.model, elements=data.elements, dtype="float64", **system.hyper)
    budget = Budget(epochs=1000, max_seconds=train_seconds, batch_size=8, learning_rate=3e-3)
    model.compile(optimizer=keras.optimizers.Adam(budget.learning_rate))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=budget.patience, restore_best_weights=True)
    model.fit(train, validation_data=val, epochs=budget.epochs, batch_size=budget.batch_size,
              callbacks=[BudgetSchedule(budget), stop], verbose=0, seed=seed)
    return model, model.evaluate(test, return_dict=True, verbose=0)


def starting_structure(system: DriftSystem, temperature: float, seed: int):
    """Cu-108 (rattled), or the first structure of the molecule's data set, with
    Maxwell-Boltzmann velocities and zero total momentum."""
    if system.dataset == "cu_emt":
        return copper(108, temperature, seed)
    atoms = reference.load(system.dataset).to_atoms(0)
    atoms.calc = None  # drop the stored reference labels
    thermalize_momenta(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))
    Stationary(atoms)
    return atoms


def nve_drift(model, picoseconds: float, system: DriftSystem = DRIFT_SYSTEMS["cu"], temperature: float = 300.0,
              seed: int = 1) -> dict:
    """Drift of the total energy in NVE (VelocityVerlet at the system's time step)."""
    atoms = starting_structure(system, temperature, seed)
    atoms.calc = zoo.Calculator(model)
    dyn = VelocityVerlet(atoms, timestep=system.timestep_fs * units.fs)
    total, temperatures = [], []
    stride = 10
    dyn.attach(lambda: (total.append(atoms.get_total_energy() / len(atoms)),
                        temperatures.append(atoms.get_temperature())), interval=stride)
    start = time.perf_counter()
    dyn.run(int(round(picoseconds * 1000 / system.timestep_fs)))
    wall = time.perf_counter() - start
    time_ps = np.arange(len(total)) * stride * system.timestep_fs * 1e-3
    slope, intercept = np.polyfit(time_ps, total, 1)
    residual = np.asarray(total) - (slope * time_ps + intercept)
    return {"ps": picoseconds, "drift_mev_atom_ps": 1e3 * slope,
            "fluctuation_mev_atom": 1e3 * float(np.sqrt(np.mean(residual ** 2))),
            "mean_temperature_K": float(np.mean(temperatures)), "wall_s": wall}


SPEED_CSV = "speed.csv"


def write_report(folder: Path) -> Path:
    """``report.md`` of the MD runs stored in ``folder`` (speed and every system's drift run,
    each from its latest run)."""
    text = ["# MD throughput and energy conservation", "",
            "`python -m benchmarks.md_speed` (see its docstring); each table from its latest run.", ""]
    if (folder / SPEED_CSV).is_file():
        text += ["## µs/atom/MD step, HDNNP on fcc Cu", "", to_markdown(pd.read_csv(folder / SPEED_CSV), digits=3), ""]
    drifts = sorted(folder.glob("drift_*.csv"))
    if drifts:
        table = pd.concat([pd.read_csv(p) for p in drifts], ignore_index=True)
        text += ["## NVE drift (VelocityVerlet, float64)", "", to_markdown(table, digits=4), ""]
    path = folder / "report.md"
    path.write_text("\n".join(text))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.md_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(REPEATS))
    parser.add_argument("--steps", type=int, default=5, help="timed MD steps per size")
    parser.add_argument("--drift-ps", type=float, default=10.0, help="length of the NVE run (ps)")
    parser.add_argument("--no-drift", action="store_true", help="only the speed part")
    parser.add_argument("--no-speed", action="store_true", help="only the drift part")
    parser.add_argument("--system", choices=sorted(DRIFT_SYSTEMS), default="cu", help="what the drift run integrates")
    parser.add_argument("--model", default=None, help="a saved .keras model for the drift run")
    parser.add_argument("--train-seconds", type=float, default=300.0, help="training budget without --model")
    parser.add_argument("--save", default=None, help="save the trained drift model here (.keras)")
    parser.add_argument("--out", default="results/md", help="folder of speed.csv, drift_<system>.csv, report.md")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    print(f"threads: numba {os.environ.get('NUMBA_NUM_THREADS', 'default')}, cores {os.cpu_count()}")
    if not args.no_speed:
        keras.utils.set_random_seed(0)
        fast = zoo.create("hdnnp", elements=[29], cutoff=6.0)
        rows = [md_speed(fast, n, args.steps) for n in args.sizes]
        header = list(rows[0])
        print(" | ".join(header))
        for row in rows:
            print(" | ".join(f"{row[k]:.3g}" if isinstance(row[k], float) else str(row[k]) for k in header))
        pd.DataFrame(rows).to_csv(out / SPEED_CSV, index=False)
    if args.no_drift:
        write_report(out)
        return 0
    if args.model:
        model, scores = zoo.load_model(args.model), {}
    else:
        start = time.perf_counter()
        model, scores = trained_model(DRIFT_SYSTEMS[args.system], args.train_seconds)
        print(f"trained in {time.perf_counter() - start:.0f} s; test: "
              + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
        if args.save:
            model.save(args.save)
    drift = nve_drift(model, args.drift_ps, DRIFT_SYSTEMS[args.system])
    print(", ".join(f"{k} {v:.4g}" for k, v in drift.items()))
    pd.DataFrame([{"system": args.system, "model": type(model).__name__, **drift,
                   **{f"test_{k}": v for k, v in scores.items()}}]).to_csv(out / f"drift_{args.system}.csv", index=False)
    write_report(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
