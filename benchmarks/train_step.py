"""Where a training step goes: the model call, energy + forces, and the full training step.

    python -m benchmarks.train_step [--models hdnnp eann deeppot_se] [--dataset cu_emt]
                                    [--batch-size 8] [--repeats 15] [--hyper sweep.toml]

One batch of the first ``batch_size`` structures of a built-in data set (``cu_emt``: 8
Cu-108 cells), featurized once; each model gets its ``[hyper.<model>]`` table of the sweep
file with its loss weights (default ``benchmarks/sweeps/quick.toml``) and is adapted on 16 structures. Timed, as
medians of ``repeats`` calls after a warm-up call that traces: the forward pass (energy), the
energy with forces (the Jacobian contraction, ``Potential.energy_and_forces``) and the
training step (``Potential.train_step``: forces, loss, the gradient through the forces and
the optimizer update), each in its own ``tf.function``. The harness's ``train_s_epoch``
adds the input pipeline (featurization, cache, collation) and validation to the last.
Prints one line per model and the ratio of each training step to the first model's.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
import tensorflow as tf

import zoo
from benchmarks.sweep import load_sweep
from benchmarks.timing import median_seconds
from zoo import keys, reference

DEFAULT_SWEEP = "benchmarks/sweeps/quick.toml"


def batch_tensors(model, data, batch_size: int):
    """The first ``batch_size`` structures of ``data`` as one flat batch of tensors (x, y)."""
    source = model.batch_source(data, batch_size, model.loss_labels, cache_bytes=0)
    x, y = source.batch(np.arange(min(batch_size, len(data))))
    return ({k: tf.constant(v) for k, v in x.items()}, {k: tf.constant(v) for k, v in y.items()})


def step_times(model, x, y, repeats: int) -> dict[str, float]:
    """Median milliseconds of the forward pass, energy + forces and the training step."""
    calls = {
        "forward_ms": tf.function(lambda x: model(x)[keys.ENERGY]),
        "energy_forces_ms": tf.function(lambda x: model.energy_and_forces(x)[keys.FORCES]),
        "train_step_ms": tf.function(lambda x: model.train_step((x, y))),
    }
    evaluated = lambda f: lambda: [np.asarray(v) for v in tf.nest.flatten(f(x))]  # noqa: E731  wait for the result
    return {name: 1e3 * median_seconds(evaluated(f), repeats=repeats) for name, f in calls.items()}


def measure(name: str, hyper: dict, data, batch_size: int, repeats: int) -> dict:
    keras.utils.set_random_seed(0)
    model = zoo.create(name, elements=data.elements, **hyper)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.adapt(data[np.arange(min(16, len(data)))])
    x, y = batch_tensors(model, data, batch_size)
    return {"model": name, "atoms": int(x[keys.ELEMENT].shape[0]), **step_times(model, x, y, repeats)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["hdnnp", "eann", "deeppot_se"])
    parser.add_argument("--dataset", default="cu_emt")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--hyper", default=DEFAULT_SWEEP, help="sweep file whose [hyper.<model>] tables to use")
    args = parser.parse_args(argv)
    sweep = load_sweep(args.hyper)
    data = reference.load(args.dataset, n_structures=max(args.batch_size, 16))
    rows = [measure(name, sweep.model_hyper(name), data, args.batch_size, args.repeats) for name in args.models]
    first = rows[0]["train_step_ms"]
    print(f"{args.dataset}, batch of {args.batch_size}, medians of {args.repeats} (ms):")
    for row in rows:
        print(f"  {row['model']:14s} forward {row['forward_ms']:7.1f}  energy+forces {row['energy_forces_ms']:7.1f}  "
              f"train step {row['train_step_ms']:7.1f}  ({row['train_step_ms'] / first:.2f}x {rows[0]['model']})")
    return rows


if __name__ == "__main__":
    main()
