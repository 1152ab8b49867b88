"""Hand device arrays to TensorFlow without a host copy: a DLPack capsule built with ctypes.

Numba's device arrays expose ``__cuda_array_interface__`` but no ``__dlpack__``, and
TensorFlow's ``tf.experimental.dlpack.from_dlpack`` accepts only a DLPack capsule (a
``PyCapsule`` named "dltensor" holding a ``DLManagedTensor``). :func:`to_dlpack` builds
that capsule from any array interface with the standard library only (ctypes), so no
CuPy/PyTorch is needed:

    capsule = descriptors.dlpack.to_dlpack(device_array)     # numba.cuda device array
    tensor = tf.experimental.dlpack.from_dlpack(capsule)      # same GPU memory, no copy

The capsule keeps the source array alive until its consumer calls the tensor's deleter
(TensorFlow does when the tensor is freed), or until the capsule itself is collected
unconsumed. For a device array the default stream is synchronised first, so the consumer
sees finished kernel results; TensorFlow and Numba both use the device's primary CUDA
context, so the pointer is valid in both.

Guarded: only ``device="cuda"`` code paths that hand results to TensorFlow import this
module; it imports nothing from CUDA itself (``numba.cuda`` only to synchronise and to
name the current device, when given a device array). Host numpy arrays work too
(``kDLCPU``), which is how the tests check the structure layout and the ownership on a
machine without a GPU; the GPU path differs only in the device fields and has not been run
on a GPU here.

Layout: DLPack v0.8 ``dlpack.h`` (DLDevice, DLDataType, DLTensor, DLManagedTensor); strides
are in elements.
"""

from __future__ import annotations

import ctypes

import numpy as np

#: DLDeviceType codes (dlpack.h)
KDL_CPU = 1
KDL_CUDA = 2
#: DLDataTypeCode codes (dlpack.h), by numpy dtype kind
_TYPE_CODES = {"i": 0, "u": 1, "f": 2, "b": 6}


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _Device), ("ndim", ctypes.c_int32), ("dtype", _DataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class _ManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.POINTER(_ManagedTensor))
_ManagedTensor._fields_ = [("dl_tensor", _Tensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]
_CapsuleDestructor = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _CapsuleDestructor]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

#: address of each live DLManagedTensor -> what it keeps alive (array, shape, strides, struct)
_alive: dict[int, tuple] = {}


@_Deleter
def _delete(managed):
    _alive.pop(ctypes.addressof(managed.contents), None)


@_CapsuleDestructor
def _destroy_capsule(capsule):
    # a consumer renames the capsule ("used_dltensor") and owns the tensor from then on
    if _api.PyCapsule_IsValid(capsule, b"dltensor"):
        _alive.pop(_api.PyCapsule_GetPointer(capsule, b"dltensor"), None)


def live_capsules() -> int:
    """Number of exported tensors whose memory is still held for a consumer (for tests)."""
    return len(_alive)


def to_dlpack(array, device_id: int | None = None):
    """A DLPack "dltensor" capsule viewing ``array`` (no copy).

    Args:
        array: an object with ``__cuda_array_interface__`` (a numba.cuda device array:
            ``kDLCUDA``) or ``__array_interface__`` (a numpy array: ``kDLCPU``), of a
            boolean, integer or float dtype, in row-major order (what TensorFlow accepts).
        device_id: CUDA device ordinal; None: Numba's current device.

    Returns:
        A ``PyCapsule`` to pass to ``tf.experimental.dlpack.from_dlpack`` (once).

    Raises:
        ValueError: an unsupported dtype, non-row-major strides, or no array interface.
    """
    if hasattr(array, "__cuda_array_interface__"):
        from numba import cuda

        cuda.synchronize()
        interface = array.__cuda_array_interface__
        device = _Device(KDL_CUDA, cuda.get_current_device().id if device_id is None else int(device_id))
    elif hasattr(array, "__array_interface__"):
        interface = array.__array_interface__
        device = _Device(KDL_CPU, 0)
    else:
        raise ValueError(f"to_dlpack needs a numba.cuda device array or a numpy array, received {type(array)}")
    dtype = np.dtype(interface["typestr"])
    if dtype.kind not in _TYPE_CODES:
        raise ValueError(f"to_dlpack handles bool, integer and float arrays, received dtype {dtype}")
    shape = tuple(int(n) for n in interface["shape"])
    strides = interface.get("strides")
    contiguous = np.empty(0, dtype).strides if not shape else np.empty(shape, dtype).strides
    if strides is not None and tuple(strides) != contiguous and int(np.prod(shape)) > 1:
        raise ValueError(f"to_dlpack needs a row-major (C-contiguous) array, received strides {tuple(strides)} "
                         f"for shape {shape}; copy it first")
    shape_c = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    strides_c = (ctypes.c_int64 * max(len(shape), 1))(*(s // dtype.itemsize for s in contiguous))
    managed = _ManagedTensor()
    managed.dl_tensor = _Tensor(interface["data"][0], device, len(shape),
                                _DataType(_TYPE_CODES[dtype.kind], dtype.itemsize * 8, 1),
                                ctypes.cast(shape_c, ctypes.POINTER(ctypes.c_int64)),
                                ctypes.cast(strides_c, ctypes.POINTER(ctypes.c_int64)), 0)
    managed.deleter = _delete
    address = ctypes.addressof(managed)
    _alive[address] = (array, shape_c, strides_c, managed)
    return _api.PyCapsule_New(address, b"dltensor", _destroy_capsule)
