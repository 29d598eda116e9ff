"""Batch normalization as the element-wise affine map it is at inference: ``y = s x + t``.

The one place the folding maths lives. ``FuseBatchNormalization`` folds the map into the
kernel and bias of the preceding Dense/Conv layer; the batch-norm LRP rules read it as one
or two linear layers (Eq. A.3 and Fig. V.9).
"""

from __future__ import annotations

from keras import ops

__all__ = ["affine_parameters", "fold_into_kernel"]


def affine_parameters(layer):
    """``scale = γ/√(σ² + ε)``, ``shift = β − μ·scale`` and ``mean = μ`` (1-D, per channel)."""
    mean = ops.convert_to_tensor(layer.moving_mean)
    gamma = ops.convert_to_tensor(layer.gamma) if layer.scale else ops.ones_like(mean)
    beta = ops.convert_to_tensor(layer.beta) if layer.center else ops.zeros_like(mean)
    scale = gamma / ops.sqrt(ops.convert_to_tensor(layer.moving_variance) + layer.epsilon)
    return scale, beta - mean * scale, mean


def fold_into_kernel(kernels, bias, layer):
    """Kernels and bias of ``BatchNormalization(linear(x))`` as one linear map.

    The output channels are the last axis of Dense/Conv kernels (the pointwise kernel for
    separable convolutions).
    """
    scale, shift, _ = affine_parameters(layer)
    new_kernels = list(kernels)
    new_kernels[-1] = kernels[-1] * scale
    if bias is None:
        return new_kernels, shift
    return new_kernels, bias * scale + shift
