"""benchmarks.scaling: the O(N) sweep on tiny cells, its pure table functions, its budget and errors."""

import math

import numpy as np
import pandas as pd
import pytest

import zoo
from benchmarks import scaling


def hand_made(model, n_atoms, us_per_atom, statuses=None):
    statuses = statuses or ["ok"] * len(n_atoms)
    return pd.DataFrame({"model": model, "generation": "2G", "n_atoms": n_atoms, "us_per_atom": us_per_atom,
                         "status": statuses})


def test_copper_data_is_a_rattled_periodic_supercell():
    data = scaling.copper_data(2)
    assert len(data) == 1 and data.n_atoms.tolist() == [32] and data.elements == (29,)
    assert data.pbc.all() and np.allclose(data.cell[0], 7.22 * np.eye(3))
    sites = scaling.rattled_copper(2, np.random.default_rng(0)).positions
    ideal = np.round(sites / 1.805) * 1.805  # fcc sites lie on the a/2 grid
    displacement = np.abs(data.positions - ideal)
    assert 0 < displacement.max() < 0.3


def test_cost_ratio_is_one_for_linear_and_four_for_quadratic_cost():
    table = pd.concat([
        hand_made("linear", [100, 400, 1600], [5.0, 5.0, 5.0]),
        hand_made("quadratic", [100, 200, 400], [2.0, 4.0, 8.0]),  # µs/atom ∝ N: time ∝ N²
        hand_made("cut", [100, 400, 1600], [1.0, 3.0, np.nan], ["ok", "ok", "skipped: slower than 1 s"]),
        hand_made("single", [100, 400], [1.0, np.nan], ["ok", "error: MemoryError: "]),
    ])
    ratios = scaling.cost_ratios(table).set_index("model")
    assert list(ratios.index) == ["linear", "quadratic", "cut"]  # one measured size has no ratio
    assert ratios.loc["linear", "cost_ratio"] == pytest.approx(1.0)
    assert ratios.loc["linear", "exponent"] == pytest.approx(1.0)
    assert ratios.loc["quadratic", "cost_ratio"] == pytest.approx(4.0)
    assert ratios.loc["quadratic", "exponent"] == pytest.approx(2.0)
    assert ratios.loc["cut", "cost_ratio"] == pytest.approx(3.0)  # largest *measured* size: 400
    assert ratios.loc["cut", "exponent"] == pytest.approx(1 + math.log(3) / math.log(4))


def test_pivot_table_has_a_row_per_model_and_a_column_per_size():
    table = pd.concat([
        hand_made("quadratic", [100, 400], [2.0, 8.0]),
        hand_made("cut", [100, 400], [1.0, np.nan], ["ok", "skipped: slower than 1 s per call at 100 atoms"]),
        hand_made("molecule", [100, 400], [np.nan, np.nan], ["skipped: for molecules"] * 2),
    ])
    pivot = scaling.pivot_table(table)
    assert list(pivot.columns) == ["model", "generation", "100", "400", "cost ratio", "exponent", "status"]
    assert pivot["model"].tolist() == ["quadratic", "cut", "molecule"]
    assert pivot["100"].tolist()[:2] == [2.0, 1.0] and pivot["400"].tolist()[0] == 8.0
    assert pivot["cost ratio"].iloc[0] == pytest.approx(4.0) and np.isnan(pivot["cost ratio"].iloc[1])
    assert pivot["status"].tolist() == ["ok", "skipped: slower than 1 s per call at 100 atoms",
                                        "skipped: for molecules"]


def test_sweep_records_skips_and_errors_and_writes_the_report(tmp_path, monkeypatch):
    create = zoo.create

    def failing_dtnn(name, **hyper):
        if name == "dtnn":
            raise RuntimeError("no weights today")
        return create(name, **hyper)

    monkeypatch.setattr(zoo, "create", failing_dtnn)
    table = scaling.main(["--models", "dtnn", "hdnnp", "global_nn", "schnet", "--sizes", "2", "1",
                          "--repeats", "1", "--out", str(tmp_path)])
    assert table["model"].tolist() == ["dtnn"] * 2 + ["hdnnp"] * 2 + ["global_nn"] * 2 + ["schnet"] * 2
    assert table["n_atoms"].tolist() == [4, 32] * 4
    by_model = table.groupby("model")["status"].agg(set)
    assert by_model["dtnn"] == {"error: RuntimeError: no weights today"}
    assert by_model["hdnnp"] == by_model["schnet"] == {"ok"}
    assert by_model["global_nn"] == {"skipped: global_nn is for molecules; the data are periodic"}
    ran = table[table["status"] == "ok"]
    for column in ("us_per_atom", "featurize_us_atom"):
        assert np.all(np.isfinite(ran[column])) and np.all(ran[column] > 0)
    assert np.all(ran["featurize_us_atom"] < ran["us_per_atom"])  # featurizing is part of the call
    stored = pd.read_csv(tmp_path / scaling.SCALING_CSV)
    assert list(stored.columns) == list(scaling.COLUMNS) and stored["status"].tolist() == table["status"].tolist()
    report = (tmp_path / scaling.REPORT).read_text()
    assert "| model | generation | 4 | 32 | cost ratio | exponent | status |" in report
    assert "| hdnnp | 2G |" in report and "error: RuntimeError" in report and "scaling.png" in report
    assert (tmp_path / scaling.FIGURE).stat().st_size > 1000


def test_a_slow_model_skips_its_larger_sizes():
    info = zoo.registry.info("hdnnp")
    table = scaling.scaling_sweep({"hdnnp": info}, {"hdnnp": {"cutoff": 3.0}}, [1, 2, 3], repeats=1,
                                  max_seconds=0.0)
    assert table["n_atoms"].tolist() == [4, 32, 108]
    assert table["status"].iloc[0] == "ok" and table["us_per_atom"].iloc[0] > 0
    assert table["status"].iloc[1:].str.startswith("skipped: slower than 0 s per call at 4 atoms").all()
    assert table["us_per_atom"].iloc[1:].isna().all()


def test_an_error_at_one_size_does_not_stop_the_larger_ones(monkeypatch):
    time_inference = scaling.time_inference

    def out_of_memory_at_4_atoms(model, data, repeats):
        if int(data.n_atoms.sum()) == 4:
            raise MemoryError("4 atoms")
        return time_inference(model, data, repeats=repeats)

    monkeypatch.setattr(scaling, "time_inference", out_of_memory_at_4_atoms)
    table = scaling.scaling_sweep({"hdnnp": zoo.registry.info("hdnnp")}, {"hdnnp": {"cutoff": 3.0}}, [1, 2])
    assert table["status"].tolist() == ["error: MemoryError: 4 atoms", "ok"]
    assert table["us_per_atom"].iloc[1] > 0
