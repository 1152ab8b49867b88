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
#: float, eV, ASE's free energy (equals ENERGY: the models have no electronic entropy)
FREE_ENERGY = "free_energy"
#: key of the total charge (e) in ``ase.Atoms.info`` as ASE writes it (TOTAL_CHARGE is read too)
ASE_INFO_CHARGE = "charge"
#: float [n_atoms], eV, per-atom energy contributions (model output)
ATOMIC_ENERGIES = "atomic_energies"
#: float [n_structures], eV, standard deviation of a committee's energies
ENERGY_STD = "energy_std"
#: float [n_atoms], eV/Å, RMS over committee members of |F_member - F_mean| per atom
FORCES_STD = "forces_std"
#: float [n_atoms], eV, atomic energy terms of fixed physical form (electrostatics,
#: dispersion) that a model outputs in eV: added after the energy scale and baseline
PHYSICAL_ENERGIES = "physical_energies"
#: float [n_atoms], e, fixed atomic charges (reference populations) at which a
#: population-dependent model (BpopNN) is evaluated in training instead of its SCF charges
POPULATION_CHARGES = "population_charges"
#: float [n_structures], eV/e, RMS over a structure's atoms of the projected gradient
#: dE/dq_i - mean(dE/dq) left after a self-consistent charge solve (0 at convergence)
SCF_RESIDUAL = "scf_residual"

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
    same (item, atom) add up. Pair blocks (:class:`descriptors.jacobian.Jacobian`) also
    give ``-value[b, k, :]`` to atom ``partner[b]``.
    """

    values: str  #: float [n_items, K], the differentiable input itself
    item: str  #: int [B], row of ``values`` the block belongs to
    atom: str  #: int [B], atom whose position the block differentiates by
    value: str  #: float [B, K, 3], 1/Å times the unit of ``values``
    displacement: str  #: float [B, 3], Å, block atom image relative to the row's reference atom (virial)
    partner: str | None = None  #: int [B], atom that gets -value (pair blocks); None: no partners


def jacobian_keys(values: str, prefix: str, pair_blocks: bool = False) -> JacobianKeys:
    """The Jacobian keys of ``values``, named ``<prefix>_jac_item`` and so on; with
    ``pair_blocks`` also ``<prefix>_jac_partner``."""
    return JacobianKeys(values=values, item=f"{prefix}_jac_item", atom=f"{prefix}_jac_atom",
                        value=f"{prefix}_jac_value", displacement=f"{prefix}_jac_displacement",
                        partner=f"{prefix}_jac_partner" if pair_blocks else None)


#: Jacobian of DESCRIPTORS
DESCRIPTORS_JACOBIAN = jacobian_keys(DESCRIPTORS, "descriptors")

# --- flat-batch index offsets --------------------------------------------------------------
#: index key -> key of the array whose per-structure length offsets it when structures are
#: concatenated into a flat batch (see zoo.batch.collate). Every index-valued key is here.
OFFSET_BY = {
    DESCRIPTORS_JACOBIAN.item: DESCRIPTORS,
    DESCRIPTORS_JACOBIAN.atom: ELEMENT,
}

# --- DPMD, DeepPot-SE and EANN inputs (review section 3.2) --------------------------------
#: float [n_atoms * n_slots, 4], DPMD local-frame slot rows (1/Å, 1/Å, 1/Å, 1/Å): row
#: ``atom * n_slots + slot`` = (1/R, x/R², y/R², z/R²); zeros for empty slots
DPMD_SLOTS = "dpmd_slots"
#: Jacobian of DPMD_SLOTS
DPMD_JACOBIAN = jacobian_keys(DPMD_SLOTS, "dpmd")
#: float [n_rows, 4], DeepPot-SE environment-matrix rows (s, s x/r, s y/r, s z/r) in 1/Å,
#: one per filled neighbour slot (no padding)
ENV_MATRIX = "env_matrix"
#: int [n_rows], centre atom of each environment-matrix row (offset into the batch)
ENV_MATRIX_CENTRE = "env_matrix_centre"
#: int [n_rows], element index (into the model's elements) of the row's neighbour
ENV_MATRIX_NEIGHBOR_ELEMENT = "env_matrix_neighbor_element"
#: int [n_rows], slot of the row in the centre's padded matrix (element-major, nearest first)
ENV_MATRIX_SLOT = "env_matrix_slot"
#: Jacobian of ENV_MATRIX
ENV_MATRIX_JACOBIAN = jacobian_keys(ENV_MATRIX, "env_matrix", pair_blocks=True)
#: float [n_pairs, A + R], the factors of the EANN Gaussian-type orbitals
#: x^lx y^ly z^lz exp(-α (r - r_s)²) f_c(r) of each neighbour entry: A angular monomials (Å^L),
#: then R radial factors (dimensionless); the orbitals are their products (descriptors.eann)
GTO = "gto"
#: int [n_pairs], centre atom of each orbital row (offset into the batch)
GTO_CENTRE = "gto_centre"
#: int [n_pairs], element index (into the model's elements) of the row's neighbour
GTO_NEIGHBOR_ELEMENT = "gto_neighbor_element"
#: int [n_pairs], place of each orbital row among the rows of its centre (0, 1, ...; not offset)
GTO_SLOT = "gto_slot"
#: Jacobian of GTO
GTO_JACOBIAN = jacobian_keys(GTO, "gto", pair_blocks=True)
OFFSET_BY.update({
    DPMD_JACOBIAN.item: DPMD_SLOTS,
    DPMD_JACOBIAN.atom: ELEMENT,
    ENV_MATRIX_CENTRE: ELEMENT,
    ENV_MATRIX_JACOBIAN.item: ENV_MATRIX,
    ENV_MATRIX_JACOBIAN.atom: ELEMENT,
    ENV_MATRIX_JACOBIAN.partner: ELEMENT,
    GTO_CENTRE: ELEMENT,
    GTO_JACOBIAN.item: GTO,
    GTO_JACOBIAN.atom: ELEMENT,
    GTO_JACOBIAN.partner: ELEMENT,
})

# --- electrostatics and dispersion (review section 4) -------------------------------------
#: float [n_entries, 1], eV/e², Coulomb matrix entries A_ij, i <= j, of each structure
#: (upper triangle, row-major; descriptors.coulomb), so that E_elec = Σ_e w_e q_i q_j A_e
#: with w = 1 off the diagonal and 1/2 on it
COULOMB_MATRIX = "coulomb_matrix"
#: int [n_entries], first atom i of each Coulomb matrix entry (offset into the batch)
COULOMB_I = "coulomb_i"
#: int [n_entries], second atom j >= i of each Coulomb matrix entry (offset into the batch)
COULOMB_J = "coulomb_j"
#: Jacobian of COULOMB_MATRIX
COULOMB_JACOBIAN = jacobian_keys(COULOMB_MATRIX, "coulomb")
#: float [n_atoms, 1], eV, Grimme D2 dispersion energy per atom (s6 = 1)
D2_ENERGIES = "d2_energies"
#: Jacobian of D2_ENERGIES
D2_JACOBIAN = jacobian_keys(D2_ENERGIES, "d2")
OFFSET_BY.update({
    COULOMB_I: ELEMENT,
    COULOMB_J: ELEMENT,
    COULOMB_JACOBIAN.item: COULOMB_MATRIX,
    COULOMB_JACOBIAN.atom: ELEMENT,
    D2_JACOBIAN.item: D2_ENERGIES,
    D2_JACOBIAN.atom: ELEMENT,
})

# --- ANI AEVs and AIMNet terms (review section 3.3) ---------------------------------------
#: float [n_atoms, E R], radial part of the ANI AEV (element-resolved, dimensionless)
ANI_RADIAL = "ani_radial"
#: Jacobian of ANI_RADIAL
ANI_RADIAL_JACOBIAN = jacobian_keys(ANI_RADIAL, "ani_radial")
#: float [n_atoms, E(E+1)/2 A Z], angular part of the ANI AEV (element-pair-resolved)
ANI_ANGULAR = "ani_angular"
#: Jacobian of ANI_ANGULAR
ANI_ANGULAR_JACOBIAN = jacobian_keys(ANI_ANGULAR, "ani_angular")
#: float [n_pairs, R], radial AEV summand of each neighbour entry within R_cr (not summed)
ANI_PAIR = "ani_pair"
#: int [n_pairs], centre atom of each ANI_PAIR row (offset into the batch)
ANI_PAIR_CENTRE = "ani_pair_centre"
#: int [n_pairs], neighbour atom of each ANI_PAIR row (offset into the batch)
ANI_PAIR_NEIGHBOR = "ani_pair_neighbor"
#: Jacobian of ANI_PAIR
ANI_PAIR_JACOBIAN = jacobian_keys(ANI_PAIR, "ani_pair")
#: float [n_triplets, A Z], angular AEV summand of each unordered pair of neighbour entries
#: within R_ca (not summed)
ANI_TRIPLET = "ani_triplet"
#: int [n_triplets], centre atom of each ANI_TRIPLET row (offset into the batch)
ANI_TRIPLET_CENTRE = "ani_triplet_centre"
#: int [n_triplets], first neighbour j of each ANI_TRIPLET row (offset into the batch)
ANI_TRIPLET_J = "ani_triplet_j"
#: int [n_triplets], second neighbour k of each ANI_TRIPLET row (offset into the batch)
ANI_TRIPLET_K = "ani_triplet_k"
#: Jacobian of ANI_TRIPLET
ANI_TRIPLET_JACOBIAN = jacobian_keys(ANI_TRIPLET, "ani_triplet")
OFFSET_BY.update({
    ANI_RADIAL_JACOBIAN.item: ANI_RADIAL,
    ANI_RADIAL_JACOBIAN.atom: ELEMENT,
    ANI_ANGULAR_JACOBIAN.item: ANI_ANGULAR,
    ANI_ANGULAR_JACOBIAN.atom: ELEMENT,
    ANI_PAIR_CENTRE: ELEMENT,
    ANI_PAIR_NEIGHBOR: ELEMENT,
    ANI_PAIR_JACOBIAN.item: ANI_PAIR,
    ANI_PAIR_JACOBIAN.atom: ELEMENT,
    ANI_TRIPLET_CENTRE: ELEMENT,
    ANI_TRIPLET_J: ELEMENT,
    ANI_TRIPLET_K: ELEMENT,
    ANI_TRIPLET_JACOBIAN.item: ANI_TRIPLET,
    ANI_TRIPLET_JACOBIAN.atom: ELEMENT,
})

# --- message passing on pair distances (review section 3.3: DTNN, SchNet, HIP-NN) -------
#: float [n_pairs, 1], Å, distance of each entry of a full neighbour list (both directions,
#: periodic images as separate entries; descriptors.distances)
PAIR_DISTANCE = "pair_distance"
#: int [n_pairs], centre atom i of each PAIR_DISTANCE row (offset into the batch)
PAIR_CENTRE = "pair_centre"
#: int [n_pairs], neighbour atom j of each PAIR_DISTANCE row, the atom its image belongs to
#: (offset into the batch)
PAIR_NEIGHBOR = "pair_neighbor"
#: Jacobian of PAIR_DISTANCE (unit vectors: +u for atom j, -u for atom i)
PAIR_DISTANCE_JACOBIAN = jacobian_keys(PAIR_DISTANCE, "pair_distance", pair_blocks=True)
OFFSET_BY.update({
    PAIR_CENTRE: ELEMENT,
    PAIR_NEIGHBOR: ELEMENT,
    PAIR_DISTANCE_JACOBIAN.item: PAIR_DISTANCE,
    PAIR_DISTANCE_JACOBIAN.atom: ELEMENT,
    PAIR_DISTANCE_JACOBIAN.partner: ELEMENT,
})
#: float [n_structures, n_orders], eV, HIP-NN hierarchical energy terms E^0, E^1, ... of
#: each structure (they sum to ENERGY; model output)
HIERARCHICAL_ENERGIES = "hierarchical_energies"
#: float [n_structures, n_orders - 1], HIP-NN hierarchicality R^n = (E^n)² / ((E^(n-1))² + ε),
#: n >= 1, of each structure (dimensionless; model output)
HIERARCHICALITY = "hierarchicality"

# --- pair symmetry functions (pair-based HDNNP, review section 3.2, Eq. 5) -------------------
#: float [n_pairs, K], pair symmetry functions of each unordered atom pair closer than the pair
#: cutoff (descriptors.pair_sf); column 0 is the pair envelope f_p(r_ij) (dimensionless)
PAIR_SF = "pair_sf"
#: int [n_pairs], first atom i of each PAIR_SF row (offset into the batch)
PAIR_SF_I = "pair_sf_i"
#: int [n_pairs], second atom j of each PAIR_SF row, the atom whose image pairs with i (offset)
PAIR_SF_J = "pair_sf_j"
#: int [n_pairs], unordered element-pair type of each PAIR_SF row (PairSfParams.pair_type)
PAIR_SF_TYPE = "pair_sf_type"
#: float [n_pairs], eV, pair energies E_ij (model output of pair_hdnnp; without the baseline)
PAIR_ENERGIES = "pair_energies"
#: Jacobian of PAIR_SF
PAIR_SF_JACOBIAN = jacobian_keys(PAIR_SF, "pair_sf")
OFFSET_BY.update({
    PAIR_SF_I: ELEMENT,
    PAIR_SF_J: ELEMENT,
    PAIR_SF_JACOBIAN.item: PAIR_SF,
    PAIR_SF_JACOBIAN.atom: ELEMENT,
})

# --- 1G global inputs of one molecule (review section 2) ------------------------------------
# One row per STRUCTURE (item = structure, K = the molecule's pairs or basis functions): the
# Jacobian items are offset by the values key itself, whose per-structure length is 1, i.e.
# by the number of structures before it in the batch.
#: float [n_structures, n_pairs], 1/Å, inverse distances 1/r_ij of all atom pairs i < j of the
#: molecule, pairs in row-major order (descriptors.internal)
INVERSE_DISTANCES = "inverse_distances"
#: Jacobian of INVERSE_DISTANCES (one block per atom; item = the structure's row)
INVERSE_DISTANCES_JACOBIAN = jacobian_keys(INVERSE_DISTANCES, "inverse_distances")
#: float [n_structures, n_basis], permutation invariant polynomials of the Morse variables
#: exp(-r_ij / a) of the molecule (descriptors.pip; dimensionless)
PIP = "pip"
#: Jacobian of PIP (one block per atom; item = the structure's row)
PIP_JACOBIAN = jacobian_keys(PIP, "pip")
OFFSET_BY.update({
    INVERSE_DISTANCES_JACOBIAN.item: INVERSE_DISTANCES,
    INVERSE_DISTANCES_JACOBIAN.atom: ELEMENT,
    PIP_JACOBIAN.item: PIP,
    PIP_JACOBIAN.atom: ELEMENT,
})
