"""Δ-learning cells in the harness: their own rows and keys, cached baseline labels, and
predictions that are the baseline (tblite, an oracle nobody here wrote) plus the model."""

import numpy as np
import pytest

import zoo
from benchmarks import baselines
from benchmarks.report import comparison_table, load_predictions
from benchmarks.runner import BASELINE, PREDICTED, plan, run, split_data, write_results
from benchmarks.sweep import Budget, DataSpec, DeltaSpec, Sweep, load_sweep
from zoo import keys


def tiny_sweep(path, delta=True) -> Sweep:
    return Sweep(name="tinydelta", models=("hdnnp",), seeds=(0,),
                 datasets=(DataSpec(str(path), n_train=(12,), n_val=4, n_test=4),),
                 budget=Budget(epochs=1, max_seconds=30, batch_size=4), hyper={"hdnnp": {"cutoff": 4.0, "hidden": [8]}},
                 delta=DeltaSpec("gfn1-xtb") if delta else None)


@pytest.fixture()
def ethanol_file(tmp_path, ethanol_data, monkeypatch):
    monkeypatch.setenv("NNP_ZOO_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "ethanol.extxyz"
    ethanol_data.write(path)
    return path


def test_delta_cell_predicts_baseline_plus_its_model(ethanol_file, tmp_path, monkeypatch):
    created = []

    def create(*args, **kwargs):  # keep the models the cells train
        created.append(zoo.registry.create(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(zoo, "create", create)
    sweep = tiny_sweep(ethanol_file)
    folder = tmp_path / "results" / sweep.name
    results = run(sweep, folder, workers=0)
    assert results["status"].tolist() == ["ok", "ok"]
    assert results["baseline"].isna().tolist() == [True, False] and results["baseline"].iloc[1] == "gfn1-xtb"
    direct_key, delta_key = (cell.key for cell in plan(sweep, zoo.registry.registered()))
    assert direct_key != delta_key and delta_key.startswith("hdnnp+delta-gfn1-xtb-")
    assert comparison_table(results)["model"].tolist() == ["hdnnp", "hdnnp+Δ(gfn1-xtb)"]
    assert results["inference_us_atom"].iloc[1] > results["baseline_us_atom"].iloc[1] > 0

    stored = load_predictions(folder, sweep)
    (direct_id, delta_id) = stored
    assert direct_id[0] == "hdnnp" and delta_id[0] == "hdnnp+Δ(gfn1-xtb)"
    arrays = stored[delta_id]
    data = zoo.data.read(ethanol_file)
    test = split_data(data, sweep.datasets[0], 12, 0)[2]
    correction = created[1].predict(test, verbose=0)
    for key in baselines.CORRECTED:  # predicted − baseline is the inner model's prediction
        np.testing.assert_allclose(arrays[f"{PREDICTED}{key}"] - arrays[f"{BASELINE}{key}"], correction[key],
                                   rtol=1e-6, atol=1e-6)
    # and the whole prediction is zoo.Delta's, with tblite's GFN1-xTB (neutral ethanol) as the baseline
    from tblite.ase import TBLite

    delta = zoo.Delta(created[1], baseline=lambda: TBLite(method="GFN1-xTB", verbosity=0))
    expected = delta.predict(test)
    for key in baselines.CORRECTED:
        np.testing.assert_allclose(arrays[f"{PREDICTED}{key}"], expected[key], rtol=1e-7, atol=1e-6)
    # the report shows both rows
    write_results(results, sweep, tmp_path / "results")
    assert "| hdnnp+Δ(gfn1-xtb) |" in (folder / "report.md").read_text()
    assert (folder / "parity_ethanol.png").is_file()


def test_baseline_labels_are_computed_once_and_cached(ethanol_file, monkeypatch):
    data = zoo.data.read(ethanol_file)[np.arange(3)]
    first = baselines.labels(data, "gfn1-xtb")
    assert baselines.cache_path(data, "gfn1-xtb").is_file()
    monkeypatch.setattr(baselines, "compute", lambda *a: pytest.fail("baseline labels computed again"))
    again = baselines.labels(data, "gfn1-xtb")
    np.testing.assert_array_equal(first.labels[keys.FORCES], again.labels[keys.FORCES])
    # another set of structures has another cache entry
    assert baselines.cache_path(data[np.arange(2)], "gfn1-xtb") != baselines.cache_path(data, "gfn1-xtb")


def test_direct_cells_keep_their_keys_when_a_sweep_adds_delta_cells(tmp_path):
    registered = zoo.registry.registered()
    without, with_delta = plan(tiny_sweep("x.extxyz", delta=False), registered), plan(tiny_sweep("x.extxyz"), registered)
    assert [c.key for c in without] == [with_delta[0].key] and len(with_delta) == 2


def test_delta_table_in_a_sweep_file_is_checked(tmp_path):
    head = 'name = "d"\nmodels = ["hdnnp"]\n[[datasets]]\nname = "a"\nn_train = [4]\nn_val = 1\nn_test = 1\n'
    path = tmp_path / "d.toml"
    path.write_text(head + '[delta]\nbaseline = "gfn1-xtb"\nmodels = ["hdnnp"]\n')
    assert load_sweep(path).delta == DeltaSpec("gfn1-xtb", ("hdnnp",))
    path.write_text(head + '[delta]\nbaseline = "dft"\n')
    with pytest.raises(ValueError, match="unknown Δ baseline 'dft'"):
        load_sweep(path)
    path.write_text(head + '[delta]\nbaseline = "emt"\nmodels = ["schnet"]\n')
    with pytest.raises(ValueError, match="delta.models names"):
        load_sweep(path)


def test_emt_baseline_refuses_charged_structures():
    with pytest.raises(ValueError, match="neutral structures only"):
        baselines.emt(1.0)
