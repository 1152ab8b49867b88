"""Compile every CUDA kernel for a real GPU (sm_80 PTX, Numba's CUDA target with NVVM) on
a machine without one; run by test_ptx.py in a process without the simulator.

The simulator runs kernels as Python, so it cannot see what the CUDA target refuses to
type or compile (it missed ``math.floor`` returning a float and the builtin ``max``).
Here each dispatcher runs its host code with ``device="cuda"`` while launches become
``numba.cuda.compile_ptx`` calls on the launched kernel with the argument types of the
launch, and transfers become numpy copies (kernel outputs are therefore not computed).

Usage: CUDA_HOME=<dir with nvvm/lib64/libnvvm.so> python tests/cuda/ptx_compile.py
"""

import types

import numba
import numba.cuda.dispatcher
import numpy as np
from ase.build import bulk, molecule
from numba import cuda

from descriptors import (acsf, ani, coulomb, cuda_target, d2, deeppot_se, distances, dpmd, eann, internal, pair_sf,
                         pip, wacsf)
from descriptors.neighbors import neighbor_list

CC = (8, 0)
# device functions ask the current device for its compute capability: answer without a GPU
numba.cuda.dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=CC)
cuda.is_available = lambda: True
compiled = []


def _compile(kernel, n_threads, *args):
    ptx, _ = cuda.compile_ptx(kernel.py_func, tuple(numba.typeof(a) for a in args), cc=CC)
    compiled.append(kernel.py_func.__name__)


def _zeros(shape, dtype=np.float64):
    out = np.zeros(shape, dtype)
    _compile(cuda_target._fill_kernels()._fill, out.size, out.reshape(-1), 0)
    return out


cuda_target.launch = _compile
cuda_target.to_device = lambda *arrays: tuple(np.ascontiguousarray(a).copy() for a in arrays)
cuda_target.empty = lambda shape, dtype=np.float64: np.zeros(shape, dtype)
cuda_target.zeros = _zeros
cuda_target.to_host = lambda *arrays: tuple(np.array(a) for a in arrays)

m = molecule("CH3CH2OH")
nb = neighbor_list(m.positions, m.cell.array, m.pbc, 3.0)
el = (1, 6, 8)
args = (m.positions, m.numbers, m.cell.array, m.pbc, nb)
distances.pair_distances(nb, len(m), 2.5, device="cuda")
internal.inverse_distances(m.positions, device="cuda")
pip.pip(m.positions, pip.PipBasis.generate(m.numbers, 2), 1.5, device="cuda")
coulomb.coulomb_matrix(m.positions, m.cell.array, False, coulomb.CoulombParams(damping="physnet"), device="cuda")
nacl = bulk("NaCl", "rocksalt", a=5.64)
coulomb.coulomb_matrix(nacl.positions, nacl.cell.array, True, coulomb.CoulombParams(accuracy=1e-3), device="cuda")
d2.d2(m.numbers, nb, d2.D2Params(cutoff=3.0), device="cuda")
eann.eann(*args, eann.EannParams.auto(el, 3.0, 2, 2), device="cuda")
deeppot_se.deeppot_se(*args, deeppot_se.DeepPotSeParams(el, 3.0, 2.0, 3), device="cuda")
dpmd.dpmd(*args, dpmd.DpmdParams(el, 3.0, 2, 2), device="cuda")
pair_sf.pair_sf(*args, pair_sf.PairSfParams.auto(el, 2.5, 3.0, 2, 2, 1), device="cuda")
acsf.acsf(*args, acsf.AcsfParams.auto(el, 3.0, 2, 1, zetas=(1.0, 2.5)), device="cuda")
wacsf.wacsf(*args, wacsf.WacsfParams.auto(el, 3.0, 2, 1), device="cuda")
ani.ani_aev(*args, ani.AniParams.like_ani1x(el), device="cuda")
ani.ani_terms(*args, ani.AniParams.like_ani1x(el), device="cuda")
print("PTX compiled:", " ".join(sorted(set(compiled))))
