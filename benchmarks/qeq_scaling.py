"""Where the dense charge-equilibration solve of the 4G models starts to dominate.

    python -m benchmarks.qeq_scaling [--sizes 25 50 100 200 400 800] [--repeats 5]

For NaCl clusters cut from rock salt (spacing 2.75 Å, alternating Na/Cl, neutral) of n
atoms, one structure per batch, reported per n (medians of ``repeats``): the Coulomb matrix
of Gaussian charges with its Jacobian (:func:`descriptors.coulomb.coulomb_matrix`, O(n²)),
the ACSF values and Jacobian of the default 4G set at 6 Å (O(n)), and the batched
constrained solve of :mod:`zoo.layers.qeq` (float64, O(n³)) forward and forward plus the
gradient with respect to the Coulomb entries and electronegativities (what the forces of
a 4G model need). ``solve_share`` is the forward-and-gradient solve divided by the sum of
the three, i.e. the solve's part of one energy-and-forces evaluation before the networks.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import tensorflow as tf

from benchmarks.timing import median_seconds
from descriptors.acsf import AcsfParams, acsf
from descriptors.coulomb import CoulombParams, coulomb_matrix, triangle_indices
from descriptors.neighbors import neighbor_list
from descriptors.qeq import self_energy_diagonal
from zoo.layers.qeq import constrained_solve

SPACING = 2.75


def rock_salt_cluster(n_atoms: int):
    """Positions [n, 3] (Å) and atomic numbers of the n sites nearest the centre of a cube."""
    edge = int(np.ceil(n_atoms ** (1 / 3))) + 2
    grid = np.stack(np.meshgrid(*[np.arange(edge)] * 3, indexing="ij"), -1).reshape(-1, 3)
    centre = grid.mean(axis=0)
    order = np.argsort(np.linalg.norm(grid - centre, axis=1), kind="stable")[:n_atoms]
    sites = grid[order]
    numbers = np.where(sites.sum(axis=1) % 2 == 0, 11, 17)
    return SPACING * sites.astype(float), numbers


def timings(n_atoms: int, repeats: int) -> dict:
    positions, numbers = rock_salt_cluster(n_atoms)
    cell, pbc = np.zeros((3, 3)), np.zeros(3, bool)
    widths = np.where(numbers == 11, 1.66, 1.02)
    params = AcsfParams.auto((11, 17), 6.0)
    coulomb = CoulombParams(damping="gaussian")

    def featurize_acsf():
        return acsf(positions, numbers, cell, pbc, neighbor_list(positions, cell, pbc, params.cutoff), params)

    values, _ = coulomb_matrix(positions, cell, pbc, coulomb, widths=widths)
    i, j = (tf.constant(a) for a in triangle_indices(n_atoms))
    pair_values = tf.constant(values[:, 0])
    diagonal = tf.constant(self_energy_diagonal(widths) + 1.0)
    chi = tf.constant(np.random.default_rng(0).normal(0.0, 1.0, n_atoms))
    structure, sizes, total = tf.zeros(n_atoms, tf.int64), tf.constant([n_atoms], tf.int64), tf.constant([0.0], tf.float64)

    def solve():
        return constrained_solve(pair_values, i, j, diagonal, -chi, total, structure, sizes)[0].numpy()

    def solve_and_gradient():
        with tf.GradientTape() as tape:
            tape.watch([pair_values, chi])
            q = constrained_solve(pair_values, i, j, diagonal, -chi, total, structure, sizes)[0]
            energy = tf.reduce_sum(chi * q)
        return [g.numpy() for g in tape.gradient(energy, [pair_values, chi])]

    row = {"n_atoms": n_atoms,
           "coulomb_ms": 1e3 * median_seconds(lambda: coulomb_matrix(positions, cell, pbc, coulomb, widths=widths),
                                              repeats),
           "acsf_ms": 1e3 * median_seconds(featurize_acsf, repeats),
           "solve_ms": 1e3 * median_seconds(solve, repeats),
           "solve_gradient_ms": 1e3 * median_seconds(solve_and_gradient, repeats)}
    row["solve_share"] = row["solve_gradient_ms"] / (row["coulomb_ms"] + row["acsf_ms"] + row["solve_gradient_ms"])
    return row


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200, 400, 800])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    table = pd.DataFrame([timings(n, args.repeats) for n in args.sizes])
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return table


if __name__ == "__main__":
    main()
