"""Every CUDA kernel compiles for a real GPU (NVVM, no GPU needed): ptx_compile.py in a
process without the simulator. Skipped where NVVM is not installed."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

KERNELS = ["_blocks_cuda", "_inverse_distances_cuda", "_morse_cuda", "_pip_cuda", "_direct_cuda", "_ewald_cuda",
           "_d2_cuda", "_eann_cuda", "_env_mat_cuda", "_dpmd_cuda", "_pair_sf_cuda", "_acsf_cuda", "_wacsf_cuda",
           "_aev_cuda", "_terms_cuda", "_fill"]


def _cuda_home():
    """CUDA_HOME if it holds NVVM, else /usr/local/cuda, else the pip package
    nvidia-cuda-nvcc-cu12, else None."""
    candidates = [os.environ.get("CUDA_HOME"), "/usr/local/cuda"]
    spec = importlib.util.find_spec("nvidia")
    if spec is not None and spec.submodule_search_locations:
        candidates += [str(pathlib.Path(p) / "cuda_nvcc") for p in spec.submodule_search_locations]
    for home in filter(None, candidates):
        # toolkit layout, or the flat one of CUDA 13 packages (lib/libnvvm.so)
        if any((pathlib.Path(home) / sub / "libnvvm.so").exists() for sub in ("nvvm/lib64", "lib")):
            return home
    return None


def test_every_kernel_compiles_to_ptx():
    home = _cuda_home()
    if home is None:
        pytest.skip("needs NVVM: set CUDA_HOME to a CUDA toolkit, or pip install nvidia-cuda-nvcc-cu12")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"} | {"CUDA_HOME": home}
    script = pathlib.Path(__file__).with_name("ptx_compile.py")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    compiled = out.stdout.split("PTX compiled:")[-1].split()
    assert sorted(compiled) == sorted(KERNELS)
