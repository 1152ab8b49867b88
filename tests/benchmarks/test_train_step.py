"""benchmarks.train_step: one batch, three timings per model, from the sweep's settings."""

import numpy as np

from benchmarks import train_step


def test_each_model_gets_three_positive_timings_on_one_batch(capsys):
    rows = train_step.main(["--models", "hdnnp", "eann", "--batch-size", "2", "--repeats", "2"])
    assert [row["model"] for row in rows] == ["hdnnp", "eann"]
    for row in rows:
        assert row["atoms"] == 2 * 108  # two Cu-108 cells in the batch
        times = [row[k] for k in ("forward_ms", "energy_forces_ms", "train_step_ms")]
        assert np.all(np.isfinite(times)) and min(times) > 0
    assert "x hdnnp" in capsys.readouterr().out
