"""Keras 3 layers for random and adapted kernel bases."""

from .arccos import ArcCosBasis
from .gaussian import GaussianBasis
from .hadamard import HadamardBasis
from .initializers import OrthogonalRandomFeatures, Rademacher
from .walsh_hadamard import fast_walsh_hadamard

__all__ = [
    "ArcCosBasis",
    "GaussianBasis",
    "HadamardBasis",
    "OrthogonalRandomFeatures",
    "Rademacher",
    "fast_walsh_hadamard",
]
