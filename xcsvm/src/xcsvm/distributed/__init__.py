"""Distributed Weston–Watkins and Lee–Lin–Wahba training over MPI (Chapter III, §4.1.2, §4.2.5).

The estimators :class:`DistributedWWClassifier` and
:class:`DistributedLLWClassifier` (and the functional :func:`fit_distributed`)
are the single-machine estimators with the classes spread over MPI ranks:
the same validation and :class:`~xcsvm.solvers.problem.Problem` (X never
copied, the intercept an implicit constant feature, ``class_weight`` and
``sample_weight`` in the dual bounds), the same schedule module
(:mod:`xcsvm.solvers.schedule`, Algorithm 4 once) and the same epoch loop
(:func:`xcsvm.solvers.driver.run_epochs`), into which
:func:`~xcsvm.distributed.solver.solve_distributed` plugs an epoch that
exchanges class bundles. MPI (through mpi4py, buffer methods only) moves data
between ranks; OpenMP threads work inside each rank (``n_jobs``); the Cython
kernels know nothing about MPI. LLW runs the single-machine kernel
(:func:`xcsvm.solvers.llw.llw_pass`, LLW's duals are stored per class there
too); WW runs :func:`xcsvm.distributed._sweeps.ww_pairs` (the coordinate step
``box_step`` of the single-machine kernel, fused float32/float64 and
int32/int64 CSR types), which optimises an explicit list of class pairs whose
weight rows may sit in two arrays (own rows and a received bundle) and keeps
the duals per pair block, so that each rank stores only ``~n (C - 1) / P`` of
them (the single-machine WW kernel keeps a dense ``n x C`` dual matrix).
Crammer–Singer has no MPI solver: its block step on a sample solves one
sub-problem over *all* K classes at once (their scores enter one threshold)
and moves every weight vector, so there are no class pairs to spread over
ranks -- every step would need all K rows, i.e. an all-to-all exchange per
sample.

* **Ownership.** Classes are partitioned across ranks, balanced by the
  sample visits they cause (:func:`~xcsvm.solvers.schedule.partition_classes`).
  A rank holds the weight vectors and the dual variables of its classes only.
* **LLW** (:mod:`~xcsvm.distributed.llw`): classes are independent given
  w̄; one buffer ``Allreduce`` of a d-vector per tenth of an epoch
  (Algorithm 1).
* **WW** (:mod:`~xcsvm.distributed.ww`): a two-level schedule, the
  1-factorization of a rank's own classes, then an overlay 1-factorization
  of the ranks in which matched ranks swap whole class bundles, sending only
  the non-zero weights (§4.2.5). Every class pair meets once per epoch.
* **Data**: every rank holds all of X; it reads the same svmlight file and
  the ranks compare digests, or rank 0 reads and broadcasts
  (:mod:`~xcsvm.distributed.data`).
* **Shrinking** (§4.1.1): variables that did not move in 3 visits are
  skipped; when the violation falls below ``tol``, one epoch over all
  variables decides whether to stop (``shrinking=False`` for the
  fixed-epoch protocol of Fig. III.2).
* **Faults**: :func:`~xcsvm.distributed.exchange.abort_on_error` turns an
  exception on any rank into ``MPI_Abort`` with that rank's message, so the
  job ends within seconds instead of hanging in the next collective.

Memory per rank
---------------
With ``n`` samples, ``d`` features (``+1`` with an intercept), ``nnz``
non-zeros of X, ``C`` classes over ``P`` ranks and ``k = C / P`` classes on
a rank (more precisely its share from the partition), a rank needs about

* X as given (float32 or float64 values, int32 or int64 indices; not
  copied, no intercept column appended) plus ``~40 n`` bytes of per-sample
  arrays — the same on every rank;
* its weights: ``8 k d`` bytes (dense rows, as the thesis' implementation);
* WW: a visiting bundle of at most half a partner's classes,
  ``8 (k / 2) d`` bytes (dense after receiving; the message itself holds only
  the non-zeros, 12 bytes each), and its dual variables with their shrinking
  counters, whose total over all ranks is ``9 n (C - 1)`` bytes — about
  ``9 n (C - 1) / P`` per rank;
* LLW: ``9 k n`` bytes of dual variables and shrinking counters, and two
  d-vectors for the ``Allreduce``;
* rank 0 additionally assembles the sparse model at the end (``12`` bytes per
  non-zero of W) to write it.

Example: LSHTC-2011-sized data (n = 394 754, d = 594 158, C = 27 875) on
P = 4 ranks: W share 8 · 6 969 · 594 158 B ≈ 33 GB, plus WW duals and
counters 9 · 394 754 · 27 874 / 4 B ≈ 25 GB per rank — it fits the thesis'
128 GB machines only distributed; a single machine would need 4× that.
"""

from .estimator import DistributedLLWClassifier, DistributedWWClassifier
from .solver import DistributedFit, fit_distributed, solve_distributed

__all__ = [
    "DistributedWWClassifier",
    "DistributedLLWClassifier",
    "DistributedFit",
    "fit_distributed",
    "solve_distributed",
]
