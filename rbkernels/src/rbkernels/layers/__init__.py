"""Keras 3 layers for random and adapted kernel bases."""

from .arccos import ArcCosBasis
from .factory import BASES, basis_features, copy_basis, make_basis
from .gaussian import GaussianBasis
from .hadamard import HadamardBasis
from .initializers import OrthogonalRandomFeatures, Rademacher
from .walsh_hadamard import fast_walsh_hadamard

__all__ = [
    "ArcCosBasis",
    "BASES",
    "GaussianBasis",
    "HadamardBasis",
    "OrthogonalRandomFeatures",
    "Rademacher",
    "basis_features",
    "copy_basis",
    "fast_walsh_hadamard",
    "make_basis",
]
