"""Every property key used in data sets, flat batches and model outputs.

No other module writes a key as a string literal: import it from here. Shapes use
``n_atoms`` for atoms in a batch (or data set), ``n_structures`` for structures, ``K`` for
descriptor columns and ``B`` for Jacobian blocks. Units follow docs/DESIGN.md
(Å, eV, eV/Å, e, e·Å).
"""

from typing import NamedTuple

# --- structures -------------------------------------------------------------------------
#: int [n_atoms], atomic numbers
NUMBERS = "numbers"
#: float [n_atoms, 3], Å, Cartesian positions
POSITIONS = "positions"
#: float [n_structures, 3, 3], Å, lattice vectors as rows (zeros for molecules)
CELL = "cell"
#: bool [n_structures, 3], periodic directions
PBC = "pbc"
#: int [n_structures], atoms per structure
N_ATOMS = "n_atoms"
#: int [n_atoms], index of the structure an atom belongs to (within a batch)
STRUCTURE = "structure"
#: int [n_atoms], index of the atom's element in the model's element list
ELEMENT = "element"

# --- labels (reference data) and predictions ----------------------------------------------
#: float [n_structures], eV, total potential energy
ENERGY = "energy"
#: float [n_atoms, 3], eV/Å
FORCES = "forces"
#: float [n_atoms], e, atomic partial charges
CHARGES = "charges"
#: float [n_structures], e, total charge of the structure
TOTAL_CHARGE = "total_charge"
#: float [n_structures, 3], e·Å
DIPOLE = "dipole"
#: float [n_structures, 6], eV/Å³, Voigt order xx yy zz yz xz xy
STRESS = "stress"
#: float [n_atoms], eV, per-atom energy contributions (model output)
ATOMIC_ENERGIES = "atomic_energies"

#: the labels a data set may carry, in a fixed order
LABELS = (ENERGY, FORCES, CHARGES, TOTAL_CHARGE, DIPOLE)
#: labels indexed by atom (the others are indexed by structure)
PER_ATOM = (POSITIONS, NUMBERS, FORCES, CHARGES)

# --- descriptors and their Jacobians ------------------------------------------------------
#: float [n_atoms, K], atom-centred descriptor values (e.g. ACSF)
DESCRIPTORS = "descriptors"


class JacobianKeys(NamedTuple):
    """Keys of the COO Jacobian of one differentiable input ``values`` [n_items, K].

    ``d values[item[b], k] / d positions[atom[b], :] = value[b, k, :]``; blocks with the
    same (item, atom) add up.
    """

    values: str  #: float [n_items, K], the differentiable input itself
    item: str  #: int [B], row of ``values`` the block belongs to
    atom: str  #: int [B], atom whose position the block differentiates by
    value: str  #: float [B, K, 3], 1/Å times the unit of ``values``
    displacement: str  #: float [B, 3], Å, block atom image relative to the row's reference atom (virial)


#: Jacobian of DESCRIPTORS
DESCRIPTORS_JACOBIAN = JacobianKeys(
    values=DESCRIPTORS,
    item="descriptors_jac_item",
    atom="descriptors_jac_atom",
    value="descriptors_jac_value",
    displacement="descriptors_jac_displacement",
)

# --- flat-batch index offsets --------------------------------------------------------------
#: index key -> key of the array whose per-structure length offsets it when structures are
#: concatenated into a flat batch (see zoo.batch.collate). Every index-valued key is here.
OFFSET_BY = {
    DESCRIPTORS_JACOBIAN.item: DESCRIPTORS,
    DESCRIPTORS_JACOBIAN.atom: ELEMENT,
}
