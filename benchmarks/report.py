"""Reports read only the results table and the stored test predictions, never the models.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (Agg canvas) without pyplot,
so writing a report never changes the backend of the notebook or script that calls it.
"""

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
    "forces_structure_max_rmse_mev_a": "F RMSE, worst structure (meV/Å)",
    "charges_rmse_me": "q RMSE (me)",
    "dipole_rmse_me_a": "µ RMSE (me·Å)",
    "featurize_us_atom": "featurize (µs/atom)",
    "train_s_epoch": "train (s/epoch)",
    "train_structures_s": "train (structures/s)",
    "inference_small_us_atom": "E+F, 1 structure (µs/atom)",
    "inference_us_atom": "E+F, 64 structures (µs/atom)",
    "baseline_us_atom": "of which baseline (µs/atom)",
    "peak_rss_growth_mib": "peak RSS growth (MiB)",
    "n_params": "params",
    "status": "status",
}


def model_label(model: str, baseline=None) -> str:
    """How a cell's model is named in tables and figures: ``hdnnp`` or ``hdnnp+Δ(gfn1-xtb)``."""
    return f"{model}+Δ({baseline})" if isinstance(baseline, str) and baseline else model


def model_labels(results: pd.DataFrame) -> pd.Series:
    """:func:`model_label` of every row (direct cells have no ``baseline``, or NaN)."""
    if "baseline" not in results:
        return results["model"]
    return pd.Series([model_label(m, b) for m, b in zip(results["model"], results["baseline"])], index=results.index)


def comparison_table(results: pd.DataFrame) -> pd.DataFrame:
    """The headline table: medians over seeds per model (Δ models as their own rows, see
    :func:`model_label`), data set and training size."""
    results = results.assign(model=model_labels(results))
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
        if isinstance(v, float):
            return "–" if np.isnan(v) else f"{v:.{digits}f}"  # e.g. the baseline time of a direct model
        return str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


ENERGY_RMSE, FORCES_RMSE = "energy_rmse_mev_atom", "forces_rmse_mev_a"
#: force components drawn per parity panel at most (a random subset: keeps the PNGs small)
PARITY_POINTS = 3000
#: parity panels per figure row
PARITY_COLUMNS = 6
DPI = 90


def learning_curves(results: pd.DataFrame) -> pd.DataFrame:
    """Median test energy and force RMSE over seeds per data set, model label and
    training size, from the cells that ran."""
    ok = results[results["status"] == "ok"]
    if ok.empty:  # nothing ran (all failed or skipped): no metric columns either
        return pd.DataFrame(columns=["dataset", "model", "n_train", ENERGY_RMSE, FORCES_RMSE])
    ok = ok.assign(model=model_labels(ok))
    return ok.groupby(["dataset", "model", "n_train"], sort=False)[[ENERGY_RMSE, FORCES_RMSE]].median().reset_index()


def plain_log_ticks(ax, sizes) -> None:
    """Ticks of a log-log learning curve as plain numbers, at the training-set sizes on x
    (a learning curve often spans less than a decade, where log ticks carry no labels)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")
    sparse = FuncFormatter(lambda value, _: f"{value:g}" if f"{value:e}"[0] in "25" else "")  # 2, 5, 20, 50, ...
    ax.set_xticks(sizes)
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(sparse)
    ax.tick_params(which="both", labelsize=7)


def learning_curve_figure(results: pd.DataFrame):
    """Test RMSE vs training-set size (log-log), a row of energy and force panels per data
    set whose cells have more than one size, a line per model; None when no size varies."""
    from matplotlib.figure import Figure

    curves = learning_curves(results)
    datasets = [d for d, rows in curves.groupby("dataset", sort=False) if rows["n_train"].nunique() > 1]
    if not datasets:
        return None
    fig = Figure(figsize=(8.0, 3.0 * len(datasets)), dpi=DPI)
    axes = fig.subplots(len(datasets), 2, squeeze=False)
    for row_axes, dataset in zip(axes, datasets):
        rows = curves[curves["dataset"] == dataset]
        for ax, column, label in zip(row_axes, (ENERGY_RMSE, FORCES_RMSE), ("E RMSE (meV/atom)", "F RMSE (meV/Å)")):
            for model, line in rows.groupby("model", sort=False):
                line = line.sort_values("n_train")
                ax.plot(line["n_train"], line[column], marker="o", label=model)
            ax.set(xscale="log", yscale="log", xlabel="training structures", ylabel=label, title=Path(str(dataset)).stem)
            plain_log_ticks(ax, sorted(rows["n_train"].unique()))
        row_axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig


INFERENCE = "inference_us_atom"


def pareto_front(points: pd.DataFrame, x: str = INFERENCE, y: str = FORCES_RMSE) -> pd.DataFrame:
    """The rows that no other row beats on both ``x`` and ``y`` (lower is better on both),
    sorted by ``x``."""
    points = points.dropna(subset=[x, y]).sort_values([x, y])
    best_cheaper = points[y].cummin().shift(fill_value=np.inf)  # the best y among cheaper rows
    return points[points[y] < best_cheaper]


def largest_training_sets(results: pd.DataFrame) -> pd.DataFrame:
    """Medians over seeds of the cells that ran, per data set and model label, at the data
    set's largest training size."""
    ok = results[results["status"] == "ok"]
    if ok.empty:
        return ok
    ok = ok.assign(model=model_labels(ok))
    ok = ok[ok["n_train"] == ok.groupby("dataset")["n_train"].transform("max")]
    numeric = [c for c in (INFERENCE, FORCES_RMSE, ENERGY_RMSE) if c in ok]
    return ok.groupby(["dataset", "model", "generation"], sort=True)[numeric].median().reset_index()


def pareto_figure(results: pd.DataFrame):
    """Force RMSE against the E+F inference cost per atom (log), a panel per data set, a
    colour per generation, the Pareto front as a line; None without timed cells."""
    from matplotlib.figure import Figure

    points = largest_training_sets(results)
    if points.empty or INFERENCE not in points:
        return None
    datasets = sorted(points["dataset"].unique())
    fig = Figure(figsize=(5.0 * len(datasets), 3.8), dpi=DPI)
    for ax, dataset in zip(fig.subplots(1, len(datasets), squeeze=False)[0], datasets):
        rows = points[points["dataset"] == dataset]
        for generation, group in rows.groupby("generation"):
            ax.scatter(group[INFERENCE], group[FORCES_RMSE], label=generation, s=18)
        for r in rows.itertuples():
            ax.annotate(r.model, (getattr(r, INFERENCE), getattr(r, FORCES_RMSE)), fontsize=6)
        front = pareto_front(rows)
        ax.step(front[INFERENCE], front[FORCES_RMSE], where="post", color="k", linewidth=0.7, label="Pareto front")
        ax.set(xscale="log", yscale="log", xlabel="E+F inference, 64 structures (µs/atom)",
               ylabel="F RMSE (meV/Å)", title=Path(str(dataset)).stem)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def validation_curve_figure(predictions: dict):
    """Validation loss per epoch (log), a panel per data set, a line per model (its cell
    with the largest training set); None when no stored cell has a loss curve."""
    from matplotlib.figure import Figure

    from benchmarks.runner import VAL_LOSS_CURVE

    cells = {d: {m: a for m, a in models.items() if VAL_LOSS_CURVE in a} for d, models in parity_cells(predictions).items()}
    cells = {d: models for d, models in cells.items() if models}
    if not cells:
        return None
    fig = Figure(figsize=(5.0 * len(cells), 3.6), dpi=DPI)
    for ax, (dataset, models) in zip(fig.subplots(1, len(cells), squeeze=False)[0], cells.items()):
        for model, arrays in models.items():
            curve = arrays[VAL_LOSS_CURVE]
            ax.plot(np.arange(1, len(curve) + 1), curve, label=model, linewidth=0.9)
        ax.set(yscale="log", xlabel="epoch", ylabel="validation loss", title=Path(str(dataset)).stem)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def parity_cells(predictions: dict) -> dict[str, dict[str, dict]]:
    """data set -> model label -> stored arrays of its cell with the largest training set
    (lowest seed among those), from :func:`load_predictions`' dict."""
    out: dict[str, dict[str, dict]] = {}
    for key in sorted(predictions, key=lambda k: (k[2], -k[3])):  # the last one written wins
        model, dataset = key[0], key[1]
        out.setdefault(dataset, {})[model] = predictions[key]
    return out


def parity_points(predicted: np.ndarray, reference: np.ndarray, limit: int = PARITY_POINTS):
    """Flattened (predicted, reference), a fixed random subset of at most ``limit`` entries."""
    predicted, reference = np.ravel(predicted), np.ravel(reference)
    if len(predicted) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(predicted), limit, replace=False))
        predicted, reference = predicted[keep], reference[keep]
    return predicted, reference


def parity_panel(ax, predicted, reference, title: str, unit: str) -> None:
    """Predicted against reference with the diagonal; the RMSE (in m``unit``) in the title."""
    rmse = 1e3 * float(np.sqrt(np.mean((np.ravel(predicted) - np.ravel(reference)) ** 2)))
    predicted, reference = parity_points(predicted, reference)
    ax.scatter(reference, predicted, s=3, alpha=0.5, linewidths=0)
    low, high = float(min(reference.min(), predicted.min())), float(max(reference.max(), predicted.max()))
    ax.plot([low, high], [low, high], color="k", linewidth=0.6)
    ax.set_title(f"{title}\nRMSE {rmse:.3g} m{unit}", fontsize=7)
    ax.tick_params(labelsize=6)


def parity_figure(cells: dict[str, dict], title: str):
    """Parity plots of one data set: per model, energy per atom (eV/atom) and force
    components (eV/Å) of the test structures, predicted vs reference."""
    from matplotlib.figure import Figure

    from benchmarks.runner import PREDICTED, REFERENCE
    from zoo import keys

    columns = min(len(cells), PARITY_COLUMNS)
    rows = 2 * -(-len(cells) // columns)
    fig = Figure(figsize=(2.5 * columns, 2.3 * rows), dpi=DPI)
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, (model, arrays) in enumerate(cells.items()):
        energy_ax, forces_ax = axes[2 * (i // columns), i % columns], axes[2 * (i // columns) + 1, i % columns]
        n_atoms = arrays[keys.N_ATOMS]
        parity_panel(energy_ax, arrays[f"{PREDICTED}{keys.ENERGY}"] / n_atoms,
                     arrays[f"{REFERENCE}{keys.ENERGY}"] / n_atoms, f"{model}: E/atom (eV)", "eV/atom")
        parity_panel(forces_ax, arrays[f"{PREDICTED}{keys.FORCES}"], arrays[f"{REFERENCE}{keys.FORCES}"],
                     f"{model}: F components (eV/Å)", "eV/Å")
    for ax in [a for a in axes.ravel() if not a.has_data()]:  # the grid's unused slots
        ax.set_visible(False)
    fig.suptitle(f"{title}: test predictions vs reference (largest training set)", fontsize=9)
    fig.tight_layout()
    return fig


def write_figures(results: pd.DataFrame, predictions: dict, folder: Path) -> dict[str, str]:
    """The Pareto plot, learning curves (when a training size varies), validation-loss
    curves and one parity figure per data set with stored predictions, as PNGs in
    ``folder``; returns file name -> caption."""
    figures = {}
    optional = {"pareto.png": (pareto_figure(results), "Accuracy against inference cost (Pareto front: black)"),
                "learning_curves.png": (learning_curve_figure(results),
                                        "Learning curves: test RMSE vs training-set size"),
                "validation_loss.png": (validation_curve_figure(predictions),
                                        "Validation loss per epoch (largest training set)")}
    figures.update({name: entry for name, entry in optional.items() if entry[0] is not None})
    for dataset, cells in parity_cells(predictions).items():
        stem = Path(str(dataset)).stem
        figures[f"parity_{stem}.png"] = (parity_figure(cells, stem), f"Parity plots, {stem}")
    for name, (fig, _) in figures.items():
        fig.savefig(folder / name)
    return {name: caption for name, (_, caption) in figures.items()}


def write_report(results: pd.DataFrame, sweep, path, predictions: dict | None = None) -> None:
    """report.md at ``path`` with the comparison table and figures (PNGs next to it).

    Args:
        results: the results table (one row per cell).
        sweep: the sweep (its budget is described; its stored predictions are read).
        path: the report file.
        predictions: the stored test predictions as :func:`load_predictions` returns them;
            None: read them from the sweep folder (``path``'s folder).
    """
    path = Path(path)
    if predictions is None:
        predictions = load_predictions(path.parent, sweep)
    budget = sweep.budget
    text = [f"# Sweep `{sweep.name}`", "",
            f"Budget per model: {budget.epochs} epochs or {budget.max_seconds:.0f} s, batch {budget.batch_size}, "
            f"Adam {budget.learning_rate:g} → {budget.final_learning_rate:g}, early stopping after "
            f"{budget.patience} epochs. Errors on the held-out test split; timings are medians of repeats.",
            "", to_markdown(comparison_table(results)), ""]
    if "baseline" in results and results["baseline"].notna().any():
        text += ["`model+Δ(baseline)` rows learn the target − baseline energies and forces and predict "
                 "baseline + correction; their E+F inference time includes the baseline calculator's, "
                 "which is also shown alone.", ""]
    for name, caption in write_figures(results, predictions, path.parent).items():
        text += [f"![{caption}]({name})", ""]
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
    cells without stored predictions (skipped, failed, not run yet) are left out. A Δ
    cell's model is its :func:`model_label` (``hdnnp+Δ(gfn1-xtb)``)."""
    from benchmarks.runner import PREDICTIONS_SUFFIX, plan
    import zoo

    out = {}
    for cell in plan(sweep, zoo.registry.registered()):
        path = Path(folder) / "cells" / f"{cell.key}{PREDICTIONS_SUFFIX}"
        if path.is_file():
            with np.load(path) as stored:
                row = cell.row
                model = model_label(row["model"], row.get("baseline"))
                out[(model, row["dataset"], row["n_train"], row["seed"])] = dict(stored)
    return out
