"""n2p2 / RuNNer ``input.data``: parser and writer.

One structure per block::

    begin
    comment <free text>                      (optional; may hold units=bohr/hartree)
    lattice <ax> <ay> <az>                   (three lines, periodic structures only)
    atom <x> <y> <z> <element> <charge> <n> <fx> <fy> <fz>
    energy <E>
    charge <Q>
    end

The format names no units. By default a file is taken to be in Å and eV (``units="eV"``);
files in Bohr and Hartree (common with RuNNer) are read with ``units="bohr/hartree"``, or
per structure by a ``units=bohr/hartree`` token in its comment line (the comment wins over
the argument; :func:`write_n2p2` writes that token). Any name of
:data:`zoo.data.units.UNITS` is accepted.
n2p2 writes 0 atomic charges where there are none, so a structure whose atomic charges
are all exactly 0 gets no CHARGES label; ``nan`` values (our writer's mark of a missing
label) read as missing. A structure without an ``energy``/``charge`` line lacks that label.
"""

import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from zoo import keys
from zoo.data.dataset import Dataset
from zoo.data.units import scale_arrays, unit_factors

#: the comment token that names the unit system of a structure
UNITS_TOKEN = "units="
_ATOM_FIELDS = 9  # x y z element charge n fx fy fz
#: n2p2 keywords of structure-level labels (the file's vocabulary) -> our keys
_LABEL_KEYWORDS = {"energy": keys.ENERGY, "charge": keys.TOTAL_CHARGE}


def read_n2p2(path, units: str = "eV") -> Dataset:
    """Parse an ``input.data`` file (see the module docstring) into a Dataset in Å/eV."""
    unit_factors(units)
    with open(path) as f:
        blocks = list(_blocks(f, str(path)))
    if not blocks:
        raise ValueError(f"{path}: no structures found (expected 'begin' ... 'end' blocks)")
    return _dataset([_convert(b, units) for b in blocks])


def write_n2p2(dataset: Dataset, path, units: str = "eV") -> None:
    """Write ``dataset`` as ``input.data`` in Å/eV or Bohr/Hartree (named in each comment).

    Numbers are written with 17 significant digits, so reading gives the arrays back
    (exactly in eV units). Missing labels are written as ``nan``. The format knows only
    fully periodic structures (three ``lattice`` lines) and molecules (none), so partly
    periodic structures are refused and the cell of a non-periodic one is not written.
    """
    length, energy = unit_factors(units)
    partly = np.flatnonzero(dataset.pbc.any(axis=1) & ~dataset.pbc.all(axis=1))
    if len(partly):
        raise ValueError(f"n2p2 input.data cannot hold partly periodic structures; structure "
                         f"{partly[0]} has pbc={dataset.pbc[partly[0]].tolist()}")
    label = {k: dataset.label_or_nan(k) for k in keys.LABELS}
    with open(path, "w") as f:
        for s in range(len(dataset)):
            f.writelines(_block_lines(dataset, label, s, length, energy, units))


def _block_lines(dataset: Dataset, label: dict, s: int, length: float, energy: float, units: str):
    """The lines of structure ``s``; ``label`` holds every label (NaN where missing)."""
    atoms = slice(dataset.offsets[s], dataset.offsets[s + 1])
    charges, forces = label[keys.CHARGES][atoms], label[keys.FORCES][atoms] * (length / energy)
    yield "begin\n"
    yield f"comment structure {s} {UNITS_TOKEN}{units}\n"
    if dataset.pbc[s].any():
        for vector in dataset.cell[s] / length:
            yield f"lattice {_fmt(vector)}\n"
    for z, r, q, f in zip(dataset.numbers[atoms], dataset.positions[atoms] / length, charges, forces):
        yield f"atom {_fmt(r)} {chemical_symbols[z]} {_fmt([q])} 0 {_fmt(f)}\n"
    yield f"energy {_fmt([label[keys.ENERGY][s] / energy])}\n"
    yield f"charge {_fmt([label[keys.TOTAL_CHARGE][s]])}\n"
    yield "end\n"


def _fmt(values) -> str:
    return " ".join(f"{float(v):.17g}" for v in values)


def _blocks(lines, name: str):
    """Yield one dict per structure, in file units; ValueError with the line number otherwise."""
    block, begun = None, 0
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        word = fields[0]
        where = f"{name}, line {number}"
        if block is None:
            if word != "begin":
                raise ValueError(f"{where}: expected 'begin', found {line.strip()!r}")
            block, begun = _new_block(), number
        elif word == "end":
            yield _finish(block, f"{name}, structure begun at line {begun}")
            block = None
        else:
            _add_line(block, word, fields[1:], where)
    if block is not None:
        raise ValueError(f"{name}: the file ends inside the structure begun at line {begun}; "
                         f"expected 'end' (truncated file?)")


def _new_block() -> dict:
    return {"comment": "", "lattice": [], "atoms": [], keys.ENERGY: np.nan, keys.TOTAL_CHARGE: np.nan}


def _add_line(block: dict, word: str, values: list, where: str) -> None:
    if word == "comment":
        block["comment"] = " ".join(values)
    elif word == "lattice":
        block["lattice"].append(_floats(values, 3, where, "lattice <ax> <ay> <az>"))
    elif word == "atom":
        if len(values) != _ATOM_FIELDS:
            raise ValueError(f"{where}: expected 'atom x y z element charge n fx fy fz' "
                             f"({_ATOM_FIELDS} values), found {len(values)}: {' '.join(values)!r}")
        if values[3] not in atomic_numbers:
            raise ValueError(f"{where}: unknown element {values[3]!r} in 'atom' line")
        numeric = _floats(values[:3] + values[4:5] + values[6:], 7, where, "atom x y z element charge n fx fy fz")
        block["atoms"].append((atomic_numbers[values[3]], numeric))
    elif word in _LABEL_KEYWORDS:
        block[_LABEL_KEYWORDS[word]] = _floats(values, 1, where, f"{word} <value>")[0]
    elif word == "begin":
        raise ValueError(f"{where}: found 'begin' inside a structure; expected 'end' first")
    else:
        raise ValueError(f"{where}: unknown keyword {word!r}; expected one of comment, lattice, "
                         f"atom, energy, charge, end")


def _floats(values: list, n: int, where: str, expected: str) -> list:
    try:
        if len(values) != n:
            raise ValueError
        return [float(v) for v in values]
    except ValueError:
        raise ValueError(f"{where}: expected '{expected}' with {n} number(s), found "
                         f"{' '.join(values)!r}") from None


def _finish(block: dict, where: str) -> dict:
    if not block["atoms"]:
        raise ValueError(f"{where}: structure has no 'atom' lines")
    if len(block["lattice"]) not in (0, 3):
        raise ValueError(f"{where}: expected 0 or 3 'lattice' lines, found {len(block['lattice'])}")
    numeric = np.array([a[1] for a in block["atoms"]])
    charges = numeric[:, 3]
    return {
        keys.NUMBERS: np.array([a[0] for a in block["atoms"]]),
        keys.POSITIONS: numeric[:, :3],
        keys.CELL: np.array(block["lattice"]) if block["lattice"] else np.zeros((3, 3)),
        keys.PBC: np.full(3, bool(block["lattice"])),
        keys.FORCES: numeric[:, 4:7],
        keys.CHARGES: np.full_like(charges, np.nan) if np.all(charges == 0) else charges,
        keys.ENERGY: block[keys.ENERGY],
        keys.TOTAL_CHARGE: block[keys.TOTAL_CHARGE],
        "units": _comment_units(block["comment"], where),
    }


def _comment_units(comment: str, where: str):
    """The unit system named by a ``units=...`` token of a comment, or None."""
    for token in comment.split():
        if token.startswith(UNITS_TOKEN):
            units = token[len(UNITS_TOKEN):]
            try:
                unit_factors(units)
            except ValueError as error:
                raise ValueError(f"{where}: the comment's {token!r}: {error}") from None
            return units
    return None


def _convert(block: dict, default_units: str) -> dict:
    """One block scaled from its file units to Å and eV."""
    return scale_arrays(block, block.pop("units") or default_units)


def _dataset(blocks: list) -> Dataset:
    per_atom = (keys.FORCES, keys.CHARGES)
    return Dataset.from_arrays(
        np.concatenate([b[keys.NUMBERS] for b in blocks]),
        np.concatenate([b[keys.POSITIONS] for b in blocks]),
        [len(b[keys.NUMBERS]) for b in blocks],
        cell=np.array([b[keys.CELL] for b in blocks]),
        pbc=np.array([b[keys.PBC] for b in blocks]),
        **{k: np.concatenate([b[k] for b in blocks]) for k in per_atom},
        **{k: np.array([b[k] for b in blocks]) for k in (keys.ENERGY, keys.TOTAL_CHARGE)},
    )
