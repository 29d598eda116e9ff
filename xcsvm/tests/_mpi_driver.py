"""Run inside ``mpiexec`` by the distributed tests: fit, then rank 0 writes JSON.

Usage: ``python _mpi_driver.py OUT.json SCENARIO``. Scenarios:

* ``fit``: WW and LLW (both margins) on the small seeded problem of
  :func:`make_problem`, sparse and dense exchange;
* ``fail-epoch``: rank 1 raises in its third sweep (through a kernel
  wrapper defined here, not in the package); the job must abort.
* ``other-data``: rank 2 is handed slightly different X; the digest check
  of :func:`fit_distributed` must stop the job.
* ``die-epoch``: rank 2 exits abruptly in its first sweep; mpiexec must end
  the job.
* ``estimator``: :class:`~xcsvm.distributed.DistributedWWClassifier` with
  ``class_weight``, ``sample_weight`` and float32 X (the problem of
  ``test_distributed_estimator._weighted_problem``).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import scipy.sparse as sp


def make_problem(n_classes=5, n_samples=120, n_features=24, seed=0):
    """Seeded sparse, roughly separable problem with unequal class sizes."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(10, 40, size=n_classes)
    sizes = np.maximum(1, np.round(sizes / sizes.sum() * n_samples)).astype(int)
    y = np.repeat(np.arange(n_classes), sizes)
    centers = rng.normal(size=(n_classes, n_features)) * (rng.random((n_classes, n_features)) < 0.4)
    X = centers[y] + 0.8 * rng.normal(size=(y.size, n_features))
    X[rng.random(X.shape) < 0.5] = 0.0
    X[np.abs(X).sum(axis=1) == 0, 0] = 1.0
    labels = np.array([f"c{k}" for k in range(n_classes)])[y]
    return sp.csr_matrix(X), labels


#: The fits every scenario runs (the tests compare them across rank counts).
CONFIGS = [
    # No shrinking: on problems this small it doubles the (latency-bound)
    # epochs; shrinking under MPI is covered by the CLI test.
    dict(formulation="ww", C=0.1, tol=1e-4, exchange="sparse", shrinking=False),
    dict(formulation="ww", C=0.1, tol=1e-4, exchange="dense", shrinking=False),
    dict(formulation="llw", C=0.1, tol=1e-4, llw_margin="thesis", shrinking=False),
    dict(formulation="llw", C=0.1, tol=1e-3, llw_margin="lee_lin_wahba", shrinking=False),
]


def main(out, scenario):
    from mpi4py import MPI

    from xcsvm.distributed import fit_distributed
    from xcsvm.distributed.exchange import abort_on_error

    comm = MPI.COMM_WORLD

    def fit_all():
        X, y = make_problem()
        results = []
        for config in CONFIGS:
            params = {"max_iter": 5000, "random_state": 3, **config}
            start = time.perf_counter()
            fit = fit_distributed(X, y, **params)
            if comm.rank == 0:
                results.append(
                    dict(
                        params=params,
                        coef=fit.coef.toarray().tolist(),
                        intercept=fit.intercept.tolist(),
                        classes=fit.classes.tolist(),
                        primal=fit.primal,
                        dual=fit.dual,
                        n_iter=fit.n_iter,
                        converged=fit.converged,
                        owned=[o.tolist() for o in fit.owned],
                        bytes_per_epoch=fit.bytes_per_epoch,
                        seconds=time.perf_counter() - start,
                    )
                )
        return results

    if scenario == "fit":
        results = abort_on_error(fit_all)
    elif scenario == "estimator":

        def fit_estimator():
            from test_distributed_estimator import _weighted_problem
            from xcsvm.distributed import DistributedWWClassifier

            X, y, sample_weight, class_weight, _ = _weighted_problem()
            model = DistributedWWClassifier(
                C=0.5, tol=1e-6, max_iter=20000, random_state=0, class_weight=class_weight
            ).fit(X, y, sample_weight=sample_weight)
            other = [None]
            if comm.rank == 1:
                comm.send(None if model.coef_ is None else "held", dest=0)
            elif comm.size > 1:
                other = [comm.recv(source=1)]
            return dict(
                primal=model.primal_objective_,
                dual=model.dual_objective_,
                owned=[o.tolist() for o in model.owned_classes_],
                other_rank_coef=other[0],
            )

        results = abort_on_error(fit_estimator)
        if comm.rank == 0:
            with open(out, "w") as handle:
                json.dump({"size": comm.size, **results}, handle)
        return
    elif scenario == "other-data":

        def fit_other():
            X, y = make_problem()
            if comm.rank == 2:
                X = X * 1.0001
            return fit_distributed(X, y, tol=1e-3)

        results = abort_on_error(fit_other)
    elif scenario == "die-epoch":
        # Not an exception: rank 2 dies abruptly (as on a segfault or an OOM kill).
        import os

        from xcsvm.distributed import solver

        original = solver._kernels

        def dying_kernels():
            ww, llw = original()

            def ww_wrapped(*args):
                if comm.rank == 2:
                    os._exit(9)
                return ww(*args)

            return ww_wrapped, llw

        solver._kernels = dying_kernels
        results = abort_on_error(fit_all)
    elif scenario == "fail-epoch":
        from xcsvm.distributed import solver

        original = solver._kernels
        calls = {"n": 0}

        def failing_kernels():
            ww, llw = original()

            def ww_wrapped(*args):
                calls["n"] += 1
                if comm.rank == 1 and calls["n"] == 3:
                    raise FloatingPointError("injected failure on rank 1 in its third sweep")
                return ww(*args)

            return ww_wrapped, llw

        solver._kernels = failing_kernels
        results = abort_on_error(fit_all)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    if comm.rank == 0:
        with open(out, "w") as handle:
            json.dump({"size": comm.size, "results": results}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
