"""Per-group input standardization (HDNNP-style descriptor scaling) shared by the models.

Behler–Parrinello HDNNPs feed each element network inputs shifted and scaled with that
element's mean and standard deviation over the training set (review section 3.2.1). The
groups are elements for atom-wise models, element-pair types for pair rows, or a single
group where one network sees every atom (SingleNN). Statistics are non-trainable weights of
the model (saved with it), fitted by :func:`group_statistics` in ``adapt_inputs`` and applied
by :func:`standardize` in the forward pass.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: columns with a smaller spread within a group are left unscaled, so that a column that
#: is (nearly) constant in training cannot blow up on new structures
MIN_STD = 1e-6


def statistics_weights(layer, n_groups: int, n_features: int):
    """Create ``layer.feature_mean`` (zeros) and ``layer.feature_std`` (ones), both
    non-trainable float [n_groups, n_features], and return them."""
    layer.feature_mean = layer.add_weight(shape=(n_groups, n_features), initializer="zeros", trainable=False,
                                          name="feature_mean")
    layer.feature_std = layer.add_weight(shape=(n_groups, n_features), initializer="ones", trainable=False,
                                         name="feature_std")
    return layer.feature_mean, layer.feature_std


def group_statistics(values, group, n_groups: int, min_std: float = MIN_STD):
    """Mean and standard deviation of the rows of each group.

    Args:
        values: float [n_rows, K], the model inputs of a training sample.
        group: int [n_rows], group of each row in [0, n_groups).
        n_groups: number of groups.
        min_std: spreads at or below this are replaced by 1 (column left unscaled).

    Returns:
        mean float64 [n_groups, K] (0 for groups without rows) and std float64
        [n_groups, K] (1 for groups without rows).
    """
    values = np.asarray(values, np.float64)
    group = np.asarray(group)
    if values.ndim != 2 or group.shape != values.shape[:1]:
        raise ValueError(f"values must be [n_rows, K] and group [n_rows], received shapes {values.shape} "
                         f"and {group.shape}")
    if group.size and (group.min() < 0 or group.max() >= n_groups):
        raise ValueError(f"group indices must lie in [0, {n_groups}), received [{group.min()}, {group.max()}]")
    mean = np.zeros((n_groups, values.shape[1]))
    std = np.ones((n_groups, values.shape[1]))
    for g in np.unique(group):
        rows = values[group == g]
        mean[g] = rows.mean(axis=0)
        spread = rows.std(axis=0)
        std[g] = np.where(spread > min_std, spread, 1.0)
    return mean, std


def standardize(values, group, mean, std):
    """``(values - mean[group]) / std[group]``: float [n_rows, K]."""
    return (values - tf.gather(mean, group)) / tf.gather(std, group)
