"""1G PIP-NN: a feed-forward network on permutation invariant polynomials of Morse variables."""

from __future__ import annotations

from zoo.featurizers import PipFeaturizer
from zoo.models.global_nn import MoleculeNetwork
from zoo.registry import register


@register("pip_nn", generation="1G", descriptor="internal coordinates", periodic=False,
          fixed_molecule=True,
          paper="B. Jiang, H. Guo, J. Chem. Phys. 139, 054112 (2013)")
class PipNN(MoleculeNetwork):
    """PIP-NN: one network on permutation invariant polynomials of y_ij = exp(-r_ij / a) (review 2).

    Jiang & Guo 2013 (Eqs. 2–4): the inputs are polynomials of the Morse variables of all
    atom pairs, symmetrised over the permutations of like atoms, so the energy is exactly
    invariant under their exchange while the model stays one global network of one molecule
    (forces through the PIP Jacobian). The basis is every orbit sum of monomials up to
    ``degree`` (:mod:`descriptors.pip`; the paper hand-picks a low-order subset),
    standardized per column on the training split. Energy split, fixed molecule and
    ``numbers=None`` as :class:`zoo.models.global_nn.MoleculeNetwork`.

    Args:
        elements: atomic numbers the model handles.
        numbers: the molecule's atomic numbers in atom order; None: fixed by the first
            structure of the data the model is first adapted (fit) on.
        degree: largest total degree of the PIP monomials.
        morse_range: a in y_ij = exp(-r_ij / a), Å.
        hidden: hidden-layer widths.
        activation: hidden activation (tanh as in the paper).
        **kwargs: loss weights and Keras options, see :class:`zoo.Potential`.
    """

    def __init__(self, elements, numbers=None, degree=3, morse_range=1.5, hidden=(40, 40), activation="tanh",
                 **kwargs):
        super().__init__(PipFeaturizer(elements, numbers, degree, morse_range), hidden, activation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "degree": self.featurizer.degree, "morse_range": self.featurizer.morse_range}
