"""The experiments of Chapter IV and Appendix 1, each runnable as
``python -m rbkernels.experiments.<name> [--quick] --out DIR``:

* ``adapting_bases`` - accuracy and KAE vs number of features (Fig. IV.1, Tab. IV.1, Tab. A.1, Fig. A.1)
* ``transfer``       - transfer learning on a 5/5 class split (Fig. IV.2)
* ``deep_kernels``   - ArcCos, ArcCos2, ArcCos3 (Fig. IV.3, A.2, A.3)
* ``fast_kernels``   - Hadamard bases with 1, 2, 3 blocks (Fig. IV.4)
* ``optimization``   - epochs to converge, sin-cos vs ReLU (Fig. IV.5)
* ``reproduce``      - all of them, with ``summary.md``
"""

from importlib.util import find_spec

# The experiments need the [experiments] extra; say so once, here, instead of failing
# later inside a plot or a data loader.
_missing = [
    dist
    for module, dist in (("matplotlib", "matplotlib"), ("shared_datasets", "shared-datasets"))
    if find_spec(module) is None
]
if _missing:
    raise ImportError(
        f"rbkernels.experiments needs {' and '.join(_missing)}, which rbkernels does not "
        "install by default; install the experiments' dependencies with "
        "`pip install rbkernels[experiments]`."
    )
