"""Report figures from a results table and predictions built by hand (no model runs)."""

import numpy as np
import pandas as pd
import pytest

from benchmarks.report import (comparison_table, learning_curves, model_label, pareto_front, parity_cells,
                               write_report)
from benchmarks.runner import PREDICTED, REFERENCE, VAL_LOSS_CURVE
from benchmarks.sweep import Budget, DataSpec, Sweep
from zoo import keys


def results_table(sizes, baseline=True) -> pd.DataFrame:
    """Rows of hdnnp (and hdnnp Δ over gfn1-xtb) on ethanol at ``sizes``, two seeds."""
    rows = []
    for base in (None, "gfn1-xtb") if baseline else (None,):
        for n in sizes:
            for seed in (0, 1):
                scale = (0.1 if base else 1.0) * 100.0 / n
                rows.append({"model": "hdnnp", "generation": "2G", "dataset": "ethanol_xtb", "n_train": n,
                             "seed": seed, "energy_rmse_mev_atom": scale * (1 + seed), "forces_rmse_mev_a": 50 * scale,
                             "inference_us_atom": 30.0 + (200.0 if base else 0.0), "status": "ok",
                             **({"baseline": base, "baseline_us_atom": 200.0} if base else {})})
    return pd.DataFrame(rows)


def stored_arrays(rng, n_structures=5, n_atoms=9) -> dict:
    """Arrays as benchmarks.runner.test_predictions stores them."""
    energy, forces = rng.normal(-300, 1, n_structures), rng.normal(0, 1, (n_structures * n_atoms, 3))
    return {keys.N_ATOMS: np.full(n_structures, n_atoms), keys.NUMBERS: np.ones(n_structures * n_atoms, int),
            f"{PREDICTED}{keys.ENERGY}": energy + 0.01, f"{REFERENCE}{keys.ENERGY}": energy,
            f"{PREDICTED}{keys.FORCES}": forces + 0.05, f"{REFERENCE}{keys.FORCES}": forces}


def sweep(sizes) -> Sweep:
    return Sweep(name="hand", models=("hdnnp",), datasets=(DataSpec("ethanol_xtb", tuple(sizes), 4, 4),),
                 budget=Budget(epochs=1))


def test_delta_rows_are_their_own_rows_in_the_table():
    table = comparison_table(results_table([10, 20]))
    assert table["model"].tolist() == ["hdnnp", "hdnnp", model_label("hdnnp", "gfn1-xtb"),
                                       model_label("hdnnp", "gfn1-xtb")]
    assert model_label("hdnnp", "gfn1-xtb") == "hdnnp+Δ(gfn1-xtb)" and model_label("hdnnp", float("nan")) == "hdnnp"
    # medians over the two seeds
    assert table["E RMSE (meV/atom)"].iloc[0] == pytest.approx(1.5 * 100 / 10)


def test_learning_curves_are_medians_over_seeds():
    curves = learning_curves(results_table([10, 20, 40]))
    assert len(curves) == 6 and set(curves["model"]) == {"hdnnp", "hdnnp+Δ(gfn1-xtb)"}
    direct = curves[curves["model"] == "hdnnp"].sort_values("n_train")
    np.testing.assert_allclose(direct["forces_rmse_mev_a"], [500.0, 250.0, 125.0])


def test_report_writes_learning_curves_and_parity_plots(tmp_path):
    rng = np.random.default_rng(0)
    predictions = {("hdnnp", "ethanol_xtb", n, s): stored_arrays(rng) for n in (10, 20) for s in (0, 1)}
    predictions.update({("hdnnp+Δ(gfn1-xtb)", "ethanol_xtb", 20, 0): stored_arrays(rng)})
    write_report(results_table([10, 20]), sweep([10, 20]), tmp_path / "report.md", predictions=predictions)
    report = (tmp_path / "report.md").read_text()
    for name in ("learning_curves.png", "parity_ethanol_xtb.png"):
        assert (tmp_path / name).stat().st_size > 1000 and f"]({name})" in report
    assert "| hdnnp+Δ(gfn1-xtb) |" in report and "includes the baseline" in report


def test_no_learning_curve_for_a_single_training_size(tmp_path):
    rng = np.random.default_rng(0)
    predictions = {("hdnnp", "ethanol_xtb", 20, 0): stored_arrays(rng)}
    write_report(results_table([20], baseline=False), sweep([20]), tmp_path / "report.md", predictions=predictions)
    assert not (tmp_path / "learning_curves.png").exists() and (tmp_path / "parity_ethanol_xtb.png").is_file()
    assert "learning_curves.png" not in (tmp_path / "report.md").read_text()


def test_pareto_front_keeps_the_rows_nothing_beats_on_both():
    points = pd.DataFrame({"model": list("abcdef"), "inference_us_atom": [1.0, 2.0, 3.0, 3.0, 4.0, 0.5],
                           "forces_rmse_mev_a": [50.0, 60.0, 20.0, 10.0, 10.0, np.nan]})
    # b is slower and worse than a; c ties d in cost but is worse; e ties d in accuracy but is slower
    assert pareto_front(points)["model"].tolist() == ["a", "d"]


def test_report_has_a_pareto_plot_and_validation_curves(tmp_path):
    rng = np.random.default_rng(0)
    results = pd.concat([results_table([20], baseline=False),
                         results_table([20], baseline=False).assign(model="schnet", inference_us_atom=90.0)])
    predictions = {(m, "ethanol_xtb", 20, 0): {**stored_arrays(rng), VAL_LOSS_CURVE: np.geomspace(1, 0.1, 7)}
                   for m in ("hdnnp", "schnet")}
    write_report(results, sweep([20]), tmp_path / "report.md", predictions=predictions)
    report = (tmp_path / "report.md").read_text()
    for name in ("pareto.png", "validation_loss.png"):
        assert (tmp_path / name).stat().st_size > 1000 and f"]({name})" in report


def test_parity_uses_the_largest_training_set_and_lowest_seed():
    predictions = {("hdnnp", "d", n, s): {"id": (n, s)} for n in (10, 40, 20) for s in (1, 0)}
    assert parity_cells(predictions) == {"d": {"hdnnp": {"id": (40, 0)}}}


def test_report_without_predictions_or_successful_cells(tmp_path):
    failed = pd.DataFrame([{"model": "hdnnp", "generation": "2G", "dataset": "ethanol_xtb", "n_train": n,
                            "seed": 0, "status": "error: boom"} for n in (10, 20)])
    write_report(failed, sweep([10, 20]), tmp_path / "report.md", predictions={})
    assert list(tmp_path.glob("*.png")) == [] and "error: boom" in (tmp_path / "report.md").read_text()
