"""The CUDA target on a machine without a GPU (the main test process, no simulator): importing
the kernels needs no CUDA, and device="cuda" fails at the boundary with an error naming the fixes."""

import subprocess
import sys

import numpy as np
import pytest
from ase.build import molecule

from descriptors import (acsf, ani, coulomb, cuda_target, d2, deeppot_se, distances, dpmd, eann, internal, pair_sf,
                         pip, wacsf)
from descriptors.neighbors import neighbor_list

KERNEL_MODULES = ["distances", "internal", "pip", "coulomb", "ewald", "d2", "pair_sf", "dpmd", "deeppot_se", "eann",
                  "acsf", "wacsf", "ani"]


def test_importing_the_kernels_imports_no_cuda():
    code = ("import sys\n" + "".join(f"import descriptors.{m}\n" for m in KERNEL_MODULES)
            + "import descriptors.cuda_target\n"
            + "assert 'numba.cuda' not in sys.modules, sorted(m for m in sys.modules if 'cuda' in m)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def _calls():
    atoms = molecule("CH3CH2OH")
    nb = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, 3.0)
    elements = (1, 6, 8)
    args = (atoms.positions, atoms.numbers, atoms.cell.array, atoms.pbc, nb)
    return {
        "pair_distances": lambda d: distances.pair_distances(nb, len(atoms), device=d),
        "inverse_distances": lambda d: internal.inverse_distances(atoms.positions, device=d),
        "pip": lambda d: pip.pip(atoms.positions, pip.PipBasis.generate(atoms.numbers, 1), 1.5, device=d),
        "coulomb_matrix": lambda d: coulomb.coulomb_matrix(atoms.positions, atoms.cell.array, False, device=d),
        "ewald_matrix": lambda d: coulomb.coulomb_matrix(atoms.positions, np.eye(3) * 8.0, True, device=d),
        "d2": lambda d: d2.d2(atoms.numbers, nb, device=d),
        "pair_sf": lambda d: pair_sf.pair_sf(*args, pair_sf.PairSfParams.auto(elements, 2.5, 3.0), device=d),
        "dpmd": lambda d: dpmd.dpmd(*args, dpmd.DpmdParams(elements, 3.0, 2, 2), device=d),
        "deeppot_se": lambda d: deeppot_se.deeppot_se(*args, deeppot_se.DeepPotSeParams(elements, 3.0, 2.0, 4),
                                                      device=d),
        "eann": lambda d: eann.eann(*args, eann.EannParams.auto(elements, 3.0), device=d),
        "acsf": lambda d: acsf.acsf(*args, acsf.AcsfParams.auto(elements, 3.0, 2, 1), device=d),
        "wacsf": lambda d: wacsf.wacsf(*args, wacsf.WacsfParams.auto(elements, 3.0, 2, 1), device=d),
        "ani_aev": lambda d: ani.ani_aev(*args, ani.AniParams.like_ani1x(elements), device=d),
        "ani_terms": lambda d: ani.ani_terms(*args, ani.AniParams.like_ani1x(elements), device=d),
    }


@pytest.mark.parametrize("name", sorted(_calls()))
def test_cuda_without_a_gpu_names_the_fixes(name):
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a GPU is available here; the error path cannot be reached")
    call = _calls()[name]
    call("cpu")  # the inputs are fine
    with pytest.raises(cuda_target.CudaUnavailableError, match="use device='cpu'.*NUMBA_ENABLE_CUDASIM=1"):
        call("cuda")


@pytest.mark.parametrize("name", sorted(_calls()))
def test_unknown_device_is_named(name):
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', received 'gpu'"):
        _calls()[name]("gpu")


@pytest.mark.parametrize("text", ["0", "2000", "many"])
def test_bad_block_size_is_named(monkeypatch, text):
    monkeypatch.setenv(cuda_target.THREADS_ENV, text)
    with pytest.raises(ValueError, match=f"{cuda_target.THREADS_ENV} must be an integer in 1..1024.*{text}"):
        cuda_target.threads_per_block()


def test_block_size_default_and_setting(monkeypatch):
    monkeypatch.delenv(cuda_target.THREADS_ENV, raising=False)
    assert cuda_target.threads_per_block() == cuda_target.DEFAULT_THREADS
    monkeypatch.setenv(cuda_target.THREADS_ENV, "7")
    assert cuda_target.threads_per_block() == 7


def _ethanol_acsf_featurizer():
    from zoo.featurizers import AcsfFeaturizer

    return AcsfFeaturizer(acsf.AcsfParams.auto((1, 6, 8), 3.0, 2, 1))


def test_featurizers_take_their_device_from_the_environment_or_an_attribute(monkeypatch):
    """NNP_ZOO_DEVICE (or featurizer.device) reaches the kernel call; it is not saved."""
    from numba import cuda

    if cuda.is_available():
        pytest.skip("a GPU is available here; the error path cannot be reached")
    atoms = molecule("CH3CH2OH")
    args = (atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc)
    featurizer = _ethanol_acsf_featurizer()
    assert featurizer.kernel_device == "cpu"
    featurizer.featurize(*args)
    monkeypatch.setenv(cuda_target.DEVICE_ENV, "cuda")
    assert featurizer.kernel_device == "cuda"
    with pytest.raises(cuda_target.CudaUnavailableError, match="use device='cpu'"):
        featurizer.featurize(*args)
    featurizer.device = "cpu"  # the attribute wins over the environment
    featurizer.featurize(*args)
    monkeypatch.setenv(cuda_target.DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', received 'gpu'"):
        _ethanol_acsf_featurizer().featurize(*args)
    assert "device" not in str(featurizer.serialize())


def test_a_composite_featurizer_passes_its_device_to_its_parts():
    from zoo.featurizers import CompositeFeaturizer, CoulombFeaturizer

    composite = CompositeFeaturizer([_ethanol_acsf_featurizer(), CoulombFeaturizer((1, 6, 8))])
    composite.device = "cuda"
    assert [part.kernel_device for part in composite.parts] == ["cuda", "cuda"]
    composite.device = None
    assert [part.device for part in composite.parts] == [None, None]
