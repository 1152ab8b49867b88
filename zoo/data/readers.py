"""``zoo.data.read``: every file format users bring, read into a :class:`Dataset` in Å/eV.

Formats: extended XYZ (``ase.io.read``), n2p2/RuNNer ``input.data`` (:mod:`zoo.data.n2p2`),
MD17-style npz (original names R, z, E, F or rMD17's coords, nuclear_charges, energies,
forces), our own npz (:meth:`Dataset.save_npz`) and ASE databases (``ase.db``).
"""

import pathlib

import numpy as np

from zoo import keys
from zoo.data.dataset import Dataset
from zoo.data.n2p2 import read_n2p2
from zoo.data.units import scale_arrays, unit_factors

#: format name -> file name endings that select it when ``format`` is None
EXTENSIONS = {
    "extxyz": (".extxyz", ".xyz"),
    "n2p2": ("input.data", ".data"),
    "npz": (".npz",),
    "db": (".db",),
}
#: other names of formats
ALIASES = {"xyz": "extxyz", "runner": "n2p2"}
#: every format ``read`` knows ("md17" forces the MD17 reading of an npz)
FORMATS = (*EXTENSIONS, "md17")
#: MD17-style npz key names (original MD17, then revised rMD17) -> our keys
MD17_NAMES = (
    {"R": keys.POSITIONS, "z": keys.NUMBERS, "E": keys.ENERGY, "F": keys.FORCES},
    {"coords": keys.POSITIONS, "nuclear_charges": keys.NUMBERS, "energies": keys.ENERGY,
     "forces": keys.FORCES},
)


def read(path, format: str | None = None, index=":", units: str = "eV") -> Dataset:
    """Read a data set file into a Dataset in Å, eV, eV/Å, e, e·Å.

    Args:
        path: the file.
        format: "extxyz" ("xyz"), "n2p2" ("runner"), "npz" (ours or MD17-style, detected
            by its keys), "md17", "db"; None picks it from the file name.
        index: which structures, ASE-style: ":" (all), "3", "-10:", "::2".
        units: the file's unit system, converted on reading: "eV" (Å, eV; default),
            "kcal/mol" (Å, kcal/mol: MD17) or "bohr/hartree" (n2p2 files often are; a
            ``units=`` token in an n2p2 comment line overrides it per structure).
    """
    unit_factors(units)
    format = _format(path, format)
    if format == "extxyz":
        return _convert(_read_extxyz(path, index), units)
    if format == "n2p2":
        data = read_n2p2(path, units)
    elif format == "db":
        data = _convert(_read_db(path), units)
    else:
        data = _read_npz(path, format == "md17", units)
    return data if index == ":" else data[_index(index)]


def _format(path, format: str | None) -> str:
    name = pathlib.Path(path).name.lower()
    if format is None:
        found = [f for f, endings in EXTENSIONS.items() if name.endswith(endings)]
        if not found:
            raise ValueError(f"cannot tell the format of {str(path)!r} from its name; pass format= one "
                             f"of {[*FORMATS, *ALIASES]}")
        return found[0]
    format = ALIASES.get(format.lower(), format.lower())
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {[*FORMATS, *ALIASES]}")
    return format


def _index(index):
    from ase.io.formats import string2index

    return string2index(index) if isinstance(index, str) else index


def _convert(data: Dataset, units: str) -> Dataset:
    if unit_factors(units) == (1.0, 1.0):
        return data
    arrays = scale_arrays({keys.POSITIONS: data.positions, keys.CELL: data.cell, **data.labels}, units)
    positions, cell = arrays.pop(keys.POSITIONS), arrays.pop(keys.CELL)
    return Dataset.from_arrays(data.numbers, positions, offsets=data.offsets, cell=cell, pbc=data.pbc, **arrays)


def _read_extxyz(path, index) -> Dataset:
    from ase.io import read as ase_read

    images = ase_read(path, index=index, format="extxyz")
    return Dataset.from_atoms(images if isinstance(images, list) else [images])


def _read_db(path) -> Dataset:
    """Every row of an ASE database; a row's key-value pairs act as ``info`` (total_charge)."""
    import ase.db

    images = []
    with ase.db.connect(path) as db:
        for row in db.select():
            atoms = row.toatoms()
            atoms.info.update(row.key_value_pairs)
            images.append(atoms)
    if not images:
        raise ValueError(f"{path}: the database holds no rows")
    return Dataset.from_atoms(images)


def _read_npz(path, md17: bool, units: str) -> Dataset:
    with np.load(path, allow_pickle=False) as f:
        if not md17 and keys.N_ATOMS in f.files:
            return _convert(Dataset.load_npz(path), units)
        names = next((n for n in MD17_NAMES if _md17_geometry(n) <= set(f.files)), None)
        if names is None:
            raise ValueError(f"{path}: not an MD17-style npz; expected keys R, z (E, F) or coords, "
                             f"nuclear_charges (energies, forces), found {f.files}")
        arrays = {key: f[name] for name, key in names.items() if name in f.files}
    return _md17_dataset(arrays, units, path)


def _md17_geometry(names: dict) -> set:
    """The names of an MD17 naming scheme that must be present (positions and numbers)."""
    return {name for name, key in names.items() if key in (keys.POSITIONS, keys.NUMBERS)}


def _md17_dataset(arrays: dict, units: str, path) -> Dataset:
    """A Dataset of MD17 arrays of one molecule: positions [S, N, 3], numbers [N],
    energy [S] or [S, 1], forces [S, N, 3]."""
    positions, numbers = np.asarray(arrays.pop(keys.POSITIONS)), np.asarray(arrays.pop(keys.NUMBERS))
    if positions.ndim != 3 or positions.shape[1:] != (len(numbers), 3):
        raise ValueError(f"{path}: MD17 positions must have shape [n_structures, {len(numbers)}, 3] "
                         f"(one row per atom of z), received {positions.shape}")
    n_structures, n_atoms = positions.shape[:2]
    shapes = {keys.ENERGY: (n_structures,), keys.FORCES: (n_structures * n_atoms, 3)}
    for key, value in arrays.items():
        if np.size(value) != np.prod(shapes[key]):
            raise ValueError(f"{path}: MD17 {key} must have shape {shapes[key]} (or [S, 1] energies, "
                             f"[S, N, 3] forces) for {n_structures} structures of {n_atoms} atoms, "
                             f"received {np.shape(value)}")
        arrays[key] = np.reshape(value, shapes[key])
    scaled = scale_arrays({keys.POSITIONS: positions.reshape(-1, 3), **arrays}, units)
    return Dataset.from_arrays(np.tile(numbers, n_structures), scaled.pop(keys.POSITIONS),
                               np.full(n_structures, n_atoms), **scaled)
