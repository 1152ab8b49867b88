"""benchmarks.md_speed end to end on tiny settings: its tables land in report.md."""

import pandas as pd

from benchmarks import md_speed


def test_speed_and_ethanol_drift_runs_write_the_report(tmp_path):
    md_speed.main(["--sizes", "108", "--steps", "1", "--system", "ethanol", "--drift-ps", "0.01",
                   "--train-seconds", "2", "--out", str(tmp_path)])
    speed = pd.read_csv(tmp_path / md_speed.SPEED_CSV)
    drift = pd.read_csv(tmp_path / "drift_ethanol.csv")
    assert speed["n_atoms"].tolist() == [108] and (speed["us_atom_step"] > 0).all()
    assert drift["system"].tolist() == ["ethanol"] and drift["model"].tolist() == ["SchNet"]
    assert drift["ps"].iloc[0] == 0.01 and 0 < drift["mean_temperature_K"].iloc[0] < 3000
    report = (tmp_path / "report.md").read_text()
    assert "µs/atom/MD step" in report and "NVE drift" in report and "| ethanol |" in report
