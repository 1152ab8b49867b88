"""The active-learning benchmark's pooling of seeds and its summary table."""

import pandas as pd
import pytest

from benchmarks.active_learning import cu_explorations, exploration_label, picks_table, pooled_curves, summary


def curve(seed, committee, random):
    rows = [{"strategy": strategy, "n_labelled": n, "forces_rmse_mev_a": f, "seed": seed}
            for strategy, errors in (("committee", committee), ("random", random))
            for n, f in zip((10, 20), errors)]
    return pd.DataFrame(rows)


def test_summary_gives_the_median_range_and_the_seeds_where_the_committee_is_lower():
    table = summary(pd.concat([curve(0, (100, 60), (100, 80)), curve(1, (90, 90), (90, 70)),
                               curve(2, (110, 50), (110, 100))])).set_index("n_labelled")
    assert table.loc[20, "committee median"] == 60 and table.loc[20, "random median"] == 80
    assert (table.loc[20, "committee min"], table.loc[20, "committee max"]) == (50, 90)
    assert table.loc[20, "ratio median"] == pytest.approx(0.75)  # of 0.75, 90/70 and 0.5
    assert table.loc[20, "seeds committee lower"] == "2/3"
    assert table.loc[10, "seeds committee lower"] == "0/3" and table.loc[10, "ratio median"] == 1


def test_seed_files_are_pooled_in_seed_order(tmp_path):
    for seed in (10, 2):
        curve(seed, (1, 2), (3, 4)).to_csv(tmp_path / f"seed-{seed}.csv", index=False)
    assert pooled_curves(tmp_path)["seed"].unique().tolist() == [2, 10]


def test_picks_are_summed_per_exploration_and_strategy():
    curve = pd.DataFrame({"strategy": ["committee", "committee", "committee", "random"],
                          "picks_per_exploration": ["2 0 1", "1 1 1", None, "0 3 0"]})
    table = picks_table(curve, ["300 K", "600 K, -3 %", "900 K, random strain"])
    assert table["committee"].tolist() == [3, 1, 2] and table["random"].tolist() == [0, 3, 0]
    older = curve.drop(columns="picks_per_exploration")  # seed files written before the counts existed
    assert picks_table(older, ["300 K", "600 K", "900 K"])["committee"].tolist() == [0, 0, 0]


def test_one_explorations_counts_survive_the_seed_file(tmp_path):
    # one exploration: counts like "10", and the last round has none (NaN), which pandas
    # would read back as the floats 10.0 and NaN
    pd.DataFrame({"strategy": ["committee", "committee", "random", "random"], "seed": 0,
                  "picks_per_exploration": ["10", None, "10", None]}).to_csv(tmp_path / "seed-0.csv", index=False)
    assert picks_table(pooled_curves(tmp_path), ["900 K"])["random"].tolist() == [10]


def test_exploration_labels_name_temperature_and_strain():
    labels = [exploration_label(e) for e in cu_explorations(5, 0, seed=0)]
    assert labels[:4] == ["300 K", "600 K", "900 K", "1300 K"]
    assert labels[4:] == ["600 K, -3 %", "600 K, +3 %", "300 K, random strain", "900 K, random strain"]
