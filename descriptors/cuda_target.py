"""The CUDA target of the descriptor kernels: lazy ``numba.cuda``, compilation, launches, transfers.

Importing this module (and every kernel module) never imports ``numba.cuda``: it happens in
:func:`module`, which only ``device="cuda"`` calls reach, so CPU-only machines never need
CUDA libraries.

How a kernel module gets its CUDA version (docs/DESIGN.md, "CUDA target"):

1. Its scalar math bodies (plain functions, ``math`` only) are compiled for CUDA by
   :func:`descriptors.cutoffs.compile_scalar` with ``numba.cuda.jit(device=True)`` - the
   same bodies the CPU kernels compile with ``numba.njit``.
2. Its CUDA loop kernels are plain module-level functions, thin: one thread per centre, row
   or pair (``k = thread_index()`` and a bounds guard), calling the scalar bodies by their
   plain names and writing outputs at the positions the CPU layout gives (CSR offsets of
   the neighbour list, block offsets computed on the host). They allocate nothing.
   :func:`compile_kernels` rebuilds them over a namespace in which those names are the
   CUDA device versions, and ``thread_index`` is ``numba.cuda.grid(1)``, then applies
   ``numba.cuda.jit``. Nothing is compiled before the first ``device="cuda"`` call.
3. The dispatcher moves inputs with :func:`to_device`, allocates outputs with
   :func:`empty` / :func:`zeros`, starts the kernel with :func:`launch` and returns numpy
   arrays from :func:`to_host`, in exactly the layout of the CPU kernel.

Neighbour lists, block layouts (offsets, counts) and other index bookkeeping stay on the
CPU; only the per-centre/per-pair math runs on the device.

Tests run the CUDA kernels under Numba's simulator (``NUMBA_ENABLE_CUDASIM=1`` set before
numba is imported; tests/cuda) with small thread blocks (:data:`THREADS_ENV`), so that tiny
inputs span several blocks.
"""

from __future__ import annotations

import functools
import math
import os
import types

import numpy as np

from descriptors import cutoffs

#: environment variable: threads per block of every launch (tests set it small)
THREADS_ENV = "NNP_ZOO_CUDA_THREADS"
#: environment variable naming the device of the featurizers' kernel calls ("cpu" or "cuda")
DEVICE_ENV = "NNP_ZOO_DEVICE"
#: threads per block when :data:`THREADS_ENV` is unset (a multiple of the 32-thread warp)
DEFAULT_THREADS = 128

#: the numba.cuda module once :func:`module` has imported it (rebuilt kernels bind their own)
cuda = None


class CudaUnavailableError(RuntimeError):
    """``device="cuda"`` was asked on a machine with neither a usable GPU nor the simulator."""


def module():
    """``numba.cuda``, imported on first use; a :class:`CudaUnavailableError` without a GPU.

    Raises:
        CudaUnavailableError: no CUDA driver/GPU and no simulator, naming the fixes.
    """
    global cuda
    from numba import cuda as numba_cuda

    if not numba_cuda.is_available():
        reason = numba_cuda.cuda_error() if hasattr(numba_cuda, "cuda_error") else None
        raise CudaUnavailableError(
            "device='cuda' needs an NVIDIA GPU with a working CUDA driver, but numba.cuda.is_available() is False"
            + (f" ({' '.join(str(reason).split())})" if reason else "")
            + "; use device='cpu', or run under Numba's CUDA simulator by setting NUMBA_ENABLE_CUDASIM=1 "
              "before Python starts (it must be set before numba is imported)")
    cuda = numba_cuda
    return numba_cuda


def use_cuda(device, name: str) -> bool:
    """Check a dispatcher's ``device`` argument: False for "cpu", True for "cuda".

    For "cuda" it also checks that a GPU (or the simulator) is there, so the error comes at
    the public boundary, before any work.

    Raises:
        ValueError: any other value.
        CudaUnavailableError: "cuda" without a GPU or the simulator.
    """
    if device == "cpu":
        return False
    if device != "cuda":
        raise ValueError(f"{name}: device must be 'cpu' or 'cuda', received {device!r}")
    module()
    return True


def default_device() -> str:
    """The device featurizers run their kernels on: :data:`DEVICE_ENV`, else "cpu" (checked
    where a kernel is called, by :func:`use_cuda`)."""
    return os.environ.get(DEVICE_ENV) or "cpu"


def threads_per_block() -> int:
    """Threads per block of the next launch: :data:`THREADS_ENV` if set, else 128."""
    text = os.environ.get(THREADS_ENV)
    if text is None:
        return DEFAULT_THREADS
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if not 1 <= threads <= 1024:
        raise ValueError(f"{THREADS_ENV} must be an integer in 1..1024 (threads per block), received {text!r}")
    return threads


def thread_index():
    """Global index of the calling thread, ``cuda.grid(1)``; compiled into every kernel namespace."""
    return cuda.grid(1)


def _max(a, b):
    return b if b > a else a


def _min(a, b):
    return b if b < a else a


def _floor(x):
    return int(math.floor(x))


def _ceil(x):
    return int(math.ceil(x))


@functools.cache
def _python_semantics() -> dict:
    """Names that make Numba's CUDA target follow the Python semantics the bodies are written
    for (the CPU target does): ``math.floor``/``math.ceil`` return integers (CUDA: floats,
    so ``math.floor(x) & 31`` would not compile), and two-argument ``max``/``min`` (Numba
    0.68's built-in CUDA target fails to type the builtins: "Signature mismatch"; these keep
    Python's choice of the first argument unless the second is larger/smaller)."""
    device = module().jit(device=True)
    plain = {"math": math}
    python_math = types.ModuleType("math")  # Numba types attribute access on a module
    python_math.__dict__.update({k: v for k, v in vars(math).items() if not k.startswith("__")})
    python_math.floor, python_math.ceil = device(_rebuilt(_floor, plain)), device(_rebuilt(_ceil, plain))
    return {"math": python_math, "max": device(_rebuilt(_max, plain)), "min": device(_rebuilt(_min, plain))}


def _device_jit(f):
    """``numba.cuda.jit(device=True)`` after giving the rebuilt body's namespace (shared by
    all bodies of one :func:`descriptors.cutoffs.compile_scalar` call) the names of
    :func:`_python_semantics`."""
    f.__globals__.update(_python_semantics())
    return module().jit(device=True)(f)


@functools.cache
def _device_functions(functions: tuple) -> dict:
    return cutoffs.compile_scalar(list(functions), _device_jit)


@functools.cache
def compile_kernels(kernels: tuple, functions: tuple) -> types.SimpleNamespace:
    """CUDA versions of plain loop-kernel functions and of the scalar bodies they call.

    The scalar bodies are compiled with ``compile_scalar(functions,
    numba.cuda.jit(device=True))`` (their namespace also gets :func:`_python_semantics`).
    Each kernel is rebuilt over one namespace holding ``math``, ``cuda`` (``numba.cuda``),
    the int/float constants of the kernels' modules, ``thread_index``, the same Python-
    semantics names and the compiled bodies under their plain names, then wrapped in
    ``numba.cuda.jit`` (compiled at the first launch). Cached: each (kernels, functions)
    pair is built once per process.

    Args:
        kernels: tuple of plain Python functions written against that namespace.
        functions: tuple of plain scalar functions (and small array helpers, e.g. the
            ``py_func`` of an ``njit`` index helper) the kernels call.

    Returns:
        A namespace with one compiled kernel per name of ``kernels``.
    """
    numba_cuda = module()
    namespace = {"math": math, "cuda": numba_cuda}
    for f in kernels + (thread_index,):
        namespace.update({k: v for k, v in f.__globals__.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)})
    namespace.update(_device_functions(functions))
    namespace.update(_python_semantics())
    # thread_index joins the kernels' own namespace: under the simulator, ``cuda`` there is
    # swapped for the launch's fake module once per launch, never per thread
    namespace["thread_index"] = numba_cuda.jit(device=True)(_rebuilt(thread_index, namespace))
    return types.SimpleNamespace(**{f.__name__: numba_cuda.jit(_rebuilt(f, namespace)) for f in kernels})


def _rebuilt(f, namespace):
    """``f`` with ``namespace`` as its globals (code, defaults, closure and name kept)."""
    out = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
    out.__qualname__, out.__doc__ = f.__qualname__, f.__doc__
    return out


def launch(kernel, n_threads: int, *args) -> None:
    """Start ``kernel`` on ``n_threads`` threads (1-d grid, :func:`threads_per_block` per
    block); the kernel guards ``thread_index() < n``. Nothing happens for 0 threads."""
    n_threads = int(n_threads)
    if n_threads <= 0:
        return
    threads = threads_per_block()
    kernel[(n_threads + threads - 1) // threads, threads](*args)


def to_device(*arrays):
    """Device copies of host arrays (made C-contiguous), one per argument, as a tuple."""
    numba_cuda = module()
    return tuple(numba_cuda.to_device(np.ascontiguousarray(a)) for a in arrays)


def empty(shape, dtype=np.float64):
    """An uninitialised device array (every element must be written by a kernel)."""
    return module().device_array(shape, dtype=dtype)


def zeros(shape, dtype=np.float64):
    """A zero-filled device array (for kernels that accumulate), filled on the device."""
    out = empty(shape, dtype)
    flat = out.reshape(out.size)
    launch(_fill_kernels()._fill, flat.shape[0], flat, 0)
    return out


def to_host(*arrays):
    """Host (numpy) copies of device arrays, one per argument, as a tuple."""
    return tuple(a.copy_to_host() for a in arrays)


def _fill(out, value):
    k = thread_index()
    if k < out.shape[0]:
        out[k] = value


def _fill_kernels():
    return compile_kernels((_fill,), ())
