"""The Qeq scaling benchmark runs and reports what its docstring says."""

import numpy as np

from benchmarks.qeq_scaling import main, rock_salt_cluster


def test_rock_salt_cluster_is_a_compact_alternating_block():
    positions, numbers = rock_salt_cluster(27)
    distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    assert distances.min() == 2.75
    nearest = distances == 2.75
    assert not np.any(nearest & (numbers[:, None] == numbers[None]))  # neighbours alternate Na/Cl


def test_qeq_scaling_table():
    table = main(["--sizes", "8", "20", "--repeats", "1"])
    assert list(table.n_atoms) == [8, 20]
    assert np.all(table[["coulomb_ms", "acsf_ms", "solve_ms", "solve_gradient_ms"]].to_numpy() > 0)
    assert np.all((table.solve_share > 0) & (table.solve_share < 1))
