"""The columnar data set: every structure's atoms concatenated, indexed by offsets.

Atom-indexed arrays (``numbers``, ``positions``, per-atom labels) have one row per atom of
the whole set; atoms of structure ``s`` are rows ``offsets[s]:offsets[s + 1]``.
Structure-indexed arrays (``cell``, ``pbc``, per-structure labels) have one row per
structure. A label missing for a structure is NaN there. 100k structures are a handful of
numpy arrays, not 100k ``ase.Atoms``.
"""

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from zoo import keys
from zoo.data import validate

#: prefixes marking reference labels in ``Atoms.info``/``Atoms.arrays`` (the second is MACE's)
REF_PREFIXES = ("ref_", "REF_")
#: labels ASE calculators report (and SinglePointCalculator stores)
CALCULATOR_LABELS = (keys.ENERGY, keys.FORCES, keys.CHARGES, keys.DIPOLE)


class Dataset:
    """Structures and their labels as concatenated arrays.

    Attributes:
        numbers: int64 [n_atoms_total], atomic numbers.
        positions: float64 [n_atoms_total, 3], Å.
        cell: float64 [S, 3, 3], Å, lattice vectors as rows (zeros for molecules).
        pbc: bool [S, 3].
        offsets: int64 [S + 1]; atoms of structure s are ``offsets[s]:offsets[s + 1]``.
        labels: dict key -> float64 array: ENERGY [S] eV, FORCES [n_atoms_total, 3] eV/Å,
            CHARGES [n_atoms_total] e, TOTAL_CHARGE [S] e, DIPOLE [S, 3] e·Å; NaN where
            a structure lacks the label.

    Build one with :meth:`from_arrays`, :meth:`from_atoms`, :func:`zoo.data.read` or
    :meth:`concatenate`; every route validates the arrays.
    """

    def __init__(self, numbers, positions, offsets, cell=None, pbc=None, labels=None):
        offsets = validate.offsets_from(offsets=offsets)
        self.numbers = validate.check_numbers(numbers)
        n_total, n_structures = len(self.numbers), len(offsets) - 1
        validate.check_offsets(offsets, n_total)
        self.offsets = offsets
        self.positions = validate.check_positions(positions, n_total, offsets)
        self.cell, self.pbc = validate.check_cell_pbc(cell, pbc, n_structures)
        self.labels = {key: validate.check_label(key, value, n_structures, n_total)
                       for key, value in (labels or {}).items() if value is not None}

    # --- constructors ------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, numbers, positions, n_atoms=None, *, offsets=None, cell=None, pbc=None,
                    **labels) -> "Dataset":
        """The validated constructor.

        Args:
            numbers: int [n_atoms_total].
            positions: float [n_atoms_total, 3], Å.
            n_atoms: int [S], atoms per structure (or give ``offsets`` int [S + 1]).
            cell: float [S, 3, 3] or one [3, 3] for all, Å; None: zeros (molecules).
            pbc: bool [S, 3] or one [3]; None: not periodic.
            **labels: label arrays by key (``zoo.keys.LABELS``), NaN where missing.
        """
        offsets = validate.offsets_from(n_atoms=n_atoms, offsets=offsets)
        return cls(numbers, positions, offsets, cell, pbc, labels)

    @classmethod
    def from_atoms(cls, atoms_list) -> "Dataset":
        """A data set of ``ase.Atoms``; labels from each one's ``info``/``arrays`` keys with a
        ``ref_`` (or ``REF_``) prefix, else its calculator's results, else ``info``/``arrays``
        keys without prefix (see :func:`atoms_labels`). Labels a structure lacks are NaN."""
        atoms_list = list(atoms_list)
        n_atoms = np.array([len(a) for a in atoms_list], dtype=np.int64)
        found = [atoms_labels(a, f"structure {s}") for s, a in enumerate(atoms_list)]
        labels = {key: _stack_label(key, [f.get(key) for f in found], n_atoms)
                  for key in keys.LABELS if any(key in f for f in found)}
        return cls.from_arrays(
            np.concatenate([a.numbers for a in atoms_list]) if atoms_list else np.zeros(0, np.int64),
            np.concatenate([a.positions for a in atoms_list]) if atoms_list else np.zeros((0, 3)),
            n_atoms,
            cell=np.array([a.cell.array for a in atoms_list]).reshape(-1, 3, 3),
            pbc=np.array([a.pbc for a in atoms_list]).reshape(-1, 3),
            **labels,
        )

    @classmethod
    def concatenate(cls, datasets) -> "Dataset":
        """One data set of several, in order; a label some of them lack is NaN there."""
        datasets = list(datasets)
        if not datasets:
            raise ValueError("concatenate needs at least one Dataset, received an empty list")
        label_keys = [k for k in keys.LABELS if any(k in d.labels for d in datasets)]
        return cls.from_arrays(
            np.concatenate([d.numbers for d in datasets]),
            np.concatenate([d.positions for d in datasets]),
            np.concatenate([d.n_atoms for d in datasets]),
            cell=np.concatenate([d.cell for d in datasets]),
            pbc=np.concatenate([d.pbc for d in datasets]),
            **{k: np.concatenate([d.label_or_nan(k) for d in datasets]) for k in label_keys},
        )

    # --- shape ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __repr__(self) -> str:
        return (f"Dataset({len(self)} structures, {len(self.numbers)} atoms, elements "
                f"{list(self.elements)}, labels {list(self.labels)})")

    @property
    def n_atoms(self) -> np.ndarray:
        """int64 [S], atoms per structure."""
        return np.diff(self.offsets)

    @property
    def elements(self) -> tuple[int, ...]:
        """Sorted unique atomic numbers."""
        return tuple(int(z) for z in np.unique(self.numbers))

    @property
    def structure_index(self) -> np.ndarray:
        """int64 [n_atoms_total], the structure each atom belongs to."""
        return np.repeat(np.arange(len(self)), self.n_atoms)

    # --- labels --------------------------------------------------------------------------------
    def has_label(self, key: str) -> bool:
        """Whether label ``key`` is present and finite for every structure."""
        return key in self.labels and len(self.missing_label(key)) == 0

    def missing_label(self, key: str) -> np.ndarray:
        """int64 [m], indices of the structures lacking label ``key`` (any NaN counts)."""
        if key not in self.labels:
            return np.arange(len(self))
        value = self.labels[key].reshape(len(self.labels[key]), -1)
        bad = ~np.isfinite(value).all(axis=1)
        if validate.LABEL_SHAPES[key][0]:
            bad = np.bincount(self.structure_index, weights=bad, minlength=len(self)) > 0
        return np.flatnonzero(bad)

    def label_or_nan(self, key: str) -> np.ndarray:
        """The array of label ``key``, or one of NaN of its shape when the set lacks it."""
        if key in self.labels:
            return self.labels[key]
        per_atom, trailing = validate.LABEL_SHAPES[key]
        return np.full((len(self.numbers) if per_atom else len(self), *trailing), np.nan)

    # --- subsets -------------------------------------------------------------------------------
    def __getitem__(self, index) -> "Dataset":
        """A new Dataset of the structures selected by an int, slice, int array or bool mask."""
        picked = np.atleast_1d(np.arange(len(self))[index])
        n_atoms = self.n_atoms[picked]
        starts = np.repeat(self.offsets[picked] - np.concatenate([[0], np.cumsum(n_atoms)[:-1]]), n_atoms)
        atoms = starts + np.arange(int(n_atoms.sum()))
        labels = {k: v[atoms] if validate.LABEL_SHAPES[k][0] else v[picked] for k, v in self.labels.items()}
        return Dataset.from_arrays(self.numbers[atoms], self.positions[atoms], n_atoms,
                                   cell=self.cell[picked], pbc=self.pbc[picked], **labels)

    def split(self, fractions, seed: int = 0) -> tuple["Dataset", ...]:
        """Disjoint random subsets with the given fractions of the structures.

        Sizes are ``diff(round(cumsum(fractions) * S))``, so they never overlap and the
        fractions may sum to less than 1 (the rest is left out). Each subset keeps the
        original order of its structures.
        """
        fractions = np.asarray(fractions, dtype=np.float64)
        if fractions.ndim != 1 or np.any(fractions < 0) or fractions.sum() > 1 + 1e-9:
            raise ValueError(f"split fractions must be >= 0 and sum to <= 1, received "
                             f"{fractions.tolist()} (sum {fractions.sum():.6g})")
        order = np.random.default_rng(seed).permutation(len(self))
        bounds = np.minimum(np.round(np.concatenate([[0], np.cumsum(fractions)]) * len(self)), len(self))
        return tuple(self[np.sort(order[int(a):int(b)])] for a, b in zip(bounds[:-1], bounds[1:]))

    # --- single structures -----------------------------------------------------------------
    def structure(self, s: int) -> dict[str, np.ndarray]:
        """Arrays of structure ``s``: NUMBERS [n], POSITIONS [n, 3], CELL [3, 3], PBC [3] and
        every label it has (finite), sliced to that structure (copies)."""
        s = int(np.arange(len(self))[s])
        atoms = slice(self.offsets[s], self.offsets[s + 1])
        out = {keys.NUMBERS: self.numbers[atoms].copy(), keys.POSITIONS: self.positions[atoms].copy(),
               keys.CELL: self.cell[s].copy(), keys.PBC: self.pbc[s].copy()}
        for key, value in self.labels.items():
            mine = np.array(value[atoms] if validate.LABEL_SHAPES[key][0] else value[s])
            if np.isfinite(mine).all():
                out[key] = mine
        return out

    def to_atoms(self, s: int) -> Atoms:
        """Structure ``s`` as ``ase.Atoms``; its labels on a SinglePointCalculator (total
        charge in ``info``)."""
        d = self.structure(s)
        atoms = Atoms(numbers=d[keys.NUMBERS], positions=d[keys.POSITIONS], cell=d[keys.CELL], pbc=d[keys.PBC])
        results = {k: d[k] for k in CALCULATOR_LABELS if k in d}
        if results:
            atoms.calc = SinglePointCalculator(atoms, **results)
        if keys.TOTAL_CHARGE in d:
            atoms.info[keys.TOTAL_CHARGE] = float(d[keys.TOTAL_CHARGE])
        return atoms

    def iter_atoms(self):
        """``ase.Atoms`` of every structure, in order."""
        return (self.to_atoms(s) for s in range(len(self)))

    # --- files -------------------------------------------------------------------------------
    def write(self, path) -> None:
        """Write extended XYZ with ``ase.io.write``; :func:`zoo.data.read` gives the labels back.

        ASE writes per-atom columns (positions, forces, charges) with 8 decimals, so those
        come back to 5e-9; cell and per-structure labels are exact. Use :meth:`save_npz` for
        a lossless copy.
        """
        from ase.io import write

        write(path, list(self.iter_atoms()), format="extxyz")

    def save_npz(self, path) -> None:
        """Lossless binary copy (``numpy.savez``, keys from ``zoo.keys``); see :meth:`load_npz`."""
        arrays = {keys.NUMBERS: self.numbers, keys.POSITIONS: self.positions, keys.N_ATOMS: self.n_atoms,
                  keys.CELL: self.cell, keys.PBC: self.pbc, **self.labels}
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load_npz(cls, path) -> "Dataset":
        """A data set written by :meth:`save_npz`."""
        with np.load(path, allow_pickle=False) as f:
            if keys.N_ATOMS not in f.files:
                raise ValueError(f"{path} was not written by Dataset.save_npz (keys {f.files}); "
                                 f"for MD17-style files use zoo.data.read(path, format='md17')")
            return cls.from_arrays(f[keys.NUMBERS], f[keys.POSITIONS], f[keys.N_ATOMS], cell=f[keys.CELL],
                                   pbc=f[keys.PBC], **{k: f[k] for k in keys.LABELS if k in f.files})


def atoms_labels(atoms: Atoms, name: str = "atoms") -> dict[str, np.ndarray]:
    """The labels of one ``ase.Atoms``, by key.

    For each label the first source that has it wins: ``info``/``arrays`` key with a
    ``ref_``/``REF_`` prefix (a data set's explicit reference, even when a calculator holds
    something else), the calculator's stored ``results`` (no calculation is triggered),
    then the plain ``info``/``arrays`` key. Results computed for other positions (the
    atoms moved after the calculation) are refused rather than used as labels.
    """
    stores = {**atoms.info, **atoms.arrays}
    results = atoms.calc.results if atoms.calc is not None else {}
    if results and atoms.calc.check_state(atoms):
        raise ValueError(f"{name}: its calculator's results belong to another geometry "
                         f"({', '.join(atoms.calc.check_state(atoms))} changed after the calculation); "
                         f"recompute them, or attach the labels with a SinglePointCalculator")
    out = {}
    for key in keys.LABELS:
        candidates = [stores.get(p + key) for p in REF_PREFIXES] + [results.get(key), stores.get(key)]
        value = next((c for c in candidates if c is not None), None)
        if value is not None:
            out[key] = np.asarray(value, dtype=np.float64)
    return out


def _stack_label(key: str, values: list, n_atoms: np.ndarray) -> np.ndarray:
    """One label array from per-structure values (None -> NaN)."""
    per_atom, trailing = validate.LABEL_SHAPES[key]
    rows = []
    for s, value in enumerate(values):
        shape = ((int(n_atoms[s]),) if per_atom else ()) + trailing
        if value is None:
            value = np.full(shape, np.nan)
        if np.shape(value) != shape:
            raise ValueError(f"label {key!r} of structure {s} has shape {np.shape(value)}, expected {shape}")
        rows.append(np.reshape(value, (-1, *trailing)))
    return np.concatenate(rows)
