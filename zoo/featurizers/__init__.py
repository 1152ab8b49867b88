"""Featurizers: serialisable specs that call ``descriptors`` kernels for a model."""

from zoo.featurizers.base import Featurizer, featurizer_from_config, register_featurizer
from zoo.featurizers.acsf import AcsfFeaturizer
from zoo.featurizers.ani import AniFeaturizer, AniTermsFeaturizer
from zoo.featurizers.deeppot_se import DeepPotSeFeaturizer
from zoo.featurizers.dpmd import DpmdFeaturizer
from zoo.featurizers.eann import EannFeaturizer
from zoo.featurizers.composite import CompositeFeaturizer
from zoo.featurizers.electrostatics import CoulombFeaturizer, D2Featurizer
from zoo.featurizers.pair_sf import PairSfFeaturizer
from zoo.featurizers.wacsf import WacsfFeaturizer
from zoo.featurizers.distances import DistanceFeaturizer

__all__ = ["Featurizer", "featurizer_from_config", "register_featurizer", "AcsfFeaturizer"]
__all__ += ["DeepPotSeFeaturizer", "DpmdFeaturizer", "EannFeaturizer"]
__all__ += ["CompositeFeaturizer", "CoulombFeaturizer", "D2Featurizer"]
__all__ += ["AniFeaturizer", "AniTermsFeaturizer"]
__all__ += ["PairSfFeaturizer", "WacsfFeaturizer"]
__all__ += ["DistanceFeaturizer"]
from zoo.featurizers.internal import InverseDistanceFeaturizer, MoleculeFeaturizer
from zoo.featurizers.pip import PipFeaturizer

__all__ += ["InverseDistanceFeaturizer", "MoleculeFeaturizer", "PipFeaturizer"]
