"""Independent exact solutions of the primal QPs with cvxpy + CLARABEL (test oracle)."""

from __future__ import annotations

import numpy as np


def solve_primal(formulation, X, y, n_classes, upper, bias=0.0, margin=1.0):
    """Exact minimiser ``(W, objective)`` of the primal for dense ``X``.

    ``W`` has shape (K, d [+1]) with the intercept column last when ``bias``.
    """
    import cvxpy as cp

    X = np.asarray(X, dtype=float)
    if bias:
        X = np.hstack([X, np.full((X.shape[0], 1), bias)])
    n, d = X.shape
    K = n_classes
    W = cp.Variable((K, d))
    S = X @ W.T  # (n, K)
    Y = np.zeros((n, K))
    Y[np.arange(n), y] = 1.0
    others = 1.0 - Y
    own = cp.sum(cp.multiply(S, Y), axis=1, keepdims=True)  # (n, 1)
    if formulation == "ww":
        loss = cp.sum(cp.multiply(upper[:, None] * others, cp.pos(1.0 - own @ np.ones((1, K)) + S)))
    elif formulation == "llw":
        loss = cp.sum(cp.multiply(upper[:, None] * others, cp.pos(margin + S)))
    elif formulation == "cs":
        slack = cp.max(S + others - own @ np.ones((1, K)), axis=1)  # >= 0 (the y_i term is 0)
        loss = upper @ slack
    else:
        raise ValueError(formulation)
    constraints = [cp.sum(W, axis=0) == 0] if formulation == "llw" else []
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W) + loss), constraints)
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return W.value, problem.value
