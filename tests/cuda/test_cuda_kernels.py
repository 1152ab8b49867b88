"""device="cuda" equals device="cpu", element by element, for every kernel with a CUDA target.

Run under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, see conftest.py) with 3
threads per block, so each tiny input spans several blocks (checked). Inputs: a rattled
ethanol molecule, a rattled, sheared 4-atom NaCl cell (triclinic primitive cell, two
elements) and a 1-atom Cu cell smaller than the cutoff (every neighbour a periodic image of
the atom itself; kernels with one thread per centre get it repeated 2 x 2 x 1, so that its
4 centres span two blocks). Values and all Jacobian arrays (item, atom, value, displacement,
partner) are compared; index arrays exactly, floats to 1e-12 relative to the array's largest entry (the
simulator runs the same IEEE operations, a GPU may contract them into FMAs).
"""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from descriptors import (acsf, ani, coulomb, cuda_target, cutoffs, d2, deeppot_se, distances, dpmd, eann, internal,
                         pair_sf, pip, wacsf)
from descriptors.neighbors import neighbor_list
from structures import ethanol as _ethanol, rattled as _rattled

CUTOFF = 3.0  # Å: a few neighbours per atom keeps the simulator fast


def _nacl():
    atoms = bulk("NaCl", "rocksalt", a=5.64).repeat((2, 1, 1))
    atoms.set_cell(atoms.cell.array @ np.array([[1.0, 0.04, 0.0], [0.0, 1.0, 0.03], [0.02, 0.0, 1.0]]),
                   scale_atoms=True)
    return _rattled(atoms, 0.1, seed=3)


def _cu1():
    return _rattled(bulk("Cu", "fcc", a=3.61), 0.0, seed=0)


def _cu4():
    return _cu1().repeat((2, 2, 1))  # 4 centres (two blocks of 3 threads), still smaller than the cutoff along c


STRUCTURES = {"ethanol": _ethanol, "nacl": _nacl, "cu1": _cu1}
#: for kernels with one thread per centre (one Cu atom would fill one block)
CENTRE_STRUCTURES = {"ethanol": _ethanol, "nacl": _nacl, "cu4": _cu4}


def _assert_same(cpu, gpu, what):
    """Recursively compare outputs: tuples/records element-wise, integer arrays exactly."""
    if cpu is None or gpu is None:  # e.g. the partners of a Jacobian without pair blocks
        assert cpu is None and gpu is None, what
        return
    if isinstance(cpu, tuple):
        assert isinstance(gpu, tuple) and len(cpu) == len(gpu), what
        for k, (c, g) in enumerate(zip(cpu, gpu)):
            _assert_same(c, g, f"{what}[{getattr(cpu, '_fields', range(len(cpu)))[k]}]")
        return
    cpu, gpu = np.asarray(cpu), np.asarray(gpu)
    assert cpu.shape == gpu.shape and cpu.dtype == gpu.dtype, (what, cpu.shape, gpu.shape, cpu.dtype, gpu.dtype)
    if cpu.dtype.kind in "iub":
        np.testing.assert_array_equal(gpu, cpu, err_msg=what)
    else:
        scale = float(np.abs(cpu).max(initial=0.0))
        np.testing.assert_allclose(gpu, cpu, rtol=1e-12, atol=1e-12 * scale, err_msg=what)


def _compare(call, small_blocks, what):
    cpu = call(device="cpu")
    gpu = call(device="cuda")
    _assert_same(cpu, gpu, what)
    assert max(small_blocks) > 1, f"{what}: the input fits one block of 3 threads; it should span several"
    return cpu


def _kernel_args(atoms):
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    return (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb)


def _elements(atoms):
    return tuple(sorted(set(atoms.numbers.tolist())))


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_pair_distances(name, small_blocks):
    atoms = STRUCTURES[name]()
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    values = _compare(lambda **k: distances.pair_distances(nb, len(atoms), 2.9, **k), small_blocks, name)[0]
    assert len(values) > 0


def test_inverse_distances(small_blocks):
    atoms = _ethanol()  # 1G rows are defined for molecules only
    _compare(lambda **k: internal.inverse_distances(atoms.positions, **k), small_blocks, "ethanol")


def test_pip(small_blocks):
    atoms = _ethanol()
    basis = pip.PipBasis.generate(atoms.numbers, 2)
    values = _compare(lambda **k: pip.pip(atoms.positions, basis, 1.5, **k), small_blocks, "ethanol")[0]
    assert values.shape == (1, basis.n_basis)


@pytest.mark.parametrize("damping", sorted(coulomb.DAMPINGS))
@pytest.mark.parametrize("name", ["ethanol", "nacl"])
def test_coulomb_direct_and_ewald(name, damping, small_blocks):
    atoms = STRUCTURES[name]()
    params = coulomb.CoulombParams(damping=damping, damping_cutoff=4.0, accuracy=1e-5)
    widths = np.linspace(0.4, 0.9, len(atoms)) if damping == "gaussian" else None
    _compare(lambda **k: coulomb.coulomb_matrix(atoms.positions, atoms.cell.array, atoms.pbc, params, widths, **k),
             small_blocks, f"{name}/{damping}")


@pytest.mark.parametrize("name", ["ethanol", "nacl"])
def test_d2(name, small_blocks):
    atoms = STRUCTURES[name]()
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, CUTOFF)
    _compare(lambda **k: d2.d2(atoms.numbers, nb, d2.D2Params(cutoff=CUTOFF), **k), small_blocks, name)


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_pair_sf(name, small_blocks):
    atoms = STRUCTURES[name]()
    params = pair_sf.PairSfParams.auto(_elements(atoms), pair_cutoff=2.6, cutoff=CUTOFF, n_pair=2, n_radial=2,
                                       n_angular_eta=1, cutoff_function="poly")
    values = _compare(lambda **k: pair_sf.pair_sf(*_kernel_args(atoms), params, **k), small_blocks, name)[0]
    assert len(values) > 0


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_dpmd(name, small_blocks):
    atoms = STRUCTURES[name]()
    params = dpmd.DpmdParams(_elements(atoms), CUTOFF, 2, 2)  # some neighbours dropped, some radial slots
    _compare(lambda **k: dpmd.dpmd(*_kernel_args(atoms), params, **k), small_blocks, name)


def test_dpmd_rejects_a_collinear_frame_on_the_device(small_blocks):
    atoms = Atoms("HOH", positions=[[-0.97, 0, 0], [0, 0, 0], [0.98, 0, 0]])
    params = dpmd.DpmdParams((1, 8), 2.0, 1, 1)
    with pytest.raises(ValueError, match="collinear"):
        dpmd.dpmd(*_kernel_args(atoms)[:4], neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 2.0), params,
                  device="cuda")


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_deeppot_se(name, small_blocks):
    atoms = STRUCTURES[name]()
    params = deeppot_se.DeepPotSeParams(_elements(atoms), CUTOFF, 2.0, 3)  # sel 3: neighbours beyond it dropped
    _compare(lambda **k: deeppot_se.deeppot_se(*_kernel_args(atoms), params, **k), small_blocks, name)


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_eann(name, small_blocks):
    atoms = STRUCTURES[name]()
    params = eann.EannParams.auto(_elements(atoms), CUTOFF, n_radial=2, l_max=2)
    _compare(lambda **k: eann.eann(*_kernel_args(atoms), params, **k), small_blocks, name)


@pytest.mark.parametrize("cutoff_function", sorted(cutoffs.KINDS))
@pytest.mark.parametrize("name", sorted(CENTRE_STRUCTURES))
def test_acsf(name, cutoff_function, small_blocks):
    atoms = CENTRE_STRUCTURES[name]()
    # G2 with and without a shift; G4 and G5 with integer and non-integer zeta, both lambdas
    params = acsf.AcsfParams(_elements(atoms), CUTOFF, radial=((0.5, 0.0), (1.0, 1.5)),
                             g4=((0.1, 1.0, -1.0), (0.3, 2.5, 1.0)), g5=((0.2, 4.0, 1.0), (0.1, 1.5, -1.0)),
                             cutoff_function=cutoff_function)
    _compare(lambda **k: acsf.acsf(*_kernel_args(atoms), params, **k), small_blocks, f"{name}/{cutoff_function}")


def test_acsf_radial_only(small_blocks):
    atoms = _nacl()
    params = acsf.AcsfParams(_elements(atoms), CUTOFF, radial=((0.5, 0.0),))  # no angular sets
    _compare(lambda **k: acsf.acsf(*_kernel_args(atoms), params, **k), small_blocks, "nacl")


@pytest.mark.parametrize("name", sorted(CENTRE_STRUCTURES))
def test_wacsf(name, small_blocks):
    atoms = CENTRE_STRUCTURES[name]()
    params = wacsf.WacsfParams.auto(_elements(atoms), CUTOFF, n_radial=2, n_angular=2, zetas=(1.0, 2.5),
                                    cutoff_function="tanh")
    _compare(lambda **k: wacsf.wacsf(*_kernel_args(atoms), params, **k), small_blocks, name)


def _ani_params(atoms):
    return ani.AniParams(_elements(atoms), radial_cutoff=CUTOFF, angular_cutoff=2.9, radial_eta=4.0,
                         radial_shifts=(0.9, 2.0), angular_eta=2.0, angular_zeta=4.0, angular_shifts=(1.0, 2.0),
                         sections=(0.4, 2.0))


@pytest.mark.parametrize("name", sorted(CENTRE_STRUCTURES))
def test_ani_aev(name, small_blocks):
    atoms = CENTRE_STRUCTURES[name]()
    aev = _compare(lambda **k: ani.ani_aev(*_kernel_args(atoms), _ani_params(atoms), **k), small_blocks, name)
    assert aev.angular_jac.value.any()  # some angular neighbours: the angular part is exercised


@pytest.mark.parametrize("name", sorted(CENTRE_STRUCTURES))
def test_ani_terms(name, small_blocks):
    atoms = CENTRE_STRUCTURES[name]()
    terms = _compare(lambda **k: ani.ani_terms(*_kernel_args(atoms), _ani_params(atoms), **k), small_blocks, name)
    assert len(terms.triplet) > 0


def test_empty_neighbour_list_launches_nothing(small_blocks):
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 5.0]])  # no pair within the cutoff
    values, jac, _, _ = eann.eann(*_kernel_args(atoms), eann.EannParams.auto((1,), CUTOFF, 2, 1), device="cuda")
    assert values.shape == (0, 6) and jac.value.shape == (0, 6, 3)  # 4 angular + 2 radial factors


def _featurizers(atoms):
    """Featurizers as models build them: ACSF (HDNNP), distances (SchNet) and the ACSF +
    Gaussian-Coulomb composite of the 4G models (the kernels themselves are compared above)."""
    from zoo.featurizers import AcsfFeaturizer, CompositeFeaturizer, CoulombFeaturizer
    from zoo.featurizers.distances import DistanceFeaturizer

    elements = _elements(atoms)
    widths = np.linspace(0.5, 0.9, len(elements))
    return {
        "acsf": AcsfFeaturizer(acsf.AcsfParams.auto(elements, CUTOFF, 2, 1)),
        "distances": DistanceFeaturizer(elements, CUTOFF),
        "acsf+gaussian coulomb": CompositeFeaturizer([
            AcsfFeaturizer(acsf.AcsfParams.auto(elements, CUTOFF, 2, 1)),
            CoulombFeaturizer(elements, coulomb.CoulombParams(damping="gaussian", accuracy=1e-5), widths)]),
    }


@pytest.mark.parametrize("name", ["ethanol", "nacl"])
def test_featurizers_on_the_device_give_the_cpu_inputs(name, small_blocks, monkeypatch):
    """NNP_ZOO_DEVICE=cuda moves every kernel call of a model's featurizer to the device."""
    atoms = STRUCTURES[name]()
    args = (atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)
    for what, featurizer in _featurizers(atoms).items():
        cpu = featurizer.featurize(*args)
        monkeypatch.setenv(cuda_target.DEVICE_ENV, "cuda")
        small_blocks.clear()
        gpu = featurizer.featurize(*args)
        monkeypatch.delenv(cuda_target.DEVICE_ENV)
        assert small_blocks, f"{name}/{what}: no kernel was launched on the device"
        assert sorted(cpu) == sorted(gpu)
        for key in cpu:
            _assert_same(cpu[key], gpu[key], f"{name}/{what}/{key}")
