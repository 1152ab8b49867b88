"""O(N) check: energy and forces of one periodic Cu structure from ~100 to ~7000 atoms, per model.

    python -m benchmarks.scaling [--models hdnnp schnet ...] [--sizes 3 4 6 8 12] [--repeats 3]
                                 [--max-seconds 60] [--sweep benchmarks/sweeps/quick.toml]
                                 [--out results/scaling]

Structures: fcc Cu (a = 3.61 Å) of n³ conventional cells, 4 n³ atoms, rattled by 0.05 Å
(:func:`benchmarks.md_speed.rattled_copper`); ``--sizes`` are the cells per edge n
(default 3 4 6 8 12: 108, 256, 864, 2048, 6912 atoms), since only 4 n³ atoms are possible.
Every registered model (or those of ``--models``) is created with random weights, float32,
``zoo.create(name, elements=[29], **hyper)``, the hyper-parameters of the ``--sweep`` file
(so the cutoffs are those of the quick sweep).

Per model and size, one structure per call: the energy and forces from raw positions
(featurize, collate, compiled model call, Jacobian contraction;
:func:`benchmarks.runner.time_inference`, median of ``repeats`` after a warm-up call that
traces), in µs per atom; the featurization alone (values and Jacobians), median of
``repeats``; and the growth of the peak resident set size during those calls (MiB, NaN
where the kernel cannot reset the peak; a lower bound, since memory that earlier calls
freed stays in the process and is reused). For an O(N) model the cost per atom is flat.

A model that does not apply to periodic Cu (:meth:`zoo.registry.ModelInfo.unsupported`:
the 1G models of one fixed molecule) gets ``skipped: <reason>`` rows; the labels a model
needs only for training (BpopNN's charges) are not asked for. An exception is recorded as
``error: Type: message`` in its row and the sweep goes on. Once one call takes longer than
``--max-seconds``, the model's larger sizes are ``skipped: slower than ...`` (the dense
charge-equilibration solve of the 4G models is O(N³)); its measured sizes stay in the table.

Results in ``--out`` (default ``results/scaling``): ``scaling.csv`` (one row per model and
size) and, made from that table only, ``report.md`` (µs/atom, models × atoms, with the cost
ratio µs/atom at the largest measured size / at the smallest, ≈ 1 for O(N), and the
exponent a of time ∝ N^a between those sizes) and ``scaling.png`` (log-log, a line per model).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd

import zoo
from benchmarks.md_speed import rattled_copper
from benchmarks.memory import peak_rss_mib, reset_peak_rss
from benchmarks.report import DPI, plain_log_ticks, to_markdown
from benchmarks.runner import time_inference
from benchmarks.sweep import load_sweep
from benchmarks.timing import median_seconds
from zoo import keys
from zoo.data import Dataset

#: default fcc cells per edge: 108, 256, 864, 2048, 6912 atoms
DEFAULT_REPEATS = (3, 4, 6, 8, 12)
COPPER = 29
SCALING_CSV, REPORT, FIGURE = "scaling.csv", "report.md", "scaling.png"
COLUMNS = ("model", "generation", "n_atoms", "us_per_atom", "featurize_us_atom", "peak_rss_mib", "status")


def copper_data(repeat: int, seed: int = 0) -> Dataset:
    """One rattled fcc Cu structure of ``repeat``³ conventional cells as a Dataset."""
    return Dataset.from_atoms([rattled_copper(repeat, np.random.default_rng(seed))])


def inference_unsupported(info, data) -> str | None:
    """Why the model cannot predict ``data``: :meth:`ModelInfo.unsupported` without the
    labels that only its training needs."""
    return dataclasses.replace(info, required_labels=()).unsupported(data)


def measure(model, data: Dataset, repeats: int) -> dict:
    """µs/atom of energy and forces and of the featurization alone, and the peak-RSS growth
    (MiB) while measuring, for the one structure of ``data``."""
    reset = reset_peak_rss()
    start_mib = peak_rss_mib()
    n_atoms = int(data.n_atoms.sum())
    us_per_atom = time_inference(model, data, repeats=repeats)
    s = data.structure(0)
    featurize = lambda: model.featurizer.featurize(s[keys.NUMBERS], s[keys.POSITIONS], s[keys.CELL], s[keys.PBC])
    return {"us_per_atom": us_per_atom,
            "featurize_us_atom": 1e6 * median_seconds(featurize, repeats=repeats, warmup=0) / n_atoms,
            "peak_rss_mib": peak_rss_mib() - start_mib if reset else math.nan}


def scale_model(name: str, info, hyper: dict, sizes, repeats: int, max_seconds: float) -> list[dict]:
    """The rows of one model, one per size (cells per edge, ascending); never raises."""
    datasets = {n: copper_data(n) for n in sizes}
    rows = [{"model": name, "generation": info.generation, "n_atoms": int(d.n_atoms.sum())} for d in datasets.values()]
    try:
        reason = inference_unsupported(info, datasets[sizes[0]])
        if reason:
            return [{**row, "status": f"skipped: {reason}"} for row in rows]
        keras.utils.set_random_seed(0)
        model = zoo.create(name, elements=[COPPER], **hyper)
    except Exception as err:  # a model that cannot be built is a result, not the end of the sweep
        return [{**row, "status": f"error: {type(err).__name__}: {err}"} for row in rows]
    too_slow = None
    for row, data in zip(rows, datasets.values()):
        if too_slow:
            row["status"] = too_slow
            continue
        try:
            row.update(measure(model, data, repeats), status="ok")
        except Exception as err:
            row["status"] = f"error: {type(err).__name__}: {err}"
            continue
        seconds = row["us_per_atom"] * row["n_atoms"] / 1e6
        if seconds > max_seconds:
            too_slow = f"skipped: slower than {max_seconds:g} s per call at {row['n_atoms']} atoms ({seconds:.1f} s)"
    return rows


def scaling_sweep(models: dict, hyper: dict, sizes, repeats: int = 3, max_seconds: float = 60.0,
                  csv: Path | None = None) -> pd.DataFrame:
    """The long table (:data:`COLUMNS`) of ``models`` (name -> ModelInfo) at ``sizes``
    (cells per edge) with per-model hyper-parameters ``hyper`` (name -> dict); written to
    ``csv`` after every model when given (a stopped sweep keeps what it measured)."""
    sizes = sorted(int(n) for n in sizes)
    rows = []
    for name, info in models.items():
        rows += scale_model(name, info, hyper.get(name, {}), sizes, repeats, max_seconds)
        if csv is not None:
            pd.DataFrame(rows).reindex(columns=list(COLUMNS)).to_csv(csv, index=False)
    return pd.DataFrame(rows).reindex(columns=list(COLUMNS))


def cost_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Per model with at least two measured sizes: ``cost_ratio`` = µs/atom at the largest
    ok size / at the smallest (1 for O(N)) and ``exponent`` a of time ∝ N^a between them."""
    ok = table[table["status"] == "ok"].sort_values("n_atoms")
    out = []
    for model, rows in ok.groupby("model", sort=False):
        if len(rows) < 2:
            continue
        small, large = rows.iloc[0], rows.iloc[-1]
        ratio = large["us_per_atom"] / small["us_per_atom"]
        out.append({"model": model, "cost_ratio": ratio,
                    "exponent": 1.0 + math.log(ratio) / math.log(large["n_atoms"] / small["n_atoms"])})
    return pd.DataFrame(out, columns=["model", "cost_ratio", "exponent"])


def model_status(statuses: pd.Series) -> str:
    """``ok`` when every size ran, else the first size's other status."""
    return next((s for s in statuses if s != "ok"), "ok")


def pivot_table(table: pd.DataFrame) -> pd.DataFrame:
    """µs/atom, a row per model (in table order) and a column per atom count, with the
    generation, the cost ratio and exponent (:func:`cost_ratios`) and the model's status."""
    models = list(dict.fromkeys(table["model"]))
    ok = table[table["status"] == "ok"]
    sizes = sorted(table["n_atoms"].unique())
    grid = ok.pivot_table(index="model", columns="n_atoms", values="us_per_atom", aggfunc="median")
    grid = grid.reindex(index=models, columns=sizes)
    grid.columns = [str(n) for n in sizes]
    ratios = cost_ratios(table).set_index("model").reindex(models)
    first = table.groupby("model", sort=False)
    return pd.DataFrame({"model": models, "generation": first["generation"].first().reindex(models).values,
                         **{c: grid[c].values for c in grid.columns},
                         "cost ratio": ratios["cost_ratio"].values, "exponent": ratios["exponent"].values,
                         "status": first["status"].agg(model_status).reindex(models).values})


def scaling_figure(table: pd.DataFrame):
    """µs/atom against atoms (log-log), a line per model with measured sizes; None without any."""
    from matplotlib.figure import Figure

    ok = table[table["status"] == "ok"].sort_values("n_atoms")
    if ok.empty:
        return None
    fig = Figure(figsize=(7.0, 4.5), dpi=DPI)
    ax = fig.subplots()
    for i, (model, line) in enumerate(ok.groupby("model", sort=False)):  # 10 colours, then a new line style
        ax.plot(line["n_atoms"], line["us_per_atom"], marker="o", markersize=3, label=model,
                linestyle=("-", "--", ":")[i // 10 % 3])
    ax.set(xscale="log", yscale="log", xlabel="atoms (fcc Cu, one structure per call)",
           ylabel="energy + forces (µs/atom)", title="Cost per atom vs system size (flat = O(N))")
    plain_log_ticks(ax, sorted(ok["n_atoms"].unique()))
    ax.legend(fontsize=6, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def write_report(folder) -> Path:
    """``report.md`` and ``scaling.png`` in ``folder`` from its ``scaling.csv`` only."""
    folder = Path(folder)
    table = pd.read_csv(folder / SCALING_CSV)
    text = ["# Scaling of energy + forces with system size", "",
            "`python -m benchmarks.scaling` (see its docstring): fcc Cu, one structure per call, random "
            "weights, float32. µs/atom by atom count; cost ratio = µs/atom at the largest measured size / "
            "at the smallest (1 for O(N)); exponent a of time ∝ N^a between those sizes.", "",
            to_markdown(pivot_table(table), digits=2), ""]
    fig = scaling_figure(table)
    if fig is not None:
        fig.savefig(folder / FIGURE, bbox_inches="tight")
        text += [f"![µs/atom vs atoms]({FIGURE})", ""]
    path = folder / REPORT
    path.write_text("\n".join(text))
    return path


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=None, help="registry names (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_REPEATS),
                        help="fcc cells per edge n (4 n³ atoms)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per size (median)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="skip a model's larger sizes once one call takes longer (s)")
    parser.add_argument("--sweep", default="benchmarks/sweeps/quick.toml", help="sweep TOML of the hyper-parameters")
    parser.add_argument("--out", default="results/scaling", help="folder of scaling.csv, report.md, scaling.png")
    args = parser.parse_args(argv)
    registered = zoo.registry.registered()
    names = args.models or list(registered)
    unknown = sorted(set(names) - set(registered))
    if unknown:
        parser.error(f"unknown models {unknown}; available: {sorted(registered)}")
    if min(args.sizes) < 1 or args.repeats < 1:
        parser.error(f"sizes (cells per edge) and repeats must be >= 1, received {args.sizes} and {args.repeats}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = scaling_sweep({n: registered[n] for n in names}, load_sweep(args.sweep).hyper, args.sizes,
                          args.repeats, args.max_seconds, csv=out / SCALING_CSV)
    write_report(out)
    print(to_markdown(pivot_table(table), digits=2))
    return table


if __name__ == "__main__":
    main()
