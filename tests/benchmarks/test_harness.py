"""The harness end to end on a tiny sweep, plus its pure parts."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zoo
from benchmarks.__main__ import main
from benchmarks.metrics import energy_errors, force_errors, structure_force_errors
from benchmarks.sweep import load_sweep

SWEEP = """
name = "tiny"
models = ["hdnnp"]
seeds = [0]
[budget]
epochs = 3
max_seconds = 60
batch_size = 4
[[datasets]]
name = "{path}"
n_train = [12]
n_val = 4
n_test = 4
[hyper.hdnnp]
cutoff = 4.0
hidden = [8]
"""


def test_cli_runs_a_sweep_and_writes_results(tmp_path, cu_data, capsys):
    run_tiny_sweep(tmp_path, cu_data, capsys)


def run_tiny_sweep(tmp_path, cu_data, capsys):
    """Run the tiny sweep through the CLI, check its outputs; returns (sweep file, results)."""
    data_path = tmp_path / "cu.extxyz"
    cu_data.write(data_path)
    sweep_path = tmp_path / "tiny.toml"
    sweep_path.write_text(SWEEP.format(path=data_path))
    assert main(["run", str(sweep_path), "--out", str(tmp_path / "results")]) == 0
    results = pd.read_csv(tmp_path / "results" / "tiny" / "results.csv")
    row = results.iloc[0]
    assert row["status"] == "ok" and row["model"] == "hdnnp" and row["epochs"] == 3
    for column in ("energy_rmse_mev_atom", "forces_rmse_mev_a", "featurize_us_atom", "train_s_epoch",
                   "train_structures_s", "inference_us_atom", "inference_small_us_atom", "best_val_loss"):
        assert np.isfinite(row[column]) and row[column] > 0, column
    assert row["train_structures_s"] == pytest.approx(12 / row["train_s_epoch"])
    assert row["peak_rss_mib"] > 100  # at least TensorFlow's own footprint
    assert 0 < row["peak_rss_growth_mib"] < row["peak_rss_mib"]
    report = (tmp_path / "results" / "tiny" / "report.md").read_text()
    assert "| hdnnp |" in report and "F RMSE (meV/Å)" in report
    assert "hdnnp" in capsys.readouterr().out
    return sweep_path, results


def test_a_second_run_resumes_from_the_stored_cells(tmp_path, cu_data, capsys, monkeypatch):
    import benchmarks.runner

    sweep_path, first = run_tiny_sweep(tmp_path, cu_data, capsys)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished cell ran again")

    from benchmarks.report import load_results

    stored = load_results(tmp_path / "results" / "tiny", load_sweep(sweep_path))
    assert stored["model"].tolist() == ["hdnnp"] and stored["status"].tolist() == ["ok"]
    assert stored["forces_rmse_mev_a"].iloc[0] == pytest.approx(first["forces_rmse_mev_a"].iloc[0])
    with pytest.raises(FileNotFoundError, match="run the sweep first"):
        load_results(tmp_path / "nothing", load_sweep(sweep_path))
    # the stored test predictions give the table's errors again
    from benchmarks.report import load_predictions

    (arrays,) = load_predictions(tmp_path / "results" / "tiny", load_sweep(sweep_path)).values()
    error = arrays["predicted_forces"] - arrays["reference_forces"]
    assert 1e3 * np.sqrt(np.mean(error ** 2)) == pytest.approx(first["forces_rmse_mev_a"].iloc[0], rel=1e-5)
    assert arrays["n_atoms"].sum() == len(arrays["reference_forces"]) and "predicted_charges" not in arrays
    assert len(arrays["val_loss_curve"]) == len(arrays["loss_curve"]) == 3
    assert arrays["val_loss_curve"].min() == pytest.approx(first["best_val_loss"].iloc[0])
    monkeypatch.setattr(benchmarks.runner, "run_cell", must_not_run)
    assert main(["run", str(sweep_path), "--out", str(tmp_path / "results")]) == 0
    again = pd.read_csv(tmp_path / "results" / "tiny" / "results.csv")
    pd.testing.assert_frame_equal(first, again)
    # --fresh runs it again (here: into the patched run_cell, recorded as an error cell)
    assert main(["run", str(sweep_path), "--out", str(tmp_path / "results"), "--fresh", "--workers", "0"]) == 1
    assert pd.read_csv(tmp_path / "results" / "tiny" / "results.csv").iloc[0]["status"].startswith("error")


def test_peak_rss_is_measured_per_cell():
    """A worker runs many cells: after the reset, a peak of an earlier cell is not counted."""
    from benchmarks.memory import peak_rss_mib, reset_peak_rss

    if not reset_peak_rss():
        pytest.skip("this kernel does not allow resetting the peak RSS")
    before = peak_rss_mib()
    block = np.ones(2**27 // 8)  # 128 MiB, touched
    during = peak_rss_mib()
    del block
    assert during - before > 100
    reset_peak_rss()
    assert peak_rss_mib() < during - 100


def test_metrics_are_per_atom_and_per_component():
    e = energy_errors(np.array([2.0, -1.0]), np.array([0.0, 0.0]), np.array([2, 1]))
    assert e["energy_mae_mev_atom"] == pytest.approx(1000.0)
    assert e["energy_rmse_mev_atom"] == pytest.approx(1000.0)
    f = force_errors(np.array([[0.0, 0.0, 0.3]]), np.zeros((1, 3)))
    assert f["forces_mae_mev_a"] == pytest.approx(100.0)
    assert f["forces_rmse_mev_a"] == pytest.approx(1000 * np.sqrt(0.03))


def test_structure_force_errors_are_each_structures_own_rmse():
    # three structures of 2, 1 and 3 atoms; only the second has errors, 0.3 eV/Å in one component
    reference = np.zeros((6, 3))
    predicted = reference.copy()
    predicted[2, 1] = 0.3
    errors = structure_force_errors(predicted, reference, np.array([2, 1, 3]))
    assert errors["forces_structure_max_rmse_mev_a"] == pytest.approx(1000 * 0.3 / np.sqrt(3))
    assert errors["forces_structure_median_rmse_mev_a"] == 0.0
    overall = force_errors(predicted, reference)["forces_rmse_mev_a"]
    assert overall == pytest.approx(1000 * 0.3 / np.sqrt(18))  # the set's RMSE dilutes the one bad structure
    with pytest.raises(ValueError, match="n_atoms"):
        structure_force_errors(predicted, reference, np.array([2, 1, 2]))  # 5 atoms for 6 force rows


def test_malformed_sweep_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[[datasets]]\nname = "x"\n')
    with pytest.raises(ValueError, match="malformed"):
        load_sweep(path)


def two_data_set_sweep(tmp_path, header: str, b_models: str = ""):
    """A sweep of data sets "a" and "b" (4 / 1 / 1 structures) under ``header``."""
    path = tmp_path / "two.toml"
    path.write_text(f'name = "two"\n{header}'
                    '[[datasets]]\nname = "a"\nn_train = [4]\nn_val = 1\nn_test = 1\n'
                    f'[[datasets]]\nname = "b"\nn_train = [4]\nn_val = 1\nn_test = 1\n{b_models}')
    return load_sweep(path)


def test_a_data_set_may_name_its_own_models(tmp_path):
    sweep = two_data_set_sweep(tmp_path, 'models = "all"\n', 'models = ["hdnnp"]\n')
    registered = {"hdnnp": None, "other": None}
    assert sweep.model_names(registered, sweep.datasets[0]) == ["hdnnp", "other"]
    assert sweep.model_names(registered, sweep.datasets[1]) == ["hdnnp"]


def test_part_of_a_sweep_runs_the_full_sweeps_cells(tmp_path):
    from benchmarks.runner import forget_cells, plan
    from benchmarks.sweep import select

    sweep = two_data_set_sweep(tmp_path, 'models = ["hdnnp", "schnet"]\nseeds = [0, 1]\n')
    registered = {name: zoo.registry.info(name) for name in ("hdnnp", "schnet")}
    full = {cell.key for cell in plan(sweep, registered)}
    part = plan(select(sweep, registered, models=["schnet"], datasets=["b"], seeds=[1]), registered)
    assert [(c.row["model"], c.row["dataset"], c.row["seed"]) for c in part] == [("schnet", "b", 1)]
    assert part[0].key in full  # the same cell: a later full run resumes from it
    assert [c.row["seed"] for c in plan(select(sweep, registered, seeds=[7]), registered)] == [7] * 4
    with pytest.raises(ValueError, match=r"no data sets \['c'\].*\['a', 'b'\]"):
        select(sweep, registered, datasets=["c"])
    with pytest.raises(ValueError, match=r"does not run \['eann'\].*\['hdnnp', 'schnet'\]"):
        select(sweep, registered, models=["eann"])
    # --fresh on a part forgets that part's stored cells only
    cells = tmp_path / "out" / "cells"
    cells.mkdir(parents=True)
    for key in full:
        (cells / f"{key}.json").write_text("{}")
    forget_cells(select(sweep, registered, models=["schnet"], datasets=["b"], seeds=[1]), tmp_path / "out")
    assert {p.stem for p in cells.glob("*.json")} == full - {part[0].key}


SWEEP_WITH_LOSS = ('name = "weights"\nmodels = ["hdnnp", "schnet"]\n'
                   '[[datasets]]\nname = "a"\nn_train = [4]\nn_val = 1\nn_test = 1\n'
                   '[loss]\n{loss}\n[hyper.schnet]\nforces_weight = 0.5\ncutoff = 4.0\n')


def test_the_loss_table_reaches_every_model_and_a_model_table_overrides_it(tmp_path):
    from benchmarks.runner import plan

    path = tmp_path / "weights.toml"
    path.write_text(SWEEP_WITH_LOSS.format(loss="energy_weight = 1\nforces_weight = 0.03"))
    cells = plan(load_sweep(path), {name: zoo.registry.info(name) for name in ("hdnnp", "schnet")})
    hyper = {cell.row["model"]: cell.hyper for cell in cells}
    assert hyper == {"hdnnp": {"energy_weight": 1.0, "forces_weight": 0.03},
                     "schnet": {"energy_weight": 1.0, "forces_weight": 0.5, "cutoff": 4.0}}
    model = zoo.create("hdnnp", elements=[29], cutoff=4.0, hidden=[4], **hyper["hdnnp"])
    assert (model.energy_weight, model.forces_weight) == (1.0, 0.03)


def test_an_unknown_loss_weight_is_reported(tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text(SWEEP_WITH_LOSS.format(loss="force_weight = 0.03"))
    with pytest.raises(ValueError, match=r"\[loss\] names \['force_weight'\].*forces_weight"):
        load_sweep(path)

@pytest.fixture()
def dask_cluster_by_hand(tmp_path):
    """A ``dask scheduler`` and one ``dask worker`` started as separate processes on
    localhost, as a user would start them (or dask-jobqueue would on a cluster)."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    dask = shutil.which("dask", path=str(Path(sys.executable).parent))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    logs = open(tmp_path / "dask.log", "w")
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=logs, stderr=logs)
    worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                              stdout=logs, stderr=logs)
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()
        time.sleep(0.1)


def test_cells_run_on_a_scheduler_started_by_hand(tmp_path, cu_data, dask_cluster_by_hand):
    data_path = tmp_path / "cu.extxyz"
    cu_data.write(data_path)
    sweep_path = tmp_path / "tiny.toml"
    sweep_path.write_text(SWEEP.format(path=data_path).replace("epochs = 3", "epochs = 1"))
    assert main(["run", str(sweep_path), "--out", str(tmp_path / "results"),
                 "--scheduler", dask_cluster_by_hand]) == 0
    row = pd.read_csv(tmp_path / "results" / "tiny" / "results.csv").iloc[0]
    assert row["status"] == "ok" and row["epochs"] == 1


def test_progress_line_is_rewritten_on_a_terminal_and_logged_elsewhere(caplog):
    import io
    import logging

    from benchmarks.cluster import Progress, progress_line

    assert progress_line(10, 3, 2, 1) == "cells: 3/10 done (1 failed), 2 running, 5 queued"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    progress = Progress(4, stream=screen)
    progress.show(0, 2, 0)
    progress.show(0, 2, 0)  # unchanged: not written again
    progress.show(1, 1, 1)
    progress.close()
    lines = screen.getvalue().split("\r")[1:]
    assert len(lines) == 2 and lines[1].startswith("cells: 1/4 done (1 failed), 1 running, 2 queued")
    assert screen.getvalue().endswith("\n")
    with caplog.at_level(logging.INFO, logger="benchmarks.cluster"):
        logged = Progress(2, stream=io.StringIO())
        logged.show(0, 1, 0)
        logged.show(2, 0, 0)
    assert [r.getMessage() for r in caplog.records] == [progress_line(2, 0, 1, 0), progress_line(2, 2, 0, 0)]


def test_the_wall_time_budget_stops_training_within_a_batch(cu_data):
    """A model whose epoch outlasts the budget stops after the batch that spends it, and
    its epoch time is extrapolated from the batches it ran."""
    import keras

    import zoo
    from benchmarks.runner import BudgetSchedule
    from benchmarks.sweep import Budget

    model = zoo.create("hdnnp", elements=cu_data.elements, cutoff=4.0, hidden=[8])
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    schedule = BudgetSchedule(Budget(epochs=5, max_seconds=1e-3, batch_size=2))
    history = model.fit(cu_data, validation_data=cu_data[:4], epochs=5, batch_size=2, callbacks=[schedule], verbose=0)
    assert len(history.history["val_loss"]) == 1  # the cut epoch is still validated
    assert schedule.epoch_batches == [1] and len(cu_data) > 2
    full = -(-len(cu_data) // 2)
    expected = schedule.train_seconds[0] * full + schedule.validation_seconds[0]
    assert schedule.seconds_per_epoch(full) == pytest.approx(expected)
    assert schedule.validation_seconds[0] > 0


def test_a_cell_whose_process_dies_is_an_error_row(tmp_path, monkeypatch):
    import sys

    from benchmarks.isolated import run_isolated
    from benchmarks.runner import Cell, finished_cell
    from benchmarks.sweep import Budget, DataSpec

    cell = Cell({"model": "hdnnp", "generation": "2G", "dataset": "d", "n_train": 4, "seed": 0}, {},
                DataSpec("d", (4,), 1, 1), Budget(epochs=1))
    monkeypatch.setattr(sys, "executable", "/bin/false")  # a child that exits 1 at once, without a row
    row = run_isolated(cell, tmp_path)
    assert row["status"].startswith("error: the cell's process ended without a result (exit status 1")
    assert row["model"] == "hdnnp" and (tmp_path / f"{cell.key}.json").is_file()
    assert finished_cell(tmp_path, cell.key) is None  # retried by the next run


def test_the_budget_sets_the_feature_cache_of_fit(cu_data, monkeypatch):
    from benchmarks.runner import run_cell
    from benchmarks.sweep import Budget, DataSpec

    seen = []
    original = zoo.Potential.fit

    def recording(self, *args, **kwargs):
        seen.append(kwargs.get("cache_bytes"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zoo.Potential, "fit", recording)
    row = run_cell("hdnnp", {"cutoff": 4.0, "hidden": [8]}, cu_data, DataSpec("cu", (8,), 4, 4), 8, 0,
                   Budget(epochs=1, batch_size=4, cache_mib=3))
    assert seen == [3 * 2**20] and row["epochs"] == 1
