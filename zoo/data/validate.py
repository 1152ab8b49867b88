"""Checks of the arrays that make up a :class:`zoo.data.Dataset`.

Each function raises ``ValueError`` naming the problem, what was received and the fix.
They run on every Dataset built (all vectorised, so cheap for 100k structures).
"""

import numpy as np

from zoo import keys

#: a cell with a smaller volume (Å^3) is degenerate
MIN_CELL_VOLUME = 1e-6
#: atomic numbers a structure may contain
MAX_ATOMIC_NUMBER = 118

#: label key -> (indexed by atom?, trailing shape)
LABEL_SHAPES = {
    keys.ENERGY: (False, ()),
    keys.FORCES: (True, (3,)),
    keys.CHARGES: (True, ()),
    keys.TOTAL_CHARGE: (False, ()),
    keys.DIPOLE: (False, (3,)),
}


def offsets_from(n_atoms=None, offsets=None) -> np.ndarray:
    """int64 [S+1] structure offsets, from exactly one of ``n_atoms`` [S] or ``offsets`` [S+1]."""
    if (n_atoms is None) == (offsets is None):
        raise ValueError("give exactly one of n_atoms [n_structures] or offsets [n_structures + 1]")
    if offsets is None:
        n_atoms = _integers(n_atoms, keys.N_ATOMS, ndim=1)
        if np.any(n_atoms < 1):
            s = int(np.flatnonzero(n_atoms < 1)[0])
            raise ValueError(f"every structure needs at least one atom; n_atoms[{s}] = {n_atoms[s]}")
        return np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64)
    return _integers(offsets, "offsets", ndim=1)


def check_offsets(offsets: np.ndarray, n_total: int) -> None:
    """``offsets`` [S+1] must start at 0, increase strictly and end at the number of atoms."""
    if len(offsets) == 0 or offsets[0] != 0:
        raise ValueError(f"offsets must start with 0 (length n_structures + 1), received {offsets[:5]}")
    if np.any(offsets < 0):
        raise ValueError(f"offsets must not be negative, received {offsets[offsets < 0][:5]}; "
                         f"offsets[s] is the index of the first atom of structure s")
    steps = np.diff(offsets)
    if np.any(steps < 1):
        s = int(np.flatnonzero(steps < 1)[0])
        raise ValueError(f"offsets must increase strictly (every structure needs an atom): "
                         f"offsets[{s}:{s + 2}] = {offsets[s:s + 2]}")
    if offsets[-1] != n_total:
        raise ValueError(f"offsets end at {offsets[-1]} but numbers/positions hold {n_total} atoms; "
                         f"offsets[-1] must equal the total number of atoms")


def check_numbers(numbers) -> np.ndarray:
    """int64 [n]: atomic numbers, each in 1..118."""
    numbers = _integers(numbers, keys.NUMBERS, ndim=1)
    bad = (numbers < 1) | (numbers > MAX_ATOMIC_NUMBER)
    if np.any(bad):
        raise ValueError(f"unknown atomic number(s) {np.unique(numbers[bad])[:5]} (at atom "
                         f"{int(np.flatnonzero(bad)[0])}); atomic numbers must be 1..{MAX_ATOMIC_NUMBER}")
    return numbers


def check_positions(positions, n_total: int, offsets: np.ndarray) -> np.ndarray:
    """float64 [n, 3] Å, finite."""
    positions = _floats(positions, keys.POSITIONS, (n_total, 3))
    bad = ~np.isfinite(positions).all(axis=1)
    if np.any(bad):
        atom = int(np.flatnonzero(bad)[0])
        raise ValueError(f"positions are NaN or inf in structure {_structure_of(atom, offsets)} "
                         f"(atom {atom}: {positions[atom]}); remove or repair that structure")
    return positions


def check_cell_pbc(cell, pbc, n_structures: int) -> tuple[np.ndarray, np.ndarray]:
    """float64 [S, 3, 3] Å (zeros if None) and bool [S, 3] (False if None); a single [3, 3]
    cell or [3] pbc is used for every structure. A periodic cell must have a volume."""
    cell = np.zeros((n_structures, 3, 3)) if cell is None else np.asarray(cell, dtype=np.float64)
    pbc = np.zeros((n_structures, 3), bool) if pbc is None else np.asarray(pbc, dtype=bool)
    if cell.shape == (3, 3):
        cell = np.repeat(cell[None], n_structures, axis=0)
    if pbc.shape == (3,):
        pbc = np.repeat(pbc[None], n_structures, axis=0)
    cell = _floats(cell, keys.CELL, (n_structures, 3, 3))
    if pbc.shape != (n_structures, 3):
        raise ValueError(f"pbc must have shape {(n_structures, 3)} or (3,), received {pbc.shape}")
    if not np.isfinite(cell).all():
        raise ValueError(f"cell is NaN or inf in structure {int(np.flatnonzero(~np.isfinite(cell).all(axis=(1, 2)))[0])}")
    flat = (np.abs(np.linalg.det(cell)) < MIN_CELL_VOLUME) & pbc.any(axis=1)
    if np.any(flat):
        s = int(np.flatnonzero(flat)[0])
        raise ValueError(f"structure {s} is periodic (pbc={pbc[s].tolist()}) but its cell has zero volume "
                         f"(< {MIN_CELL_VOLUME} Å^3): {cell[s].tolist()}; give the full cell or set pbc False")
    return cell, pbc


def check_label(key: str, value, n_structures: int, n_total: int) -> np.ndarray:
    """float64 label array of the shape ``LABEL_SHAPES`` gives; NaN marks a missing value."""
    if key not in LABEL_SHAPES:
        raise ValueError(f"unknown label {key!r}; labels are {list(LABEL_SHAPES)}")
    per_atom, trailing = LABEL_SHAPES[key]
    value = _floats(value, key, ((n_total if per_atom else n_structures), *trailing))
    if np.isinf(value).any():
        raise ValueError(f"label {key!r} contains inf; use NaN to mark a missing value")
    return value


def _integers(value, name: str, ndim: int) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != ndim or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be a {ndim}-d integer array, received dtype {array.dtype}, "
                         f"shape {array.shape}")
    return array.astype(np.int64)


def _floats(value, name: str, shape: tuple) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, received {array.shape}; check that it "
                         f"matches the number of atoms/structures")
    return array


def _structure_of(atom: int, offsets: np.ndarray) -> int:
    return int(np.searchsorted(offsets, atom, side="right") - 1)
