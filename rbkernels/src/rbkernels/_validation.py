"""Argument and data checks shared by the layers, the regimes and the transformer.

Every check raises a typed error (``ValueError`` or ``TypeError``) that says what was
wrong and what to do, so that nothing is silently coerced.
"""

import numbers

import numpy as np

KERNEL_NAMES = ("gaussian", "arccos", "arccos2", "arccos3")


def check_n_features(n_features, *, name="n_features", minimum=1):
    """Return ``n_features`` as an int, raising if it is not an integer >= ``minimum``."""
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


def check_sigma(sigma, *, allow_none=False):
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


def check_kernel_name(kernel):
    """Return the kernel name, raising with the list of valid names if unknown."""
    if not isinstance(kernel, str) or kernel not in KERNEL_NAMES:
        raise ValueError(
            f"unknown kernel {kernel!r}; valid kernels are {', '.join(KERNEL_NAMES)}."
        )
    return kernel


def check_finite_array(X, *, name="X", ndim=2):
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
