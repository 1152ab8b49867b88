"""ANI's CELU activation, registered for serialisation."""

import keras

#: CELU slope parameter of ANI (Smith et al. 2018, TorchANI's ANI-1x networks)
ANI_CELU_ALPHA = 0.1


@keras.saving.register_keras_serializable(package="zoo", name="celu_ani")
def celu_ani(x):
    """CELU with alpha = 0.1, ANI's activation: max(0, x) + min(0, 0.1 (exp(x / 0.1) - 1))."""
    return keras.activations.celu(x, alpha=ANI_CELU_ALPHA)


def activation_identifier(name):
    """A JSON-serialisable identifier for ``keras.activations.get``: built-in names as
    they are, ``"celu_ani"`` as the serialised registered function (a plain string finds
    only built-ins)."""
    if name == "celu_ani":
        return keras.saving.serialize_keras_object(celu_ani)
    return name
