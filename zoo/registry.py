"""The model registry: the only way a model becomes visible to users and the harness."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import keras
import numpy as np
import pandas as pd

GENERATIONS = ("1G", "2G", "3G", "4G", "beyond")
DESCRIPTOR_KINDS = ("predefined", "learnable", "internal coordinates")


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model (review: Kocer, Ko, Behler 2022)."""

    name: str
    cls: type
    generation: str
    descriptor: str
    long_range: bool
    nonlocal_charge_transfer: bool
    paper: str
    elements: tuple[int, ...] | None = None
    periodic: bool = True
    fixed_molecule: bool = False
    required_labels: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return (self.cls.__doc__ or "").strip().splitlines()[0]

    def unsupported(self, data) -> str | None:
        """Why the model cannot be trained on ``data`` (a Dataset), or None when it can."""
        if self.elements is not None:
            missing = sorted(set(data.elements) - set(self.elements))
            if missing:
                return f"{self.name} supports elements {list(self.elements)} only, the data have {missing}"
        if not self.periodic and bool(np.any(data.pbc)):
            return f"{self.name} is for molecules; the data are periodic"
        if self.fixed_molecule and not _one_molecule(data):
            return f"{self.name} describes one molecule in one atom order; the data hold several"
        missing_labels = [key for key in self.required_labels if not data.has_label(key)]
        if missing_labels:
            return f"{self.name} trains on labels {missing_labels}, which the data do not have"
        return None


def _one_molecule(data) -> bool:
    """Whether every structure has the same atomic numbers in the same order."""
    n = data.n_atoms
    if len(n) == 0 or not np.all(n == n[0]):
        return False
    return bool(np.all(data.numbers.reshape(len(n), n[0]) == data.numbers[:n[0]]))


_REGISTRY: dict[str, ModelInfo] = {}


def register(name, *, generation, descriptor, paper, long_range=False, nonlocal_charge_transfer=False,
             elements=None, periodic=True, fixed_molecule=False, required_labels=()):
    """Class decorator: register a ``zoo.Potential`` subclass under ``name``.

    ``elements`` (atomic numbers) restricts a model with a fixed parametrisation (ANI-1x:
    H, C, N, O); ``periodic=False`` marks molecule-only models; ``fixed_molecule=True`` models
    of one molecule in one atom order (1G); ``required_labels`` names labels beyond energy
    and forces the model cannot train without (BpopNN: charges). The harness skips data
    sets a model does not support (:meth:`ModelInfo.unsupported`).

    Also registers the class with Keras serialisation (package ``zoo``), so
    ``keras.models.load_model`` finds it once its module is imported (:func:`load_model`
    imports them all, for a new process).
    """
    if generation not in GENERATIONS:
        raise ValueError(f"generation must be one of {GENERATIONS}, received {generation!r}")
    if descriptor not in DESCRIPTOR_KINDS:
        raise ValueError(f"descriptor must be one of {DESCRIPTOR_KINDS}, received {descriptor!r}")
    if not paper:
        raise ValueError(f"model {name!r} must cite its reference paper")

    def decorate(cls):
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise ValueError(f"model name {name!r} is already registered by {_REGISTRY[name].cls.__name__}")
        cls = keras.saving.register_keras_serializable(package="zoo")(cls)
        _REGISTRY[name] = ModelInfo(name, cls, generation, descriptor, bool(long_range),
                                    bool(nonlocal_charge_transfer), paper,
                                    None if elements is None else tuple(sorted(int(z) for z in elements)),
                                    bool(periodic), bool(fixed_molecule), tuple(required_labels))
        return cls

    return decorate


def _load_models() -> None:
    """Import every module of ``zoo.models`` (each registers its model)."""
    package = importlib.import_module("zoo.models")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"zoo.models.{module.name}")


def load_model(path, **kwargs):
    """A model saved with ``model.save(path)``, in any process: imports every model class
    first (Keras finds only classes already imported), then ``keras.models.load_model``."""
    _load_models()
    return keras.models.load_model(path, **kwargs)


def registered() -> dict[str, ModelInfo]:
    """Name -> :class:`ModelInfo` of every model."""
    _load_models()
    return dict(_REGISTRY)


def info(name: str) -> ModelInfo:
    models = registered()
    if name not in models:
        raise ValueError(f"unknown model {name!r}; available: {sorted(models)}")
    return models[name]


def available() -> pd.DataFrame:
    """One row per registered model: name, generation, descriptor, long_range, nonlocal,
    paper, summary."""
    rows = [{"name": m.name, "generation": m.generation, "descriptor": m.descriptor,
             "long_range": m.long_range, "nonlocal": m.nonlocal_charge_transfer,
             "paper": m.paper, "summary": m.summary}
            for m in registered().values()]
    return pd.DataFrame(rows).sort_values(["generation", "name"], ignore_index=True)


def create(name: str, **hyper):
    """A new, untrained model: ``zoo.create("hdnnp", elements=data.elements, cutoff=6.0)``."""
    return info(name).cls(**hyper)
