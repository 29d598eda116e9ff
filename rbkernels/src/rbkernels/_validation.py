"""Argument and data checks shared by the layers, the machine and the transformer.

Every check raises a typed error (``ValueError`` or ``TypeError``) that says what was
wrong and what to do, so that nothing is silently coerced.
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

#: Depth of each ArcCos kernel: the number of ArcCos-1 steps (or ReLU layers of the basis).
ARCCOS_LAYERS = {"arccos": 1, "arccos2": 2, "arccos3": 3}
KERNEL_NAMES = ("gaussian", *ARCCOS_LAYERS)


def check_n_features(n_features: Any, *, name: str = "n_features", minimum: int = 1) -> int:
    """Return a basis width as an int, raising if it is not an integer >= ``minimum``.

    For widths only (``units``, ``n_components``): the message speaks of features. Other
    counts (batch sizes, epochs, pairs) go through :func:`check_positive_int`.
    """
    if isinstance(n_features, bool) or not isinstance(n_features, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer number of features, got {n_features!r} "
            f"({type(n_features).__name__}); pass e.g. {name}=100."
        )
    if n_features < minimum:
        raise ValueError(
            f"{name}={n_features} is too small: a basis needs at least {minimum} "
            f"feature(s); pass {name}>={minimum}."
        )
    return int(n_features)


def check_positive_int(value: Any, *, name: str) -> int:
    """Return ``value`` as an int if it is an integer >= 1 (NumPy integers included, not bools).

    Examples
    --------
    >>> check_positive_int(64, name="batch_size")
    64
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive integer, got {value!r} ({type(value).__name__}); "
            f"pass e.g. {name}=10."
        )
    if value < 1:
        raise ValueError(f"{name}={value} is not a positive integer; pass {name}>=1.")
    return int(value)


def arccos_layers(kernel: str) -> int:
    """Number of ArcCos layers of a kernel name ("arccos" -> 1, ..., "arccos3" -> 3).

    Examples
    --------
    >>> arccos_layers("arccos2")
    2
    """
    kernel = check_kernel_name(kernel)
    if kernel not in ARCCOS_LAYERS:
        raise ValueError(
            f"kernel {kernel!r} is not an ArcCos kernel; pass one of {', '.join(ARCCOS_LAYERS)}."
        )
    return ARCCOS_LAYERS[kernel]


@overload
def check_sigma(sigma: Any, *, allow_none: Literal[False] = ...) -> float: ...
@overload
def check_sigma(sigma: Any, *, allow_none: bool) -> float | None: ...
def check_sigma(sigma: Any, *, allow_none: bool = False) -> float | None:
    """Return ``sigma`` as a float, raising unless it is finite and > 0."""
    if sigma is None and allow_none:
        return None
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(
            f"sigma must be a positive real bandwidth, got {sigma!r}; pass e.g. "
            "sigma=rbkernels.sigma_heuristic(X)."
        )
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(
            f"sigma={sigma} is not a valid bandwidth: the Gaussian kernel needs a "
            "finite sigma > 0; use rbkernels.sigma_heuristic(X) to choose one."
        )
    return sigma


def check_kernel_name(kernel: Any) -> str:
    """Return the kernel name, raising with the list of valid names if unknown."""
    if not isinstance(kernel, str) or kernel not in KERNEL_NAMES:
        raise ValueError(f"unknown kernel {kernel!r}; valid kernels are {', '.join(KERNEL_NAMES)}.")
    return kernel


def check_finite_array(X: npt.ArrayLike, *, name: str = "X", ndim: int = 2) -> np.ndarray:
    """Return ``X`` as a float array, raising if it holds NaN/inf or has the wrong rank."""
    X = np.asarray(X)
    if X.dtype == object or not (
        np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be numeric, got dtype {X.dtype}.")
    if X.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-d array (samples x features), got shape {X.shape}."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"{name} contains NaN or infinite values; impute or drop them before "
            "computing kernel features."
        )
    return X


def check_choice_int(value: Any, *, name: str, choices: Collection[int]) -> int:
    """Return ``value`` as an int if it is an integer (not a bool or float) among ``choices``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value not in choices:
        valid = ", ".join(str(c) for c in choices)
        raise ValueError(f"{name}={value!r}; pass one of the integers {valid}.")
    return int(value)


def check_positive_real(value: Any, *, name: str) -> float:
    """Return ``value`` as a float if it is a finite real number > 0 (NumPy scalars included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a positive real number, got {value!r} ({type(value).__name__})."
        )
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not valid; pass a finite number > 0.")
    return value


def check_validation_size(validation_size: float, n_samples: int) -> int:
    """Number of samples held out for early stopping.

    ``validation_size`` is a fraction in the open interval (0, 1) of ``n_samples``
    (rounded, and at least one sample on each side), or an integer count in
    ``[1, n_samples - 1]``. Anything else raises; nothing is clamped into range.

    Examples
    --------
    >>> check_validation_size(0.1, 200), check_validation_size(30, 200), check_validation_size(0.1, 4)
    (20, 30, 1)
    """
    if isinstance(validation_size, bool) or not isinstance(validation_size, numbers.Real):
        raise TypeError(
            f"validation_size must be a fraction in (0, 1) or an integer number of samples, "
            f"got {validation_size!r} ({type(validation_size).__name__})."
        )
    if n_samples < 2:
        raise ValueError(
            f"X has {n_samples} sample(s); holding out a validation split needs at least 2."
        )
    if isinstance(validation_size, numbers.Integral):
        if not 1 <= validation_size <= n_samples - 1:
            raise ValueError(
                f"validation_size={validation_size} samples is outside the valid range "
                f"[1, {n_samples - 1}] for {n_samples} samples; pass a count in that range "
                "or a fraction in (0, 1)."
            )
        return int(validation_size)
    fraction = float(validation_size)
    if not (np.isfinite(fraction) and 0.0 < fraction < 1.0):
        raise ValueError(
            f"validation_size={validation_size!r} is outside the valid range: pass a fraction "
            f"in (0, 1) (e.g. 0.1) or an integer number of samples in [1, {n_samples - 1}]."
        )
    return min(max(round(fraction * n_samples), 1), n_samples - 1)
