"""descriptors.dlpack: a capsule TensorFlow accepts without a copy, and whose memory is
released once the tensor (or the unconsumed capsule) is gone. Host arrays (kDLCPU) stand in
for device arrays here: the structure and ownership are the same, only the device fields
differ."""

import gc

import numpy as np
import pytest

from descriptors import dlpack

tf = pytest.importorskip("tensorflow")


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_tensorflow_reads_the_array_through_dlpack(dtype):
    x = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    before = dlpack.live_capsules()
    tensor = tf.experimental.dlpack.from_dlpack(dlpack.to_dlpack(x))
    assert tensor.dtype == tf.as_dtype(dtype) and tuple(tensor.shape) == x.shape
    np.testing.assert_array_equal(tensor.numpy(), x)
    x[0, 0, 0] = 99  # the tensor views the array's memory: no copy was made
    assert tensor.numpy()[0, 0, 0] == 99
    assert dlpack.live_capsules() == before + 1  # the array is held for the tensor
    del tensor
    gc.collect()
    assert dlpack.live_capsules() == before  # TensorFlow called the deleter


def test_an_unconsumed_capsule_releases_the_array():
    before = dlpack.live_capsules()
    capsule = dlpack.to_dlpack(np.ones(5))
    assert dlpack.live_capsules() == before + 1
    del capsule
    gc.collect()
    assert dlpack.live_capsules() == before


def test_unsupported_arrays_are_named():
    with pytest.raises(ValueError, match="row-major"):
        dlpack.to_dlpack(np.ones((4, 4))[:, ::2])
    with pytest.raises(ValueError, match="dtype complex128"):
        dlpack.to_dlpack(np.ones(3, complex))
    with pytest.raises(ValueError, match="numba.cuda device array or a numpy array"):
        dlpack.to_dlpack([1.0, 2.0])
