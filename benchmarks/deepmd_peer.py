"""DeePMD-kit's own DeepPot-SE trained on our split for as many steps as ours: the accuracy
reference of ``deeppot_se``.

    python -m benchmarks.deepmd_peer [--sweep benchmarks/sweeps/standard.toml] [--dataset cu_emt]
        [--seed 0] [--steps 5200] [--dp /tmp/dpenv/bin/dp] [--out /tmp/deepmd_peer]

Writes the sweep's train / validation / test split of a data set in DeePMD-kit's npy format
and an ``input.json`` with the sweep's ``[hyper.deeppot_se]`` (cutoff, r_cs, sel, embedding
widths, M2, fitting widths; type_one_side) and budget (batch size, exponential learning rate
from ``learning_rate`` to ``final_learning_rate`` over ``--steps``), then runs ``dp --tf
train``, ``freeze`` and ``test`` on the test split and prints its energy and force RMSE.
Give ``--steps`` as our cell's epochs × batches per epoch (standard.toml on Cu-800: 52 × 100)
to compare at equal optimizer steps. The loss uses DeePMD-kit's default prefactors (forces
1000 -> 1, energy 0.02 -> 1): its energy term is not our per-atom MSE, so our weights do not
carry over (energy 1, forces 0.1 made its force RMSE 577 meV/Å on Cu).

DeePMD-kit is a benchmark-only peer, as in :mod:`benchmarks.env_mat_speed`: install it into
a separate virtual environment (``python3 -m venv /tmp/dpenv && /tmp/dpenv/bin/pip install
"deepmd-kit[cpu]"``). It runs with one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np

from ase.data import chemical_symbols

DEFAULT_DP = "/tmp/dpenv/bin/dp"
PEER_ENV = {"OMP_NUM_THREADS": "1", "DP_INTRA_OP_PARALLELISM_THREADS": "1",
              "DP_INTER_OP_PARALLELISM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def write_system(dataset, folder: Path, elements) -> None:
    """``dataset`` as one DeePMD-kit system (``type.raw``, ``type_map.raw``, ``set.000/*.npy``
    in Å, eV, eV/Å). DeePMD-kit needs the same atoms in the same order in every frame."""
    from zoo import keys

    n_atoms = int(dataset.n_atoms[0])
    numbers = dataset.numbers.reshape(len(dataset), -1) if (dataset.n_atoms == n_atoms).all() else None
    if numbers is None or not (numbers == numbers[0]).all():
        raise ValueError("DeePMD-kit takes one system of frames with the same atoms in the same order; "
                         "this data set mixes compositions or atom orders")
    pbc = np.asarray(dataset.pbc, bool)
    if pbc.any() and not pbc.all():
        raise ValueError("DeePMD-kit takes fully periodic or non-periodic frames; this data set is partly periodic")
    frames = folder / "set.000"
    frames.mkdir(parents=True, exist_ok=True)
    np.save(frames / "coord.npy", dataset.positions.reshape(len(dataset), 3 * n_atoms))
    # molecules get DeePMD-kit's marker file instead of a box (a zero box crashes its
    # training); whichever of the two an earlier run left in ``folder`` goes
    if pbc.all():
        np.save(frames / "box.npy", np.asarray(dataset.cell).reshape(len(dataset), 9))
        (folder / "nopbc").unlink(missing_ok=True)
    else:
        (folder / "nopbc").touch()
        (frames / "box.npy").unlink(missing_ok=True)
    np.save(frames / "energy.npy", dataset.labels[keys.ENERGY])
    np.save(frames / "force.npy", dataset.labels[keys.FORCES].reshape(len(dataset), 3 * n_atoms))
    index = {z: k for k, z in enumerate(elements)}
    (folder / "type.raw").write_text("".join(f"{index[z]}\n" for z in numbers[0]))
    (folder / "type_map.raw").write_text("".join(f"{chemical_symbols[z]}\n" for z in elements))


def deepmd_input(model, budget, steps: int, systems: dict[str, Path]) -> dict:
    """DeePMD-kit's input.json for our ``deeppot_se`` ``model`` trained with ``budget``."""
    params = model.featurizer.params
    return {
        "model": {
            "type_map": [chemical_symbols[z] for z in model.elements],
            "descriptor": {"type": "se_e2_a", "rcut": params.cutoff, "rcut_smth": params.cutoff_smooth,
                           "sel": list(params.sel), "neuron": list(model.embedding),
                           "axis_neuron": model.axis_neurons, "type_one_side": model.type_one_side,
                           "resnet_dt": False, "seed": 1},
            "fitting_net": {"neuron": list(model.hidden), "resnet_dt": False, "seed": 1},
        },
        "learning_rate": {"type": "exp", "start_lr": budget.learning_rate, "stop_lr": budget.final_learning_rate,
                          "decay_steps": max(steps // 50, 1)},
        "loss": {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1, "start_pref_f": 1000, "limit_pref_f": 1,
                 "start_pref_v": 0, "limit_pref_v": 0},
        "training": {"training_data": {"systems": [str(systems["train"])], "batch_size": budget.batch_size},
                     "validation_data": {"systems": [str(systems["val"])], "batch_size": budget.batch_size,
                                         "numb_btch": 1},
                     "numb_steps": steps, "seed": 1, "disp_freq": max(steps // 10, 1), "save_freq": steps},
    }


def rmse_from_test_log(log: str) -> dict[str, float]:
    """meV/atom and meV/Å from ``dp test``'s log."""
    energy = re.search(r"Energy RMSE/Natoms\s*:\s*([0-9.eE+-]+)", log)
    force = re.search(r"Force\s+RMSE\s*:\s*([0-9.eE+-]+)", log)
    if energy is None or force is None:
        raise RuntimeError(f"dp test printed no RMSE; its log ends with:\n{log[-2000:]}")
    return {"energy_rmse_mev_atom": 1e3 * float(energy.group(1)), "forces_rmse_mev_a": 1e3 * float(force.group(1))}


def dp(command: str, arguments, folder: Path, env: dict) -> subprocess.CompletedProcess:
    """``command --tf arguments`` in ``folder``; raises with the end of its log if it fails."""
    done = subprocess.run([command, "--tf", *arguments], cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command} --tf {' '.join(arguments)} failed ({done.returncode}); its log ends with:\n"
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return done


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="benchmarks/sweeps/standard.toml")
    parser.add_argument("--dataset", default="cu_emt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5200)
    parser.add_argument("--dp", default=DEFAULT_DP, help="DeePMD-kit's dp command (a separate venv)")
    parser.add_argument("--out", default="/tmp/deepmd_peer")
    args = parser.parse_args(argv)

    import zoo
    from benchmarks import runner
    from benchmarks.sweep import load_sweep, select

    sweep = select(load_sweep(args.sweep), zoo.registry.registered(), datasets=[args.dataset])
    spec = sweep.datasets[0]  # select raises, naming the sweep's data sets, for another name
    data = runner.cached_data(spec)
    model = zoo.create("deeppot_se", elements=data.elements, **sweep.model_hyper("deeppot_se"))
    out = Path(args.out)
    systems = {name: out / name for name in ("train", "val", "test")}
    for name, part in zip(systems, runner.split_data(data, spec, spec.n_train[0], args.seed)):
        write_system(part, systems[name], model.elements)
    (out / "input.json").write_text(json.dumps(deepmd_input(model, sweep.budget, args.steps, systems), indent=1))
    env = {**os.environ, **PEER_ENV}
    run = lambda *cmd: dp(args.dp, cmd, out, env)  # noqa: E731
    run("train", "input.json")
    run("freeze", "-o", "model.pb")
    tested = run("test", "-m", "model.pb", "-s", str(systems["test"]), "-n", str(spec.n_test))
    result = {"dataset": args.dataset, "steps": args.steps, **rmse_from_test_log(tested.stdout + tested.stderr)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
