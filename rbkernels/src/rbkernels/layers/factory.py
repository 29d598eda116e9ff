"""Basis layers by kernel name, copies of built bases, and their features as NumPy arrays."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from numpy.typing import ArrayLike

from .._validation import arccos_layers, check_kernel_name, check_sigma
from .arccos import ArcCosBasis
from .base import KernelBasis, resolve_units
from .gaussian import GaussianBasis
from .hadamard import HadamardBasis

__all__ = ["BASES", "basis_features", "copy_basis", "layer_from_state", "layer_state", "make_basis"]

BASES = ("dense", "hadamard")


def make_basis(
    kernel: str,
    units: int | None = None,
    sigma: float | None = None,
    *,
    basis: str = "dense",
    n_blocks: int = 3,
    seed: int | None = None,
    n_features: int | None = None,
) -> KernelBasis:
    """The basis layer for a kernel name: Gaussian (dense or Hadamard) or (deep) ArcCos.

    Parameters
    ----------
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"}
    units : int
        Output width for the Gaussian bases, total width for the ArcCos bases.
    sigma : float
        Bandwidth (Gaussian only).
    basis : {"dense", "hadamard"}
    n_blocks : {1, 2, 3}
        Hadamard blocks.
    seed : int or None
    n_features : int, optional
        Deprecated name of ``units``.

    Returns
    -------
    KernelBasis
        An unbuilt layer.

    Examples
    --------
    >>> type(make_basis("arccos2", 100)).__name__
    'ArcCosBasis'
    """
    units = resolve_units("make_basis", units, n_features)
    kernel = check_kernel_name(kernel)
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r}; valid bases are {', '.join(BASES)}.")
    if kernel == "gaussian":
        sigma = check_sigma(sigma)
        if basis == "hadamard":
            return HadamardBasis(units, sigma, n_blocks=n_blocks, seed=seed)
        return GaussianBasis(units, sigma, seed=seed)
    if basis == "hadamard":
        raise ValueError(
            f"the Hadamard basis approximates the Gaussian kernel only; use "
            f"basis='dense' for kernel={kernel!r}."
        )
    return ArcCosBasis(units, n_layers=arccos_layers(kernel), seed=seed)


def copy_basis(layer: KernelBasis, *, dtype: str | None = None) -> KernelBasis:
    """A new, built, frozen basis layer with the same configuration and weights.

    Parameters
    ----------
    layer : KernelBasis
        A built basis.
    dtype : str, optional
        The copy's dtype (e.g. "float64"); the layer's by default.

    Returns
    -------
    KernelBasis

    Examples
    --------
    >>> import numpy as np
    >>> layer = make_basis("arccos", 8, seed=0)
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(basis_features(copy_basis(layer, dtype="float64"), x), basis_features(layer, x)))
    True
    """
    if not layer.built:
        raise ValueError(
            f"copy_basis needs a built layer; call {type(layer).__name__} on data first."
        )
    config = layer.get_config()
    if dtype is not None:
        config["dtype"] = dtype
    clone = type(layer).from_config(config)
    clone(np.zeros((1, layer.input_spec.axes[-1]), clone.compute_dtype))
    clone.set_weights([np.asarray(w, dtype=clone.variable_dtype) for w in layer.get_weights()])
    clone.trainable = False
    return clone


def basis_features(layer: keras.layers.Layer, X: ArrayLike, *, chunk: int = 4096) -> np.ndarray:
    """``layer(X)`` as a NumPy array (the layer's dtype), computed in chunks of rows.

    Parameters
    ----------
    layer : keras layer
    X : array of shape (n, d)
    chunk : int, default 4096
        Rows per call.

    Returns
    -------
    ndarray of shape (n, output width)

    Examples
    --------
    >>> import numpy as np
    >>> basis_features(make_basis("arccos", 4, seed=0), np.zeros((3, 2), "float32")).tolist()[0]
    [0.0, 0.0, 0.0, 0.0]
    """
    X = np.asarray(X)
    out = [ops.convert_to_numpy(layer(X[i : i + chunk])) for i in range(0, len(X), chunk)]
    return (
        np.concatenate(out, axis=0) if out else np.zeros((0, layer.output_dim), layer.compute_dtype)
    )


def layer_state(layer: keras.layers.Layer) -> tuple:
    """A picklable ``(class, config, weights, input width)`` of a built layer (Keras layers do not pickle)."""
    return type(layer), layer.get_config(), layer.get_weights(), layer.input_spec.axes[-1]


def layer_from_state(state: tuple) -> keras.layers.Layer:
    """The frozen layer that :func:`layer_state` described, built and with its weights."""
    cls, config, weights, d = state
    layer = cls.from_config(config)
    layer(np.zeros((1, d), layer.compute_dtype))
    layer.set_weights(weights)
    layer.trainable = False
    return layer
