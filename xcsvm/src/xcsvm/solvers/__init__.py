"""Solvers: C-level kernels (``ww``, ``llw``, ``cs``, ``sparse_ops``), the 1-factorization
schedule and the epoch driver. See ``README.md`` in this folder for the kernel contract."""
