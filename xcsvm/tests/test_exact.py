"""The solvers against an independent exact solution of the primal QP (cvxpy + CLARABEL)."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import blobs
from qp_reference import solve_primal
from xcsvm import CSClassifier, LLWClassifier, WWClassifier

ESTIMATORS = {"ww": WWClassifier, "llw": LLWClassifier, "cs": CSClassifier}

# (n_classes, C, sample weights?): odd and even class counts, three C, with and without weights.
CASES = [(3, 0.1, False), (4, 1.0, True), (5, 10.0, False), (6, 1.0, True), (7, 0.3, True)]


def primal_of(formulation, model, X, y, upper, margin=1.0):
    """Primal objective computed here from coef_/intercept_ (independent of xcsvm's code)."""
    W = np.hstack([model.coef_, model.intercept_[:, None]])  # intercept = weight of a 1-feature
    S = X @ model.coef_.T + model.intercept_
    n = len(y)
    own = S[np.arange(n), y][:, None]
    if formulation == "llw":
        loss = np.maximum(0, margin + S)
    else:
        loss = np.maximum(0, 1 - own + S)
    loss[np.arange(n), y] = 0
    per_sample = loss.max(axis=1) if formulation == "cs" else loss.sum(axis=1)
    return 0.5 * np.sum(W**2) + upper @ per_sample, W


def check_against_qp(formulation, X, y, K, C, weights, margin="thesis", n_jobs=None):
    rng = np.random.RandomState(K)
    sample_weight = rng.uniform(0.2, 3.0, size=len(y)) if weights else None
    upper = C * (sample_weight if weights else np.ones(len(y)))
    m = 1.0 if margin == "thesis" else 1.0 / (K - 1)
    W_ref, P_ref = solve_primal(formulation, X, y, K, upper, bias=1.0, margin=m)
    params = dict(C=C, tol=1e-6, max_iter=100000, random_state=0, n_jobs=n_jobs)
    if formulation == "llw":
        params["margin"] = margin
    model = ESTIMATORS[formulation](**params).fit(sp.csr_matrix(X), y, sample_weight=sample_weight)
    P, W = primal_of(formulation, model, X, y, upper, m)
    assert abs(P - P_ref) <= 1e-5 * P_ref, (P, P_ref)
    # The primal is 1-strongly convex in W: ||W - W*||^2 <= 2 (P(W) - P*).
    assert np.linalg.norm(W - W_ref) <= np.sqrt(2 * (abs(P - P_ref) + 1e-8 * P_ref)) + 1e-6
    # The reported objectives bracket the optimum (weak duality).
    assert model.dual_objective_ <= P_ref * (1 + 1e-7) and model.primal_objective_ >= P_ref * (
        1 - 1e-7
    )
    return model


@pytest.mark.parametrize("formulation", ["ww", "llw", "cs"])
@pytest.mark.parametrize("n_classes,C,weights", CASES)
def test_objective_and_weights_match_exact_qp(formulation, n_classes, C, weights):
    X, y = blobs(25 * n_classes, 5, n_classes, seed=n_classes)
    check_against_qp(formulation, X, y, n_classes, C, weights)


def test_llw_original_margin_matches_exact_qp():
    X, y = blobs(100, 5, 4, seed=3)
    check_against_qp("llw", X, y, 4, 1.0, True, margin="lee_lin_wahba")


@pytest.mark.parametrize("formulation", ["ww", "llw"])
def test_two_threads_match_exact_qp(formulation):
    X, y = blobs(150, 5, 5, seed=11)
    check_against_qp(formulation, X, y, 5, 1.0, True, n_jobs=2)


@pytest.mark.parametrize("formulation", ["ww", "llw", "cs"])
def test_duality_gap_is_a_certificate(formulation):
    """Loose tol: the gap brackets P*; tight tol: it closes below 1e-3."""
    X, y = blobs(150, 6, 5, seed=5)
    _, P_ref = solve_primal(formulation, X, y, 5, np.full(len(y), 1.0), bias=1.0)
    cls = {"ww": WWClassifier, "llw": LLWClassifier, "cs": CSClassifier}[formulation]
    loose = cls(C=1.0, tol=1.0, random_state=0).fit(X, y)
    assert loose.dual_objective_ <= P_ref <= loose.primal_objective_ * (1 + 1e-9)
    assert loose.dual_gap_ == pytest.approx(
        (loose.primal_objective_ - loose.dual_objective_) / loose.primal_objective_
    )
    tight = cls(C=1.0, tol=1e-4, max_iter=100000, random_state=0).fit(X, y)
    assert 0 <= tight.dual_gap_ < 1e-3
    assert (tight.primal_objective_ - P_ref) / P_ref <= tight.dual_gap_ + 1e-9
