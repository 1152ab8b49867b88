"""Sweep specifications: models × data sets × training-set sizes × seeds, from TOML."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Budget:
    """The training budget every model gets."""

    epochs: int = 300
    max_seconds: float = 300.0
    batch_size: int = 8
    learning_rate: float = 3e-3
    final_learning_rate: float = 1e-5
    patience: int = 60
    #: feature cache of each data set passed to fit (MiB): featurized structures kept between
    #: epochs (zoo.pipeline.BatchSource); beyond it structures are featurized again each epoch
    cache_mib: int = 1024


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A data set: a built-in name (zoo.reference) or a file path, and its split sizes."""

    name: str
    n_train: tuple[int, ...]
    n_val: int
    n_test: int
    n_structures: int | None = None
    #: models for this data set only (overrides the sweep's list); None: the sweep's
    models: tuple[str, ...] | str | None = None


@dataclasses.dataclass(frozen=True)
class DeltaSpec:
    """Δ-learning cells: each listed model also runs as a correction to ``baseline`` (a
    name in :data:`benchmarks.baselines.BASELINES`), next to its direct cells, with the same
    hyper-parameters, data and budget."""

    baseline: str
    #: the models that get Δ cells; None: every model of the sweep
    models: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    models: tuple[str, ...] | str
    datasets: tuple[DataSpec, ...]
    seeds: tuple[int, ...] = (0,)
    budget: Budget = Budget()
    hyper: dict = dataclasses.field(default_factory=dict)
    #: cores one cell uses (TensorFlow and Numba threads of its worker)
    threads: int = 2
    delta: DeltaSpec | None = None
    #: loss weights every model gets (``energy_weight``, ``forces_weight``); a model's own
    #: hyper-parameters override them
    loss: dict = dataclasses.field(default_factory=dict)
    #: run only these of the sweep's models (:func:`select`); None: all of them
    selected_models: tuple[str, ...] | None = None

    def model_hyper(self, model: str) -> dict:
        """The keyword arguments of ``zoo.create`` for ``model``: the sweep's loss weights,
        then the model's own hyper-parameters."""
        return {**self.loss, **self.hyper.get(model, {})}

    def baselines(self, model: str) -> tuple[str | None, ...]:
        """The variants of ``model`` to run: None (direct) and, for a Δ model, its baseline."""
        if self.delta is None or (self.delta.models is not None and model not in self.delta.models):
            return (None,)
        return (None, self.delta.baseline)

    def model_names(self, registered, spec: DataSpec | None = None) -> list[str]:
        """The models of the sweep (or of data set ``spec`` when it names its own);
        ``"all"`` means every registered model."""
        models = spec.models if spec is not None and spec.models is not None else self.models
        if models == "all":
            models = sorted(registered)
        unknown = set(models) - set(registered)
        if unknown:
            raise ValueError(f"sweep {self.name!r} names unknown models {sorted(unknown)}; "
                             f"registered: {sorted(registered)}")
        return [m for m in models if self.selected_models is None or m in self.selected_models]


def select(sweep: Sweep, registered, models=None, datasets=None, seeds=None) -> Sweep:
    """The part of ``sweep`` that trains ``models`` on ``datasets`` with ``seeds`` (None: all
    of the sweep's; seeds need not be the sweep's own). Its cells are those of the full sweep
    (same budget, hyper-parameters and data), so a later full run resumes from them."""
    if datasets is not None:
        names = [spec.name for spec in sweep.datasets]
        unknown = sorted(set(datasets) - set(names))
        if unknown:
            raise ValueError(f"sweep {sweep.name!r} has no data sets {unknown}; its data sets: {names}")
        sweep = dataclasses.replace(sweep, datasets=tuple(s for s in sweep.datasets if s.name in datasets))
    if models is not None:
        runs = set().union(*(sweep.model_names(registered, spec) for spec in sweep.datasets))
        unknown = sorted(set(models) - runs)
        if unknown:
            raise ValueError(f"sweep {sweep.name!r} does not run {unknown} on the selected data sets; "
                             f"it runs {sorted(runs)}")
        sweep = dataclasses.replace(sweep, selected_models=tuple(models))
    if seeds is not None:
        sweep = dataclasses.replace(sweep, seeds=tuple(int(s) for s in seeds))
    return sweep


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _models(value):
    return value if value is None or value == "all" else tuple(value)


def _delta(table: dict | None) -> DeltaSpec | None:
    if table is None:
        return None
    from benchmarks.baselines import check_name

    models = table.get("models")
    return DeltaSpec(baseline=check_name(table["baseline"]), models=None if models is None else tuple(models))


#: the loss weights a sweep's ``[loss]`` table may set (see zoo.Potential)
LOSS_WEIGHTS = ("energy_weight", "forces_weight")


def _loss(table: dict) -> dict:
    unknown = set(table) - set(LOSS_WEIGHTS)
    if unknown:
        raise ValueError(f"[loss] names {sorted(unknown)}; it takes {list(LOSS_WEIGHTS)} "
                         "(other weights belong to a model's [hyper.<model>] table)")
    return {name: float(value) for name, value in table.items()}


def load_sweep(path) -> Sweep:
    """Read a sweep TOML file (see benchmarks/sweeps/quick.toml)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {path} does not exist")
    spec = tomllib.loads(path.read_text())
    try:
        datasets = tuple(
            DataSpec(name=d["name"], n_train=tuple(int(n) for n in _as_tuple(d["n_train"])),
                     n_val=int(d["n_val"]), n_test=int(d["n_test"]), n_structures=d.get("n_structures"),
                     models=_models(d.get("models")))
            for d in spec["datasets"])
        sweep = Sweep(name=spec.get("name", path.stem), models=_models(spec.get("models", "all")),
                      datasets=datasets, seeds=tuple(spec.get("seeds", [0])),
                      budget=Budget(**spec.get("budget", {})), hyper=spec.get("hyper", {}),
                      threads=int(spec.get("threads", 2)), delta=_delta(spec.get("delta")),
                      loss=_loss(spec.get("loss", {})))
    except (KeyError, TypeError) as err:
        raise ValueError(f"sweep file {path} is malformed ({err!r}); see benchmarks/sweeps/quick.toml") from err
    check_delta_models(sweep)
    return sweep


def check_delta_models(sweep: Sweep) -> None:
    """Δ models must be models of the sweep (a typo would silently drop the Δ cells)."""
    if sweep.delta is None or sweep.delta.models is None or "all" in (sweep.models, *(d.models for d in sweep.datasets)):
        return
    listed = set(sweep.models).union(*(d.models for d in sweep.datasets if d.models is not None))
    unknown = set(sweep.delta.models) - listed
    if unknown:
        raise ValueError(f"sweep {sweep.name!r}: delta.models names {sorted(unknown)}, which the sweep does not run; "
                         f"its models: {sorted(listed)}")
