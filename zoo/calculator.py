"""ASE calculator for every zoo model: ``atoms.calc = zoo.Calculator(model)``.

The calculator featurizes the ``ase.Atoms`` with the model's own featurizer (so a model
loaded from ``.keras`` needs nothing else), collates the one structure into a flat batch and
runs the model's compiled inference: :meth:`zoo.Potential.compiled_energy_and_forces`, or a
``tf.function`` of :meth:`zoo.Potential.energy_forces_and_stress` when stress is asked for.
Each is traced once, before its first call, for inputs of any length (``None`` leading
dimensions), so an MD run never retraces, however its neighbour counts change.

Results, under ASE's property names (which are the :mod:`zoo.keys` names):

- ``energy`` and ``free_energy`` (eV, equal: no electronic entropy), ``forces`` (eV/Å);
- ``stress`` (eV/Å³, Voigt xx yy zz yz xz xy, ASE's sign (1/V) dE/dε) for cells periodic in
  all three directions, from the virial of the descriptor Jacobian blocks;
- ``charges`` (e) and ``dipole`` (e·Å, ``sum_a q_a r_a`` about the coordinate origin) for
  charge-aware models (``keys.TOTAL_CHARGE`` in ``model.structure_inputs``). The total
  charge comes from the ``total_charge`` keyword, else ``atoms.info["charge"]`` (ASE's key)
  or ``atoms.info["total_charge"]``, else 0.

Neighbour lists are rebuilt at every call (each featurizer builds its own inside
``featurize``); ``benchmarks/md_speed.py`` measures what that costs per MD step.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes

from zoo import keys
from zoo.batch import collate
from zoo.data.validate import check_cell_pbc
from zoo.featurizers.base import element_symbols
from zoo.pipeline import cast_input
from zoo.potential import Potential
from zoo.registry import load_model


class Calculator(AseCalculator):
    """ASE calculator around a trained :class:`zoo.Potential`.

    Args:
        model: the potential, or the path of a ``.keras`` file saved from one.
        total_charge: total charge (e) of every structure this calculator sees; only for
            charge-aware models. ``None``: read it from ``atoms.info`` (0 if absent).
        **kwargs: passed to ``ase.calculators.calculator.Calculator`` (``label``, ``atoms``).
    """

    def __init__(self, model, total_charge=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(model, (str, os.PathLike)):
            model = load_model(model)
        if not isinstance(model, Potential):
            raise TypeError(f"model must be a zoo.Potential or the path of a saved one, received "
                            f"{type(model).__name__}")
        self.model = model
        self.charge_aware = keys.TOTAL_CHARGE in model.structure_inputs
        if total_charge is not None and not self.charge_aware:
            raise ValueError(f"{type(model).__name__} takes no total charge, received total_charge="
                             f"{total_charge}; drop the keyword or use a charge-aware model")
        self.total_charge = None if total_charge is None else float(total_charge)
        properties = [keys.ENERGY, keys.FREE_ENERGY, keys.FORCES, keys.STRESS]
        self.implemented_properties = properties + ([keys.CHARGES, keys.DIPOLE] if self.charge_aware else [])
        self._stress_function = None
        self._traced = []  # the compiled functions traced with relaxed shapes

    def calculate(self, atoms=None, properties=(keys.ENERGY,), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        inputs = self.model_inputs(self.atoms)
        if keys.STRESS in properties:
            if not self.atoms.pbc.all():
                raise PropertyNotImplementedError(
                    f"stress needs a cell periodic in all three directions, received pbc="
                    f"{self.atoms.pbc.tolist()}; set atoms.pbc = True with a full cell, or do not ask for stress")
            function = self.stress_function()
        else:
            function = self.model.compiled_energy_and_forces()
        if function not in self._traced:
            # one trace for inputs of any length, before the first call: later steps, whose
            # neighbour and block counts differ, then never retrace
            try:
                function.get_concrete_function(
                    {k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for k, v in inputs.items()})
            except NotImplementedError as error:  # e.g. no stress for models with an Ewald energy
                raise PropertyNotImplementedError(str(error).strip().splitlines()[-1].strip()) from error
            self._traced.append(function)
        out = function(inputs)
        energy = float(out[keys.ENERGY].numpy()[0])
        self.results = {keys.ENERGY: energy, keys.FREE_ENERGY: energy,
                        keys.FORCES: out[keys.FORCES].numpy().astype(np.float64)}
        if keys.STRESS in out:
            self.results[keys.STRESS] = out[keys.STRESS].numpy()[0].astype(np.float64)
        for key in (keys.CHARGES, keys.DIPOLE):
            if key in out:
                value = out[key].numpy().astype(np.float64)
                self.results[key] = value if key == keys.CHARGES else value[0]

    def stress_function(self):
        """A ``tf.function`` of :meth:`zoo.Potential.energy_forces_and_stress` (built once)."""
        if self._stress_function is None:
            model = self.model
            self._stress_function = tf.function(lambda x: model.energy_forces_and_stress(x, training=False),
                                                reduce_retracing=True)
        return self._stress_function

    def model_inputs(self, atoms) -> dict[str, np.ndarray]:
        """The flat batch of one structure, validated, cast to the model's dtype.

        Raises:
            ValueError: on elements the model does not know, NaN/inf positions, or a
                periodic cell without volume.
        """
        numbers = np.asarray(atoms.numbers, dtype=np.int64)
        unknown = sorted(set(numbers.tolist()) - set(self.model.elements))
        if unknown:
            raise ValueError(f"the atoms contain element(s) {element_symbols(unknown)}, but this model was "
                             f"trained for {element_symbols(self.model.elements)} only; use a model trained "
                             f"on data containing every element of the structure")
        positions = np.asarray(atoms.positions, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
        if bad.size:
            raise ValueError(f"positions of atom(s) {bad[:5].tolist()} are NaN or inf (atom {bad[0]}: "
                             f"{positions[bad[0]].tolist()}); an MD run that produced them has blown up "
                             f"(reduce the time step or check the model), otherwise repair the structure")
        cell, pbc = check_cell_pbc(np.asarray(atoms.cell), np.asarray(atoms.pbc), 1)
        item = self.model.featurizer.featurize(numbers, positions, cell[0], pbc[0])
        if keys.POSITIONS in self.model.structure_inputs or self.charge_aware:
            item[keys.POSITIONS] = positions  # charge models: the base class adds the dipole
        if self.charge_aware:
            item[keys.TOTAL_CHARGE] = np.array([self.charge_of(atoms)])
        item[keys.CELL] = cell
        batch = collate([item], self.model.featurizer.jacobians)
        return {k: cast_input(v, self.model.compute_dtype) for k, v in batch.items()}

    def charge_of(self, atoms) -> float:
        """Total charge (e): the keyword, else ``atoms.info`` (ASE's ``charge`` or ours), else 0."""
        if self.total_charge is not None:
            return self.total_charge
        for key in (keys.ASE_INFO_CHARGE, keys.TOTAL_CHARGE):
            if key in atoms.info:
                charge = float(atoms.info[key])
                if not np.isfinite(charge):
                    raise ValueError(f"atoms.info[{key!r}] must be a finite total charge (e), received {charge}")
                return charge
        return 0.0
