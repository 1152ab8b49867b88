"""Run a sweep: each cell featurizes, fits under the shared budget, evaluates and times.

Cells run on dask workers, each in a fresh process (:mod:`benchmarks.cluster`,
:mod:`benchmarks.isolated`), or one after another in this process (``workers=0``).
A failing cell is recorded with its error and does not stop the sweep. With a results
folder, every finished cell is stored as ``cells/<key>.json`` the moment it ends, and a
re-run of the same sweep takes finished cells from there instead of running them again
(the key covers model, data set, size, seed, hyper-parameters and budget, so changing any
of them runs the cell anew; failed cells are always retried). Next to it,
``cells/<key>.test.npz`` holds the cell's test predictions and references
(:func:`test_predictions`), which :func:`benchmarks.report.load_predictions` reads.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
import traceback
from pathlib import Path

import keras
import numpy as np
import pandas as pd

import zoo
from benchmarks import baselines
from benchmarks.memory import current_rss_mib, peak_rss_mib, reset_peak_rss
from benchmarks.metrics import accuracy
from benchmarks.sweep import Budget, DataSpec, Sweep
from benchmarks.timing import median_seconds
from zoo import keys, reference
from zoo.data import read
from zoo.delta import add_baseline, subtract_baseline

log = logging.getLogger(__name__)

#: test structures used for the featurization timing
TIMING_STRUCTURES = 8
#: structures per call of the inference timings: one (MD of one system) and a large batch (screening)
SMALL_BATCH, LARGE_BATCH = 1, 64
#: file-name suffix of a cell's stored test predictions, and the prefixes of their arrays
PREDICTIONS_SUFFIX = ".test.npz"
PREDICTED, REFERENCE = "predicted_", "reference_"
#: prefix of the baseline's energy and forces in the stored predictions of a Δ cell
BASELINE = "baseline_"
#: names of the per-epoch training and validation losses in the stored predictions
LOSS_CURVE, VAL_LOSS_CURVE = "loss_curve", "val_loss_curve"


def load_data(spec: DataSpec):
    """A built-in reference set (generated and cached on first use) or a file."""
    if spec.name in reference.available():
        return reference.load(spec.name, n_structures=spec.n_structures)
    return read(spec.name)


def split_data(data, spec: DataSpec, n_train: int, seed: int):
    """The same validation and test structures for every cell of a data set; the training
    set is the first ``n_train`` of the rest in a seed-dependent order."""
    order = np.random.default_rng(0).permutation(len(data))
    n_held = spec.n_val + spec.n_test
    if n_held + n_train > len(data):
        raise ValueError(f"{spec.name}: {n_train} train + {n_held} held-out structures requested, "
                         f"but the data set has {len(data)}")
    val, test, rest = order[:spec.n_val], order[spec.n_val:n_held], order[n_held:]
    train = np.random.default_rng(seed).permutation(rest)[:n_train]
    return data[np.sort(train)], data[val], data[test]


class BudgetSchedule(keras.callbacks.Callback):
    """Exponential learning-rate decay over the budget, which is spent by epochs or wall
    time, whichever runs out first (the wall time is checked after every batch, so a slow
    model stops within one batch of it, mid-epoch if need be); also records, per epoch, the
    seconds of its training batches, their number, and the seconds of its validation."""

    def __init__(self, budget: Budget):
        super().__init__()
        self.budget = budget
        self.train_seconds: list[float] = []
        self.epoch_batches: list[int] = []
        self.validation_seconds: list[float] = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def progress(self, epoch: int) -> float:
        return max(epoch / self.budget.epochs, self.elapsed() / self.budget.max_seconds)

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        ratio = self.budget.final_learning_rate / self.budget.learning_rate
        self.model.optimizer.learning_rate.assign(self.budget.learning_rate * ratio ** min(self.progress(epoch), 1.0))
        self.epoch_start = self.last_batch_end = time.perf_counter()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        self.last_batch_end = time.perf_counter()
        if self.elapsed() >= self.budget.max_seconds:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds.append(self.last_batch_end - self.epoch_start)
        self.validation_seconds.append(time.perf_counter() - self.last_batch_end)
        self.epoch_batches.append(self.batches)
        if self.progress(epoch + 1) >= 1.0:
            self.model.stop_training = True

    def seconds_per_epoch(self, batches_per_epoch: int) -> float:
        """Steady-state duration of a full epoch, training and validation: medians over the
        epochs after the first two (tracing, cache fill) when there are more; the training
        part per batch, scaled to ``batches_per_epoch``, so that an epoch cut short by the
        budget counts too."""
        steady = slice(2, None) if len(self.epoch_batches) > 2 else slice(None)
        per_batch = [t / max(b, 1) for t, b in zip(self.train_seconds[steady], self.epoch_batches[steady])]
        return float(np.median(per_batch)) * batches_per_epoch + float(np.median(self.validation_seconds[steady]))


def time_featurization(model, structures) -> float:
    """µs per atom to featurize ``structures`` (values and Jacobians), median of repeats."""
    f = model.featurizer
    call = lambda: [f.featurize(*(s[k] for k in (zoo.keys.NUMBERS, zoo.keys.POSITIONS, zoo.keys.CELL, zoo.keys.PBC)))
                    for s in structures]
    n_atoms = sum(len(s[zoo.keys.NUMBERS]) for s in structures)
    return 1e6 * median_seconds(call) / n_atoms


def time_inference(model, data, repeats: int = 5) -> float:
    """µs per atom for energy and forces of ``data`` from raw structures (featurize, collate,
    model, Jacobian contraction) in one batch, median of repeats."""
    source = model.batch_source(data, batch_size=len(data), cache_bytes=0)
    step = model.compiled_energy_and_forces()
    call = lambda: step(source.batch(np.arange(len(data)))[0])
    return 1e6 * median_seconds(call, repeats=repeats) / int(data.n_atoms.sum())


def first(data, n: int):
    """The first ``n`` structures of ``data`` (all when it has fewer)."""
    return data[np.arange(min(n, len(data)))]


def test_predictions(prediction: dict, test) -> dict[str, np.ndarray]:
    """The test structures' predicted and reference labels, for parity plots and per-atom
    analyses: ``predicted_<key>`` / ``reference_<key>`` for every label key that the model
    outputs / the data have, plus ``n_atoms`` and ``numbers`` of the test structures."""
    arrays = {keys.N_ATOMS: np.asarray(test.n_atoms), keys.NUMBERS: np.asarray(test.numbers)}
    for key in keys.LABELS:
        if key in prediction:
            arrays[f"{PREDICTED}{key}"] = np.asarray(prediction[key])
        if test.has_label(key):
            arrays[f"{REFERENCE}{key}"] = np.asarray(test.labels[key])
    return arrays


def save_predictions(path: Path, arrays: dict) -> None:
    """Write ``arrays`` to ``path`` (npz) atomically."""
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def time_baseline(name: str, data) -> float:
    """µs per atom of baseline ``name``'s energy and forces on ``data``, median of repeats."""
    return 1e6 * median_seconds(lambda: baselines.compute(data, name), repeats=3) / int(data.n_atoms.sum())


def run_cell(name: str, hyper: dict, data, spec: DataSpec, n_train: int, seed: int, budget: Budget,
             predictions_path: Path | None = None, baseline: str | None = None) -> dict:
    """Fit one model on one training set and measure it; returns one results row (and
    writes the test predictions to ``predictions_path`` when given).

    With ``baseline`` (a name in :data:`benchmarks.baselines.BASELINES`) the model is a Δ
    model: it fits target − baseline energies and forces and predicts baseline + its
    correction; its inference time includes the baseline's, which is also reported alone
    (``baseline_us_atom``)."""
    reset_peak_rss()  # with workers=0 one process runs many cells: measure this one's peak
    rss_start = current_rss_mib()  # data, imports, and what earlier cells of this process left
    train, val, test = split_data(data, spec, n_train, seed)
    if baseline:  # the same split of the baseline's labels
        base_train, base_val, base_test = split_data(baselines.labels(data, baseline), spec, n_train, seed)
        train, val = subtract_baseline(train, base_train.labels), subtract_baseline(val, base_val.labels)
    keras.utils.set_random_seed(seed)
    model = zoo.create(name, elements=data.elements, **hyper)
    model.compile(optimizer=keras.optimizers.Adam(budget.learning_rate))
    schedule = BudgetSchedule(budget)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=budget.patience, restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=budget.epochs, batch_size=budget.batch_size,
                        cache_bytes=budget.cache_mib * 2**20,
                        callbacks=[schedule, stop], verbose=0, seed=seed)
    train_seconds = time.perf_counter() - start
    prediction = model.predict(test, batch_size=budget.batch_size, verbose=0)
    if baseline:
        prediction = add_baseline(prediction, base_test.labels)
    if predictions_path is not None:
        arrays = test_predictions(prediction, test)
        if baseline:
            arrays.update({f"{BASELINE}{key}": base_test.labels[key] for key in baselines.CORRECTED})
        arrays[LOSS_CURVE] = np.asarray(history.history["loss"])
        arrays[VAL_LOSS_CURVE] = np.asarray(history.history["val_loss"])
        save_predictions(predictions_path, arrays)
    peak_rss = peak_rss_mib()  # training and prediction, before the timings' own batches
    timing_set = first(test, TIMING_STRUCTURES)
    steady = schedule.seconds_per_epoch(batches_per_epoch=-(-len(train) // budget.batch_size))
    baseline_us = time_baseline(baseline, timing_set) if baseline else 0.0
    return {
        "n_params": int(model.count_params()),
        "epochs": len(history.history["loss"]),
        "train_seconds": train_seconds,
        "best_val_loss": float(np.min(history.history["val_loss"])),
        **accuracy(prediction, test),
        "featurize_us_atom": time_featurization(model, [timing_set.structure(s) for s in range(len(timing_set))]),
        "train_s_epoch": steady,
        "train_structures_s": len(train) / steady,
        "inference_us_atom": time_inference(model, first(test, LARGE_BATCH), repeats=3) + baseline_us,
        "inference_small_us_atom": time_inference(model, first(test, SMALL_BATCH)) + baseline_us,
        "peak_rss_mib": peak_rss,
        "peak_rss_growth_mib": peak_rss - rss_start,
        **({"baseline_us_atom": baseline_us} if baseline else {}),
    }


def cell_key(row: dict, hyper: dict, spec: DataSpec, budget: Budget) -> str:
    """File-name-safe identity of a cell: readable prefix plus a hash of everything that
    changes its result."""
    identity = json.dumps({"row": row, "hyper": hyper, "data": dataclasses.asdict(spec),
                           "budget": dataclasses.asdict(budget)}, sort_keys=True, default=str)
    digest = hashlib.sha1(identity.encode()).hexdigest()[:10]
    model = f"{row['model']}+delta-{row['baseline']}" if row.get("baseline") else row["model"]
    return f"{model}-{Path(row['dataset']).stem}-n{row['n_train']}-s{row['seed']}-{digest}"


def finished_cell(cells: Path | None, key: str) -> dict | None:
    """The stored row of a cell that ended (ok or skipped), or None."""
    path = cells / f"{key}.json" if cells else None
    if path is None or not path.is_file():
        return None
    row = json.loads(path.read_text())
    return row if not str(row.get("status", "")).startswith("error") else None


def is_success(status: str) -> bool:
    """A cell that ran, or that was skipped because the model does not apply to the data."""
    return status == "ok" or status.startswith("skipped")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One model × data set × training size × seed of a sweep, with what it needs to run."""

    row: dict  # model, generation, dataset, n_train, seed (and baseline of a Δ cell): its first columns
    hyper: dict
    spec: DataSpec
    budget: Budget

    @property
    def key(self) -> str:
        return cell_key(self.row, self.hyper, self.spec, self.budget)


def cell_row(name: str, generation: str, dataset: str, n_train: int, seed: int, baseline: str | None) -> dict:
    """The identity columns of a cell. Only Δ cells have a ``baseline`` entry, so the keys
    of direct cells stay what they were before Δ cells existed (stored results stay valid)."""
    row = {"model": name, "generation": generation, "dataset": dataset, "n_train": n_train, "seed": seed}
    return {**row, "baseline": baseline} if baseline else row


def plan(sweep: Sweep, models: dict) -> list[Cell]:
    """Every cell of ``sweep``, data set by data set; a Δ model's Δ cells follow its direct ones."""
    return [Cell(cell_row(name, models[name].generation, spec.name, n_train, seed, baseline),
                 sweep.model_hyper(name), spec, sweep.budget)
            for spec in sweep.datasets for name in sweep.model_names(models, spec)
            for baseline in sweep.baselines(name) for n_train in spec.n_train for seed in sweep.seeds]


@functools.lru_cache(maxsize=4)
def cached_data(spec: DataSpec):
    """Data sets loaded once per process (a worker runs many cells of one data set)."""
    return load_data(spec)


def execute(cell: Cell, cells: Path | None = None) -> dict:
    """Run one cell (in this process or on a worker) and store its row; never raises."""
    row = dict(cell.row)
    info = zoo.registry.info(row["model"])
    try:
        data = cached_data(cell.spec)
        reason = info.unsupported(data)
        if reason:
            return store_cell(cells, cell.key, {**row, "status": f"skipped: {reason}"})
        predictions = cells / f"{cell.key}{PREDICTIONS_SUFFIX}" if cells is not None else None
        start = time.perf_counter()
        row.update(run_cell(row["model"], cell.hyper, data, cell.spec, row["n_train"], row["seed"], cell.budget,
                            predictions, baseline=row.get("baseline")))
        row["cell_seconds"] = time.perf_counter() - start  # training, evaluation and timings
        row["status"] = "ok"
        model = f"{row['model']}+Δ({row['baseline']})" if row.get("baseline") else row["model"]
        log.info("done %s/%s: E %.2f meV/atom, F %.1f meV/Å, %d epochs in %.0f s", model, row["dataset"],
                 row["energy_rmse_mev_atom"], row["forces_rmse_mev_a"], row["epochs"], row["train_seconds"])
    except Exception as err:  # a failing cell is a result, not the end of the sweep
        traceback.print_exc()
        row["status"] = f"error: {type(err).__name__}: {err}"
    return store_cell(cells, cell.key, row)


def run(sweep: Sweep, folder: Path | None = None, scheduler: str | None = None,
        workers: int | None = None) -> pd.DataFrame:
    """Run every cell of ``sweep``; one row per cell (``status`` says ok, skipped or the
    error), in the sweep's order.

    Args:
        sweep: the sweep.
        folder: where finished cells are stored and reused on a re-run (None: nowhere).
        scheduler: address of a running dask scheduler (e.g. from dask-jobqueue) to run the
            cells on; None: a LocalCluster (see :mod:`benchmarks.cluster`).
        workers: LocalCluster workers (default: cores // sweep.threads); 0 runs the cells
            one after another in this process, without dask.
    """
    from benchmarks.cluster import run_cells

    cells = Path(folder) / "cells" if folder is not None else None
    if cells is not None:
        cells.mkdir(parents=True, exist_ok=True)
    todo = plan(sweep, zoo.registry.registered())
    done = {c.key: finished_cell(cells, c.key) for c in todo}
    for key, row in done.items():
        if row is not None:
            log.info("cell %s finished before (%s)", key, row["status"])
    pending = [c for c in todo if done[c.key] is None]
    for cell in pending:  # generate reference sets and baseline labels once, here, before workers read the cache
        data = cached_data(cell.spec)
        if cell.row.get("baseline"):
            baselines.labels(data, cell.row["baseline"])
    done.update(run_cells(pending, cells, sweep.threads, scheduler, workers))
    return pd.DataFrame([done[c.key] for c in todo])


def forget_cells(sweep: Sweep, folder: Path) -> None:
    """Delete the stored rows of ``sweep``'s cells in ``folder`` (cells of other models,
    data sets or seeds stay), so that :func:`run` trains them again."""
    for cell in plan(sweep, zoo.registry.registered()):
        (Path(folder) / "cells" / f"{cell.key}.json").unlink(missing_ok=True)


def store_cell(cells: Path | None, key: str, row: dict) -> dict:
    """Write a finished cell's row (atomically: a killed sweep leaves no half file)."""
    if cells is not None:
        tmp = cells / f".{key}.tmp"
        tmp.write_text(json.dumps(row, default=float))
        tmp.replace(cells / f"{key}.json")
    return row


def sweep_folder(sweep: Sweep, out_dir) -> Path:
    return Path(out_dir) / sweep.name


def write_results(results: pd.DataFrame, sweep: Sweep, out_dir: Path) -> Path:
    """results.csv and report.md under ``out_dir/<sweep name>``; returns that folder."""
    from benchmarks.report import write_report

    folder = sweep_folder(sweep, out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    results.to_csv(folder / "results.csv", index=False)
    write_report(results, sweep, folder / "report.md")
    return folder
