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


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A data set: a built-in name (zoo.reference) or a file path, and its split sizes."""

    name: str
    n_train: tuple[int, ...]
    n_val: int
    n_test: int
    n_structures: int | None = None


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    models: tuple[str, ...] | str
    datasets: tuple[DataSpec, ...]
    seeds: tuple[int, ...] = (0,)
    budget: Budget = Budget()
    hyper: dict = dataclasses.field(default_factory=dict)

    def model_names(self, registered) -> list[str]:
        """The sweep's models; ``"all"`` means every registered model."""
        if self.models == "all":
            return sorted(registered)
        unknown = set(self.models) - set(registered)
        if unknown:
            raise ValueError(f"sweep {self.name!r} names unknown models {sorted(unknown)}; "
                             f"registered: {sorted(registered)}")
        return list(self.models)


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def load_sweep(path) -> Sweep:
    """Read a sweep TOML file (see benchmarks/sweeps/quick.toml)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep file {path} does not exist")
    spec = tomllib.loads(path.read_text())
    try:
        datasets = tuple(
            DataSpec(name=d["name"], n_train=tuple(int(n) for n in _as_tuple(d["n_train"])),
                     n_val=int(d["n_val"]), n_test=int(d["n_test"]), n_structures=d.get("n_structures"))
            for d in spec["datasets"])
        models = spec.get("models", "all")
        return Sweep(name=spec.get("name", path.stem),
                     models=models if models == "all" else tuple(models),
                     datasets=datasets, seeds=tuple(spec.get("seeds", [0])),
                     budget=Budget(**spec.get("budget", {})), hyper=spec.get("hyper", {}))
    except (KeyError, TypeError) as err:
        raise ValueError(f"sweep file {path} is malformed ({err!r}); see benchmarks/sweeps/quick.toml") from err
