"""Deprecated: the former home of the training regimes, now two modules.

:mod:`rbkernels.machine` holds :class:`~rbkernels.KernelMachine` and ``REGIMES``;
:mod:`rbkernels.protocol` holds :class:`~rbkernels.TrainingProtocol`; the basis helpers
are in :mod:`rbkernels.layers`. Importing this module warns; it will be removed in 0.3.
"""

import warnings

from .layers.factory import BASES, copy_basis, make_basis
from .layers.factory import basis_features as features
from .machine import REGIMES, KernelMachine
from .protocol import TrainingProtocol

warnings.warn(
    "rbkernels.regimes is deprecated; import KernelMachine and REGIMES from rbkernels "
    "(rbkernels.machine), TrainingProtocol from rbkernels (rbkernels.protocol), and "
    "make_basis/copy_basis/basis_features from rbkernels.layers.",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "BASES",
    "REGIMES",
    "KernelMachine",
    "TrainingProtocol",
    "copy_basis",
    "features",
    "make_basis",
]
