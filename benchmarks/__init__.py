"""The nnp-zoo benchmark harness: ``python -m benchmarks run SWEEP.toml``.

Submodules are imported on use so that light tools (``benchmarks.descriptor_speed``)
start without TensorFlow.
"""
