"""nnp-zoo: neural network potentials of every generation, as Keras models.

Public API (docs/DESIGN.md): ``zoo.available()``, ``zoo.create(name, **hyper)``, ``zoo.load_model(path)``,
``zoo.data``, ``zoo.Potential``, ``zoo.Calculator``, ``zoo.Committee``, ``zoo.Delta``. Attributes are imported lazily so
that ``import zoo.data`` does not load TensorFlow.
"""

import importlib

_LAZY = {
    "available": ("zoo.registry", "available"),
    "create": ("zoo.registry", "create"),
    "load_model": ("zoo.registry", "load_model"),
    "Potential": ("zoo.potential", "Potential"),
    "Calculator": ("zoo.calculator", "Calculator"),
    "Committee": ("zoo.committee", "Committee"),
    "Delta": ("zoo.delta", "Delta"),
}
_SUBMODULES = ("data", "keys", "reference", "registry", "featurizers", "layers", "models", "active_learning")

__all__ = [*_LAZY, *_SUBMODULES]


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _SUBMODULES:
        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
