"""A check shared by the tests of the GFN2-xTB reference sets."""

import numpy as np

from zoo import keys, reference


def assert_gfn2_labels_of_the_stated_charge(data):
    """Every label is there, charges sum to each structure's total charge, and one structure
    per charge state gets its labels back from GFN2-xTB (tblite) run at that charge."""
    from tblite.ase import TBLite

    for key in keys.LABELS:
        assert data.has_label(key), key
    sums = np.add.reduceat(data.labels[keys.CHARGES], data.offsets[:-1])
    np.testing.assert_allclose(sums, data.labels[keys.TOTAL_CHARGE], atol=1e-6)
    for charge in np.unique(data.labels[keys.TOTAL_CHARGE]):
        s = int(np.flatnonzero(data.labels[keys.TOTAL_CHARGE] == charge)[0])
        atoms = data.to_atoms(s)
        atoms.calc = TBLite(**reference.XTB_SETTINGS, charge=int(charge))
        ref = data.structure(s)
        np.testing.assert_allclose(atoms.get_potential_energy(), ref[keys.ENERGY], rtol=0, atol=1e-6)
        np.testing.assert_allclose(atoms.get_forces(), ref[keys.FORCES], rtol=0, atol=1e-6)
        np.testing.assert_allclose(atoms.get_charges(), ref[keys.CHARGES], rtol=0, atol=1e-6)
        np.testing.assert_allclose(atoms.get_dipole_moment(), ref[keys.DIPOLE], rtol=0, atol=1e-6)
