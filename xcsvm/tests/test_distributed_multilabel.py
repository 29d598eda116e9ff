"""Multi-label WW over MPI ranks against the thread version and the cvxpy optimum."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from _mpi import mpiexec_available, run_mpi

pytest.importorskip("mpi4py")

from test_multilabel import data, exact_primal
from xcsvm import WWClassifier
from xcsvm.distributed import DistributedWWClassifier
from xcsvm.distributed.exchange import CountingComm

#: The estimator parameters of every fit here (thread and MPI).
FIT = dict(C=0.3, tol=1e-7, max_iter=100000, intercept_scaling=1.0, random_state=0)


def problems():
    """Five labels with sample weights (3 ranks hold 2, 2 and 1 label), and two labels (a rank holds none)."""
    X, Y = data(60, 5, 5, seed=5)
    weights = np.random.RandomState(5).uniform(0.2, 3.0, X.shape[0])
    X2, Y2 = data(40, 4, 2, seed=2)
    return [(sp.csr_matrix(X), Y, weights), (sp.csr_matrix(X2), Y2, None)]


def _references():
    out = []
    for X, Y, weights in problems():
        thread = WWClassifier(**FIT).fit(X, Y, sample_weight=weights)
        upper = FIT["C"] * (np.ones(X.shape[0]) if weights is None else weights)
        _, optimum = exact_primal(X.toarray(), Y, upper, FIT["intercept_scaling"])
        out.append((thread, optimum))
    return out


@pytest.fixture(scope="module")
def references():
    return _references()


def _check(model: dict, thread: WWClassifier, optimum: float) -> None:
    assert model["converged"]
    # The cvxpy optimum: sandwiched by the dual and the primal objective.
    assert (
        model["dual"] <= optimum * (1 + 1e-7) and abs(model["primal"] - optimum) <= 1e-5 * optimum
    )
    assert model["primal"] == pytest.approx(thread.primal_objective_, rel=1e-6)
    assert 0 <= model["gap"] < 1e-6
    # 1-strong convexity: ||W - W_thread||^2 <= 2 (P(W) - P*) + 2 (P(W_thread) - P*).
    W = np.hstack([np.asarray(model["coef"]), np.asarray(model["intercept"])[:, None]])
    W_thread = np.hstack([thread.coef_, thread.intercept_[:, None]])
    bound = 2 * (abs(model["primal"] - optimum) + abs(thread.primal_objective_ - optimum)) + 1e-10
    assert np.sum((W - W_thread) ** 2) <= bound
    assert tuple(model["rule"]) == tuple(thread.decision_rule_)


def test_one_rank_replays_the_thread_solver(references, tmp_path):
    from mpi4py import MPI

    from xcsvm import load_model, save_model

    for (X, Y, weights), (thread, optimum) in zip(problems(), references):
        model = DistributedWWClassifier(**FIT, comm=CountingComm(MPI.COMM_SELF)).fit(
            X, Y, sample_weight=weights
        )
        assert model.multilabel_ and model.classes_.tolist() == list(range(Y.shape[1]))
        _check(
            dict(
                coef=model.coef_,
                intercept=model.intercept_,
                primal=model.primal_objective_,
                dual=model.dual_objective_,
                gap=model.dual_gap_,
                converged=model.converged_,
                rule=model.decision_rule_,
            ),
            thread,
            optimum,
        )
        # One rank, one bundle, the same seed: the thread solver's epochs exactly.
        assert model.n_iter_ == thread.n_iter_ and model.bytes_per_epoch_ == {"control": 0.0}
        np.testing.assert_array_equal(model.coef_, thread.coef_)
        np.testing.assert_array_equal(model.predict(X), thread.predict(X))
        np.testing.assert_array_equal(model.decision_function(X), thread.decision_function(X))
        assert model.score(X, Y) == thread.score(X, Y)
        # The model file of the thread version: it loads as a multi-label WWClassifier
        # (a communicator is not a storable parameter: comm=None, the default, is).
        save_model(tmp_path / "model.npz", model.set_params(comm=None))
        loaded = load_model(tmp_path / "model.npz")
        assert type(loaded) is WWClassifier and loaded.multilabel_
        np.testing.assert_array_equal(loaded.predict(X), thread.predict(X))


def test_warm_start_is_refused_over_mpi():
    X, Y, _ = problems()[1]
    with pytest.raises(ValueError, match="warm_start=True is not available over MPI"):
        DistributedWWClassifier(warm_start=True).fit(X, Y)


@pytest.mark.skipif(not mpiexec_available(), reason="mpiexec not installed next to the interpreter")
def test_two_and_three_ranks_reach_the_thread_optimum(tmp_path, references):
    out = tmp_path / "out.json"
    # One job of 3 ranks fits on all of them, then on ranks 0 and 1 alone (a split communicator).
    completed, _ = run_mpi(3, ["_mpi_multilabel_driver.py", out], timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    runs = json.loads(out.read_text())
    assert sorted(runs) == ["2", "3"]
    for n_ranks in (2, 3):
        for (X, Y, _), (thread, optimum), model in zip(problems(), references, runs[str(n_ranks)]):
            _check(model, thread, optimum)
            assert model["held"] == [True] + [False] * (n_ranks - 1)  # coef_ on rank 0 only
            owned = model["owned"]
            assert len(owned) == n_ranks and sorted(x for o in owned for x in o) == list(
                range(Y.shape[1])
            )
            # Rank 0 is the lower rank of every pair: per epoch it sends each partner's bundle back
            # (n_columns doubles per label), and nothing else of the bundles.
            assert model["bundle_bytes"] == 8 * (X.shape[1] + 1) * (Y.shape[1] - len(owned[0]))
            # Scores agree to the weights' distance (predict may differ where two labels are tied).
            np.testing.assert_allclose(
                np.asarray(model["scores"]), thread.decision_function(X), atol=1e-4
            )
    assert sorted(len(o) for o in runs["3"][0]["owned"]) == [1, 2, 2]
    assert [len(o) for o in runs["3"][1]["owned"]] == [1, 1, 0]  # two labels, three ranks: one idle
