"""rbkernels: random and adapted kernel bases as Keras 3 layers (thesis Chapter IV).

Examples
--------
>>> import numpy as np, rbkernels
>>> X = np.random.default_rng(0).normal(size=(50, 4))
>>> phi = rbkernels.BasisFeatures(n_components=200, random_state=0).fit(X)
>>> phi.transform(X).shape
(50, 200)
"""

from .heuristics import sigma_heuristic
from .kernels import arccos_kernel, gaussian_kernel, kernel_matrix, paired_kernel
from .layers import (
    ArcCosBasis,
    GaussianBasis,
    HadamardBasis,
    OrthogonalRandomFeatures,
    Rademacher,
    basis_features,
    fast_walsh_hadamard,
    make_basis,
)
from .machine import REGIMES, KernelMachine
from .metrics import (
    kernel_approximation_error,
    kernel_target_alignment,
    optimal_kernel_approximation_error,
)
from .protocol import TrainingProtocol
from .transformer import BasisFeatures

__version__ = "0.1.0"

__all__ = [
    "ArcCosBasis",
    "BasisFeatures",
    "GaussianBasis",
    "HadamardBasis",
    "KernelMachine",
    "OrthogonalRandomFeatures",
    "REGIMES",
    "Rademacher",
    "TrainingProtocol",
    "arccos_kernel",
    "basis_features",
    "fast_walsh_hadamard",
    "gaussian_kernel",
    "kernel_approximation_error",
    "kernel_matrix",
    "kernel_target_alignment",
    "make_basis",
    "optimal_kernel_approximation_error",
    "paired_kernel",
    "sigma_heuristic",
]
