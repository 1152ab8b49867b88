"""Unit systems of files, converted to the project's Å, eV, eV/Å, e, e·Å on reading."""

from ase.units import Bohr, Hartree, kcal, mol

from zoo import keys

#: unit system name -> (Å per file length unit, eV per file energy unit)
UNITS = {
    "eV": (1.0, 1.0),  # Å and eV (the project's units)
    "kcal/mol": (1.0, kcal / mol),  # Å and kcal/mol (MD17)
    "bohr/hartree": (Bohr, Hartree),  # atomic units (n2p2/RuNNer files often are)
}


def unit_factors(units: str) -> tuple[float, float]:
    """(Å per length unit, eV per energy unit) of a unit system name (case-insensitive)."""
    by_lower = {name.lower(): name for name in UNITS}
    if not isinstance(units, str) or units.lower() not in by_lower:
        raise ValueError(f"units must be one of {list(UNITS)} (the file's units), received {units!r}")
    return UNITS[by_lower[units.lower()]]


def scale_arrays(arrays: dict, units: str) -> dict:
    """A copy of a dict of structure arrays/labels converted from ``units`` to Å and eV.

    Positions, cell and dipole scale with length, energy with energy, forces with
    energy/length; charges are in e in every unit system.
    """
    length, energy = unit_factors(units)
    factors = {keys.POSITIONS: length, keys.CELL: length, keys.DIPOLE: length,
               keys.ENERGY: energy, keys.FORCES: energy / length}
    return {k: v * factors[k] if k in factors else v for k, v in arrays.items()}
