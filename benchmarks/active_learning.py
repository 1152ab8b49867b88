"""Committee active learning vs random selection on the built-in Cu EMT data, over seeds.

    python -m benchmarks.active_learning [--seeds 0 1 2] [--rounds 4] [--per-round 10] [--out results/active_learning]

Both strategies start from the same few labelled cu_emt structures, explore with Langevin
MD of the committee mean (Cu-108, EMT as the reference that labels the chosen structures)
and are scored on the same held-out cu_emt test structures each round. The MD pool covers
what the test set covers: one short trajectory per cu_emt segment (300-1300 K, ±3 %
isotropic and two random strains, :func:`zoo.reference.cu_segments`), each from the
strained perfect crystal after an equilibration.

Each seed (MD noise, random choice, committee initialisation) is written to
``seed-<k>.csv`` as soon as it ends, and seeds already there are skipped, so two processes
with different ``--seeds`` can share one ``--out`` folder. Every run then pools all seed
files into ``curve.csv`` (one row per seed, strategy and round), ``curve.png`` (median test
force RMSE vs. labelled structures, with the range over seeds) and ``summary.md`` (that
median and range, the committee / random ratio, and how many structures each strategy took
from each trajectory).

The defaults (4 rounds of 10 labels from 10 to 50 structures, committees of 4 trained for 40
epochs, 8 trajectories of 25 + 25 MD steps per round, 50 test structures) took 21.5 minutes
for three seeds run as three processes at once (``--seeds 0``, ``--seeds 1``, ``--seeds 2``,
one thread each) on 2 cores.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from ase.calculators.emt import EMT

import zoo
from benchmarks.report import FORCES_RMSE as FORCES, to_markdown
from zoo.active_learning import PICKS_PER_EXPLORATION as PICKS, Exploration, active_learning
from zoo.reference import cu_crystal, cu_segments


def member_trainer(epochs: int, hidden):
    def train(data, seed):
        keras.utils.set_random_seed(seed)
        model = zoo.create("hdnnp", elements=data.elements, cutoff=6.0, hidden=hidden)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.fit(data, epochs=epochs, batch_size=4, verbose=0, seed=seed)
        return model
    return train


def cu_explorations(steps: int, equilibration: int, seed: int) -> list[Exploration]:
    """One exploration per cu_emt MD segment (its temperature and strain), from the crystal."""
    crystal = cu_crystal()
    return [Exploration(start=crystal, temperature=segment.temperature, strain=segment.strain, steps=steps,
                        equilibration=equilibration)
            for segment in cu_segments(np.random.default_rng(seed))]


def exploration_label(exploration: Exploration) -> str:
    """"600 K", "600 K, -3 %" (isotropic strain) or "300 K, random strain"."""
    temperature, strain = f"{exploration.temperature:.0f} K", exploration.strain
    if strain is None:
        return temperature
    if np.allclose(strain, strain[0, 0] * np.eye(3)):
        return f"{temperature}, {100 * strain[0, 0]:+.0f} %"
    return f"{temperature}, random strain"


def picks_table(curve: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Structures each strategy labelled from each exploration, summed over seeds and rounds
    (rows without counts, such as a run's last round or files of older runs, add nothing)."""
    picks = curve.get(PICKS, pd.Series(index=curve.index, dtype=object))
    counts = {strategy: np.zeros(len(labels), dtype=np.int64) for strategy in curve["strategy"].unique()}
    for strategy, row in zip(curve["strategy"], picks):
        if pd.notna(row):
            counts[strategy] += np.array([int(c) for c in row.split()], dtype=np.int64)
    return pd.DataFrame({"exploration": labels, **counts})


def seed_curve(seed: int, args, data) -> pd.DataFrame:
    """Both strategies' rounds for one seed."""
    labelled, test = data[:args.initial], data[len(data) - args.test:]
    explorations = cu_explorations(args.md_steps, args.equilibration, seed)
    train = member_trainer(args.epochs, (20, 20))
    curves = [active_learning(train, labelled, explorations, EMT, test, rounds=args.rounds,
                              committee_size=args.committee, per_round=args.per_round, strategy=strategy,
                              seed=seed)[0].assign(seed=seed)
              for strategy in ("committee", "random")]
    return pd.concat(curves, ignore_index=True)


def pooled_curves(out: Path) -> pd.DataFrame:
    """Every ``seed-<k>.csv`` in ``out``, in seed order."""
    paths = sorted(out.glob("seed-*.csv"), key=lambda p: int(p.stem.split("-")[1]))
    # the counts stay text: one exploration's "10" would otherwise read back as 10.0
    return pd.concat([pd.read_csv(p, dtype={PICKS: str}) for p in paths], ignore_index=True)


def summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Per labelled count: each strategy's median force RMSE over seeds with its range, and the
    committee / random ratio per seed (median and how many seeds the committee is lower)."""
    by_seed = curve.pivot_table(index=["n_labelled", "seed"], columns="strategy", values=FORCES)
    ratio = (by_seed["committee"] / by_seed["random"]).groupby(level="n_labelled")
    stats = curve.groupby(["n_labelled", "strategy"])[FORCES].agg(["median", "min", "max"]).unstack("strategy")
    table = pd.DataFrame({f"{strategy} {stat}": stats[(stat, strategy)]
                          for strategy in ("committee", "random") for stat in ("median", "min", "max")})
    table["ratio median"] = ratio.median()
    table["seeds committee lower"] = ratio.apply(lambda r: f"{int((r < 1).sum())}/{len(r)}")
    return table.reset_index()


def plot(curve: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for strategy, rows in curve.groupby("strategy"):
        stats = rows.groupby("n_labelled")[FORCES].agg(["median", "min", "max"])
        line, = ax.plot(stats.index, stats["median"], marker="o", label=strategy)
        ax.fill_between(stats.index, stats["min"], stats["max"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("labelled structures")
    ax.set_ylabel("test force RMSE (meV/Å)")
    ax.set_title(f"median and range over {curve['seed'].nunique()} seeds", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.active_learning", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--initial", type=int, default=10, help="labelled structures to start from")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--committee", type=int, default=4)
    parser.add_argument("--md-steps", type=int, default=25, help="sampled MD steps per trajectory and round")
    parser.add_argument("--equilibration", type=int, default=25, help="MD steps before a trajectory's first sample")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--test", type=int, default=50)
    parser.add_argument("--structures", type=int, default=None,
                        help="cu_emt structures to load (default: the set's default size; small for smoke runs)")
    parser.add_argument("--out", default="results/active_learning")
    args = parser.parse_args(argv)

    data = zoo.reference.load("cu_emt", n_structures=args.structures)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        path = out / f"seed-{seed}.csv"
        if not path.exists():
            seed_curve(seed, args, data).to_csv(path, index=False)
    curve = pooled_curves(out)
    curve.to_csv(out / "curve.csv", index=False)
    plot(curve, out / "curve.png")
    table = summary(curve)
    picks = picks_table(curve, [exploration_label(e) for e in cu_explorations(args.md_steps, args.equilibration, 0)])
    (out / "summary.md").write_text(f"{to_markdown(table, digits=2)}\n\nStructures picked per exploration, all seeds "
                                    f"and rounds:\n\n{to_markdown(picks)}\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(picks.to_string(index=False))
    print(f"\nwritten: {out / 'curve.csv'}, {out / 'curve.png'}, {out / 'summary.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
