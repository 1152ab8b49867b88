"""Speed of the DeepPot-SE environment matrix (values + Jacobian) against DeePMD-kit's
compiled ``prod_env_mat_a`` op, and of the other 2G kernels next to ACSF.

    python -m benchmarks.env_mat_speed [--repeats 21] [--peer-python /tmp/dpenv/bin/python]

Structure: periodic fcc Cu, 3 x 3 x 3 conventional cells (108 atoms), a = 3.61 Å, rattled
(0.05 Å); r_c = 6 Å, r_cs = 5 Å, 100 neighbour slots (``sel``); one thread everywhere
(Numba threads; TensorFlow intra/inter-op threads and OMP_NUM_THREADS for the peer).

DeePMD-kit's op builds its own neighbour list inside, so ours is timed both with the
neighbour list (the fair comparison) and without it. DeePMD-kit is a benchmark-only peer:
it is not a dependency of nnp-zoo; install it into a separate virtual environment
(``python3 -m venv /tmp/dpenv && /tmp/dpenv/bin/pip install "deepmd-kit[cpu]"``) and pass
its interpreter with ``--peer-python``. The peer runs in a subprocess on the same
positions (written to a temporary .npz), between two rounds of ours, in the same invocation
(on a busy machine the two rounds of ours bracket the peer's conditions).
Timings are medians and minima over ``repeats`` calls after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CUTOFF, CUTOFF_SMOOTH, SEL = 6.0, 5.0, 100
DEFAULT_PEER = "/tmp/dpenv/bin/python"


def seconds(fn, repeats: int) -> tuple[float, float]:
    """(median, minimum) seconds of ``repeats`` calls after a warm-up. The minimum is the
    robust figure on a shared machine (a call preempted by other processes only gets
    slower); the median is what the issue asks for."""
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), float(np.min(times))


def copper108(seed: int = 0):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3)
    atoms.positions += np.random.default_rng(seed).normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def ours(atoms, repeats: int) -> dict:
    """µs/atom of our kernels, one Numba thread."""
    import numba

    from descriptors.acsf import AcsfParams, acsf
    from descriptors.deeppot_se import DeepPotSeParams, deeppot_se
    from descriptors.dpmd import DpmdParams, dpmd
    from descriptors.eann import EannParams, eann
    from descriptors.neighbors import neighbor_list

    numba.set_num_threads(1)
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc)
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    se = DeepPotSeParams((29,), CUTOFF, CUTOFF_SMOOTH, SEL)
    kernels = {
        "deeppot_se (env. matrix)": lambda: deeppot_se(*args, nb, se),
        "deeppot_se incl. neighbour list": lambda: deeppot_se(
            *args, neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF), se),
        "neighbour list alone": lambda: neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF),
        "dpmd (16 full + 84 radial slots)": lambda: dpmd(*args, nb, DpmdParams.auto([29], CUTOFF, 16, SEL)),
        "eann (8 radial, L_max 2: 10 + 8 factor columns/pair)": lambda: eann(*args, nb, EannParams.auto([29], CUTOFF)),
        "acsf (auto: 8 G2 + 8 G4 + 8 G5)": lambda: acsf(*args, nb, AcsfParams.auto([29], CUTOFF)),
    }
    n = len(atoms)
    return {name: [1e6 * t / n for t in seconds(fn, repeats)] for name, fn in kernels.items()}


def peer(path: str, repeats: int) -> dict:
    """Runs inside DeePMD-kit's environment: µs/atom of prod_env_mat_a (values + deriv)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from deepmd.tf.env import op_module, tf

    data = np.load(path)
    coord, box = data["positions"].reshape(1, -1), data["cell"].reshape(1, 9)
    n = coord.shape[1] // 3
    types = np.zeros((1, n), np.int32)
    natoms = np.array([n, n, n], np.int32)
    mesh = np.zeros(6, np.int32)  # size 6: periodic, DeePMD-kit's convention
    graph = tf.Graph()
    with graph.as_default():
        ph = {k: tf.placeholder(tf.float64, [None, None]) for k in ("coord", "box")}
        outputs = op_module.prod_env_mat_a(
            ph["coord"], tf.constant(types), tf.constant(natoms), ph["box"], tf.constant(mesh),
            tf.constant(np.zeros((1, 4 * SEL))), tf.constant(np.ones((1, 4 * SEL))),
            rcut_a=-1.0, rcut_r=CUTOFF, rcut_r_smth=CUTOFF_SMOOTH, sel_a=[SEL], sel_r=[0])
        config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
        with tf.Session(graph=graph, config=config) as session:
            feed = {ph["coord"]: coord, ph["box"]: box}
            descrpt, deriv, _, nlist = session.run(outputs, feed_dict=feed)
            timing = seconds(lambda: session.run(outputs[:2], feed_dict=feed), repeats)
    filled = int((nlist >= 0).sum())
    return {"prod_env_mat_a (values + deriv, own neighbour list)": [1e6 * t / n for t in timing],
            "_filled_slots": filled, "_shape": [list(descrpt.shape), list(deriv.shape)]}


def run_peer(python: str, atoms, repeats: int) -> dict | str:
    """The peer's timings, or the reason it could not run."""
    if not os.path.exists(python):
        return f"no DeePMD-kit interpreter at {python} (see the module docstring)"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cu108.npz")
        np.savez(path, positions=atoms.positions, cell=atoms.cell.array)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([python, __file__, "--peer-run", path, "--repeats", str(repeats)],
                              capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        return f"DeePMD-kit peer failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--peer-python", default=DEFAULT_PEER)
    parser.add_argument("--peer-run", help=argparse.SUPPRESS)  # internal: run the peer on this .npz
    args = parser.parse_args(argv)
    if args.peer_run:
        print(json.dumps(peer(args.peer_run, args.repeats)))
        return
    atoms = copper108()
    from descriptors.neighbors import neighbor_list

    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    print(f"Cu-108, r_c = {CUTOFF} Å, r_cs = {CUTOFF_SMOOTH} Å, sel = {SEL}, one thread; "
          f"{len(nb.i) / len(atoms):.1f} neighbours per atom; median of {args.repeats}")
    before = ours(atoms, args.repeats)
    result = run_peer(args.peer_python, atoms, args.repeats)
    after = ours(atoms, args.repeats)  # ours again after the peer: a check on machine load drift
    print(f"  {'':51s} median / min µs/atom (second round of ours after the peer)")
    for name in before:
        (m0, n0), (m1, n1) = before[name], after[name]
        print(f"  ours  {name:45s} {m0:8.2f} / {n0:6.2f}   ({m1:.2f} / {n1:.2f})")
    if isinstance(result, str):
        print(f"  peer  not run: {result}")
    else:
        for name, us in result.items():
            if not name.startswith("_"):
                print(f"  peer  {name:45s} {us[0]:8.2f} / {us[1]:6.2f}")
        print(f"  (peer filled {result['_filled_slots']} neighbour slots; output shapes {result['_shape']})")


if __name__ == "__main__":
    if "--peer-run" not in sys.argv:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    main()
