"""Command line: ``python -m benchmarks run SWEEP.toml [--out results] [--scheduler ADDRESS] [--workers N] [--fresh]
[--device cuda] [--models M ...] [--datasets D ...] [--seeds S ...]``.

``--models``, ``--datasets`` and ``--seeds`` run part of a sweep (its cells are the full
sweep's, so a later full run resumes from them); results.csv and report.md then hold that
part only."""

import argparse
import logging
import os
import sys

import zoo
from benchmarks.report import comparison_table
from benchmarks.runner import forget_cells, is_success, run, sweep_folder, write_results
from benchmarks.sweep import load_sweep, select
from descriptors.cuda_target import DEVICE_ENV


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="run a sweep and print the comparison table")
    run_cmd.add_argument("sweep", help="sweep TOML file")
    run_cmd.add_argument("--out", default="results", help="output folder (default: results)")
    run_cmd.add_argument("--fresh", action="store_true",
                         help="run the (selected) cells again instead of resuming")
    run_cmd.add_argument("--scheduler", default=None,
                         help="address of a running dask scheduler (default: a LocalCluster on this machine)")
    run_cmd.add_argument("--workers", type=int, default=None,
                         help="LocalCluster workers (default: cores // threads of the sweep); 0: run in this process")
    run_cmd.add_argument("--device", choices=("cpu", "cuda"), default=None,
                         help=f"where the featurizers' kernels run (sets ${DEVICE_ENV} for this process and its "
                              "LocalCluster workers; workers of a --scheduler cluster need it in their own environment)")
    run_cmd.add_argument("--models", nargs="+", default=None, help="run only these of the sweep's models")
    run_cmd.add_argument("--datasets", nargs="+", default=None, help="run only these of the sweep's data sets")
    run_cmd.add_argument("--seeds", nargs="+", type=int, default=None, help="these seeds instead of the sweep's")
    args = parser.parse_args(argv)
    if args.device:
        os.environ[DEVICE_ENV] = args.device  # LocalCluster worker processes inherit it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    sweep = select(load_sweep(args.sweep), zoo.registry.registered(), models=args.models,
                   datasets=args.datasets, seeds=args.seeds)
    folder = sweep_folder(sweep, args.out)
    if args.fresh:
        forget_cells(sweep, folder)
    results = run(sweep, folder, scheduler=args.scheduler, workers=args.workers)
    folder = write_results(results, sweep, args.out)
    with_pd_options = comparison_table(results).to_string(index=False, float_format=lambda v: f"{v:.2f}")
    print(with_pd_options)
    print(f"\nwritten: {folder / 'results.csv'}, {folder / 'report.md'}")
    return 0 if results["status"].map(is_success).all() else 1


if __name__ == "__main__":
    sys.exit(main())
