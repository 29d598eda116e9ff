"""The MPI estimators: the single-machine estimators' contract with the MPI solver behind fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from _mpi import mpiexec_available, run_mpi
from conftest import blobs
from qp_reference import solve_primal

pytest.importorskip("mpi4py")

from xcsvm import LLWClassifier, WWClassifier
from xcsvm.distributed import DistributedLLWClassifier, DistributedWWClassifier, solver
from xcsvm.distributed.exchange import CountingComm


def _self_comm():
    from mpi4py import MPI

    return CountingComm(MPI.COMM_SELF)


def _weighted_problem():
    X, y = blobs(90, 5, 4, seed=11)
    sample_weight = np.random.RandomState(3).uniform(0.2, 3.0, size=y.size)
    class_weight = {0: 2.0, 1: 0.5, 2: 1.0, 3: 1.5}
    upper = 0.5 * sample_weight * np.array([class_weight[c] for c in y])
    return sp.csr_matrix(X, dtype=np.float32), y, sample_weight, class_weight, upper


@pytest.mark.parametrize("formulation", ["ww", "llw"])
def test_class_weight_and_intercept_reach_the_exact_qp_on_one_rank(formulation):
    X, y, sample_weight, class_weight, upper = _weighted_problem()
    cls = DistributedWWClassifier if formulation == "ww" else DistributedLLWClassifier
    model = cls(
        C=0.5,
        tol=1e-6,
        max_iter=20000,
        random_state=0,
        class_weight=class_weight,
        intercept_scaling=2.0,
        comm=_self_comm(),
    ).fit(X, y, sample_weight=sample_weight)
    W_exact, optimum = solve_primal(formulation, X.toarray(), y, 4, upper, bias=2.0)
    assert model.converged_ and sp.issparse(model.coef_)
    assert model.dual_objective_ <= optimum * (1 + 1e-7) <= model.primal_objective_ * (1 + 1e-7)
    assert (model.primal_objective_ - optimum) / optimum < 1e-5
    W = np.hstack([model.coef_.toarray(), model.intercept_[:, None] / 2.0])
    np.testing.assert_allclose(W, W_exact, atol=2e-3 * np.abs(W_exact).max())
    # The same fitted attributes as the single-machine estimator, and the same optimum.
    single = (WWClassifier if formulation == "ww" else LLWClassifier)(
        C=0.5,
        tol=1e-6,
        max_iter=20000,
        random_state=0,
        class_weight=class_weight,
        intercept_scaling=2.0,
    ).fit(X, y, sample_weight=sample_weight)
    assert model.primal_objective_ == pytest.approx(single.primal_objective_, rel=1e-5)
    np.testing.assert_array_equal(model.classes_, single.classes_)
    np.testing.assert_array_equal(model.predict(X), single.predict(X))
    assert model.n_features_in_ == single.n_features_in_ and 0 < model.density_ <= 1


def test_x_is_not_copied_and_the_intercept_is_not_a_column(monkeypatch):
    X, y, *_ = _weighted_problem()
    X.indices = X.indices.astype(np.int64)
    X.indptr = X.indptr.astype(np.int64)
    seen = {}
    original = solver.solve_distributed

    def spy(formulation, problem, comm, **kwargs):
        seen.update(data=problem.data, indices=problem.indices, n_columns=problem.n_columns)
        return original(formulation, problem, comm, **kwargs)

    monkeypatch.setattr(solver, "solve_distributed", spy)
    DistributedWWClassifier(tol=1e-2, comm=_self_comm()).fit(X, y)
    assert np.shares_memory(seen["data"], X.data) and np.shares_memory(seen["indices"], X.indices)
    assert seen["n_columns"] == X.shape[1] + 1


def test_estimator_parameters_clone_and_refusals():
    model = DistributedWWClassifier(C=2.0, exchange="dense", check_data=False)
    assert clone(model).get_params() == model.get_params()
    X, y, *_ = _weighted_problem()
    with pytest.raises(ValueError, match="warm_start=True is not available over MPI"):
        DistributedWWClassifier(warm_start=True, comm=_self_comm()).fit(X, y)
    with pytest.raises(ValueError, match="'exchange' parameter"):
        DistributedWWClassifier(exchange="pigeon", comm=_self_comm()).fit(X, y)


@pytest.mark.skipif(not mpiexec_available(), reason="mpiexec is not installed next to python")
def test_two_ranks_fit_the_estimator_with_class_weights(tmp_path):
    X, y, sample_weight, class_weight, upper = _weighted_problem()
    out = tmp_path / "estimator.json"
    completed, _ = run_mpi(2, ["_mpi_driver.py", out, "estimator"], timeout=90)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(out.read_text())
    _, optimum = solve_primal("ww", X.toarray(), y, 4, upper, bias=1.0)
    assert report["size"] == 2 and report["owned"] and len(report["owned"]) == 2
    assert report["dual"] <= optimum * (1 + 1e-7) <= report["primal"] * (1 + 1e-7)
    assert (report["primal"] - optimum) / optimum < 1e-5
    assert report["other_rank_coef"] is None  # only rank 0 holds the model


@pytest.mark.parametrize("cls", [DistributedWWClassifier, DistributedLLWClassifier])
def test_check_estimator_on_one_process(cls):
    """scikit-learn's estimator checks on COMM_WORLD of one process (the default ``comm``).

    The same expected failures as the single-machine estimators (the default
    tol=0.1 stops before the sample-weight equivalence's rtol=1e-7);
    ``DistributedWWClassifier`` also passes the multi-label checks.
    """
    from sklearn.utils.estimator_checks import check_estimator

    from test_estimators import EXPECTED_FAILURES

    results = check_estimator(cls(random_state=0), expected_failed_checks=EXPECTED_FAILURES)
    names = {result["check_name"] for result in results if result["status"] == "passed"}
    assert ("check_classifiers_multilabel_representation_invariance" in names) == (
        cls is DistributedWWClassifier
    )
