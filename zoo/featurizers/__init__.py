"""Featurizers: serialisable specs that call ``descriptors`` kernels for a model."""

from zoo.featurizers.base import Featurizer, featurizer_from_config, register_featurizer
from zoo.featurizers.acsf import AcsfFeaturizer

__all__ = ["Featurizer", "featurizer_from_config", "register_featurizer", "AcsfFeaturizer"]
