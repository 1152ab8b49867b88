"""Reports read only the results table, never the models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

#: result column -> heading of the comparison table
TABLE_COLUMNS = {
    "model": "model",
    "dataset": "data set",
    "n_train": "n_train",
    "energy_rmse_mev_atom": "E RMSE (meV/atom)",
    "forces_rmse_mev_a": "F RMSE (meV/Å)",
    "charges_rmse_me": "q RMSE (me)",
    "dipole_rmse_me_a": "µ RMSE (me·Å)",
    "featurize_us_atom": "featurize (µs/atom)",
    "train_s_epoch": "train (s/epoch)",
    "inference_us_atom": "E+F inference (µs/atom)",
    "n_params": "params",
    "status": "status",
}


def comparison_table(results: pd.DataFrame) -> pd.DataFrame:
    """The headline table: medians over seeds per model, data set and training size."""
    numeric = [c for c in TABLE_COLUMNS if c in results and pd.api.types.is_numeric_dtype(results[c])
               and c not in ("n_train",)]
    group = ["model", "dataset", "n_train"]
    table = results.groupby(group, sort=True)[numeric].median().reset_index()
    table["status"] = results.groupby(group, sort=True)["status"].agg(lambda s: "ok" if (s == "ok").all() else
                                                                      next(v for v in s if v != "ok")).values
    columns = [c for c in TABLE_COLUMNS if c in table]
    return table[columns].rename(columns=TABLE_COLUMNS)


def to_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """A GitHub markdown table (no extra dependency)."""
    def cell(v):
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def write_report(results: pd.DataFrame, sweep, path) -> None:
    budget = sweep.budget
    text = [f"# Sweep `{sweep.name}`", "",
            f"Budget per model: {budget.epochs} epochs or {budget.max_seconds:.0f} s, batch {budget.batch_size}, "
            f"Adam {budget.learning_rate:g} → {budget.final_learning_rate:g}, early stopping after "
            f"{budget.patience} epochs. Errors on the held-out test split; timings are medians of repeats.",
            "", to_markdown(comparison_table(results)), ""]
    path.write_text("\n".join(text))


def load_results(folder, sweep=None) -> pd.DataFrame:
    """The results of a sweep folder.

    With ``sweep``: the rows of that sweep's cells stored so far (``cells/*.json``), so a
    sweep still running, stopped, or finished gives its current table, and cells of an
    earlier configuration are left out. Without: ``results.csv`` of the last finished run.
    """
    folder = Path(folder)
    if sweep is not None:
        from benchmarks.runner import plan
        import zoo

        paths = [folder / "cells" / f"{cell.key}.json" for cell in plan(sweep, zoo.registry.registered())]
        rows = [json.loads(p.read_text()) for p in paths if p.is_file()]
    else:
        rows = pd.read_csv(folder / "results.csv").to_dict("records") if (folder / "results.csv").is_file() else []
    if not rows:
        raise FileNotFoundError(f"no results in {folder}: run the sweep first (make bench)")
    return pd.DataFrame(rows)


def load_predictions(folder, sweep) -> dict[tuple, dict[str, np.ndarray]]:
    """The stored test predictions of a sweep's cells (``cells/<key>.test.npz``, see
    :func:`benchmarks.runner.test_predictions`), keyed by (model, dataset, n_train, seed);
    cells without stored predictions (skipped, failed, not run yet) are left out."""
    from benchmarks.runner import PREDICTIONS_SUFFIX, plan
    import zoo

    out = {}
    for cell in plan(sweep, zoo.registry.registered()):
        path = Path(folder) / "cells" / f"{cell.key}{PREDICTIONS_SUFFIX}"
        if path.is_file():
            with np.load(path) as stored:
                row = cell.row
                out[(row["model"], row["dataset"], row["n_train"], row["seed"])] = dict(stored)
    return out
