"""CUDA kernels under Numba's simulator: a separate pytest process.

``make test`` runs ``NUMBA_ENABLE_CUDASIM=1 python -m pytest -q tests/cuda`` after the main
suite. The variable must be set before numba is imported, so the simulator tests are left
out of any process started without it (the main ``pytest -q`` run); the tests that need no
simulator (``test_cuda_unavailable.py``, ``test_ptx.py``, ``test_dlpack.py``) run there
instead.
"""

import os

import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

collect_ignore = [] if SIMULATOR else ["test_cuda_kernels.py"]
if SIMULATOR:  # no-GPU checks, meaningless under the simulator, and TensorFlow (kept out of it)
    collect_ignore += ["test_cuda_unavailable.py", "test_ptx.py", "test_dlpack.py"]


@pytest.fixture
def small_blocks(monkeypatch):
    """3 threads per block, and a record of every launch's block count (so a test can check
    that its tiny input really spans several blocks)."""
    from descriptors import cuda_target

    monkeypatch.setenv(cuda_target.THREADS_ENV, "3")
    blocks = []
    launch = cuda_target.launch

    def recording(kernel, n_threads, *args):
        blocks.append(-(-int(n_threads) // cuda_target.threads_per_block()))
        return launch(kernel, n_threads, *args)

    monkeypatch.setattr(cuda_target, "launch", recording)
    return blocks
