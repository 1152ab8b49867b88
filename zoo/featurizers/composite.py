"""A featurizer made of several parts whose outputs are merged into one set of inputs."""

from __future__ import annotations

from zoo.featurizers.base import Featurizer, featurizer_from_config, register_featurizer


@register_featurizer
class CompositeFeaturizer(Featurizer):
    """Runs each part on the structure and merges their outputs.

    Used by models that read several kinds of inputs (ACSFs for the networks and a Coulomb
    matrix for the electrostatic energy, say). Parts must share their element list and
    write distinct keys; the Jacobians are those of all parts, so the base class's force
    contraction covers every input.

    Args:
        parts: featurizers, or their ``serialize()`` dicts (as stored in a config).
    """

    def __init__(self, parts):
        parts = [featurizer_from_config(p) if isinstance(p, dict) else p for p in parts]
        if not parts:
            raise ValueError("CompositeFeaturizer needs at least one part, received []")
        super().__init__(parts[0].elements)
        for part in parts[1:]:
            if part.elements != self.elements:
                raise ValueError(f"all parts must have the same elements; {type(parts[0]).__name__} has "
                                 f"{self.elements}, {type(part).__name__} has {part.elements}")
        self.parts = tuple(parts)
        self.jacobians = tuple(jac for part in parts for jac in part.jacobians)

    _device = None

    @property
    def device(self):
        """As :attr:`Featurizer.device`; setting it sets every part's."""
        return self._device

    @device.setter
    def device(self, value):
        self._device = value
        for part in self.parts:
            part.device = value

    def part(self, cls) -> Featurizer:
        """The (first) part of type ``cls``."""
        for part in self.parts:
            if isinstance(part, cls):
                return part
        raise KeyError(f"no part of type {cls.__name__}; parts: {[type(p).__name__ for p in self.parts]}")

    def featurize_structure(self, numbers, positions, cell, pbc):
        out = {}
        for part in self.parts:
            values = part.featurize_structure(numbers, positions, cell, pbc)
            clash = set(values) & set(out)
            if clash:
                raise ValueError(f"parts write the same keys {sorted(clash)}; a composite needs distinct outputs")
            out.update(values)
        return out

    def get_config(self) -> dict:
        return {"parts": [part.serialize() for part in self.parts]}
