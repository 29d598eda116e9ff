"""The feature-major WW kernel (single machine) against a one-step-at-a-time oracle.

``ww.ww_epoch_t`` regroups the arithmetic of a plain sweep (scores of a whole
class group in one pass, updates deferred to the end of the sample) but must take
exactly the same coordinate steps: from the same state, one epoch of each gives
the same dual variables, shrinking counters and weights up to rounding. The oracle
is ``reference_kernels.ww_epoch`` (pure Python, test-only).
"""

import numpy as np
import pytest
import scipy.sparse as sp

import reference_kernels
from xcsvm.solvers import driver, ww
from xcsvm.solvers.problem import prepare_problem


def _sparse_problem(n, d, n_classes, seed, dtype, index_dtype, bias):
    rng = np.random.RandomState(seed)
    X = sp.random(n, d, density=0.08, random_state=rng, format="csr", dtype=np.float64)
    X.data = rng.randn(X.data.size)
    X = X + sp.csr_matrix((np.ones(n), (np.arange(n), rng.randint(0, d, size=n))), shape=(n, d))
    X = sp.csr_matrix(X, dtype=dtype)  # every row has a non-zero
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    y = rng.randint(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    upper = rng.uniform(0.2, 2.0, size=n)
    upper[3] = 0.0  # a zero-weight sample
    return prepare_problem(X, y, n_classes, upper, bias)


@pytest.mark.parametrize("n_threads, n_groups", [(1, None), (2, None), (2, 5)])
@pytest.mark.parametrize("bias", [0.0, 1.5])
@pytest.mark.parametrize("dtype, index_dtype", [(np.float64, np.int32), (np.float32, np.int64)])
def test_feature_major_epoch_equals_class_major_epoch(
    n_threads, n_groups, bias, dtype, index_dtype
):
    # 23 classes: groups of unequal width, padded columns inside the fused blocks;
    # 5 groups: a group sits out of the fused first round and of every later one.
    n_classes = 23
    problem = _sparse_problem(150, 60, n_classes, 0, dtype, index_dtype, bias)
    rng = np.random.RandomState(1)
    alpha, stale = driver.new_dual("ww", problem)
    alpha[:] = rng.uniform(0, 1, size=alpha.shape) * (rng.rand(*alpha.shape) < 0.3)
    np.minimum(alpha, problem.upper[:, None], out=alpha)
    alpha[np.arange(problem.n_samples), problem.y] = 0.0
    # Most variables shrunk for some samples (the class-by-class path), none for others
    # (the whole-group path).
    stale[:] = (
        np.where(rng.rand(*stale.shape) < 0.9, 3, 0) * (np.arange(problem.n_samples) % 2)[:, None]
    )
    W = driver.primal_from_dual("ww", problem, alpha)

    for shrink in (True, False):
        epochs = driver._Epochs(
            "ww",
            problem,
            alpha.copy(),
            stale.copy(),
            W.copy(),
            n_threads,
            np.random.RandomState(7),
            1.0,
            n_groups,
        )
        assert len(epochs.blocks) > epochs.n_groups or n_threads == 1
        order, ptr = epochs.block_order(np.random.RandomState(3))
        a_ref, s_ref, W_ref = alpha.copy(), stale.copy(), W.copy()
        v_ref, m_ref = reference_kernels.ww_epoch(
            problem,
            ptr,
            order,
            epochs.block_class_ptr,
            epochs.block_classes,
            epochs.rounds,
            a_ref,
            s_ref,
            W_ref,
            shrink,
        )
        v, m = ww.ww_epoch_t(
            *problem.csr_arrays,
            problem.sq_norms,
            problem.upper,
            problem.y,
            ptr,
            order,
            epochs.block_class_ptr,
            epochs.block_classes,
            epochs.block_col0,
            epochs.class_col,
            epochs.rounds,
            epochs.alpha,
            epochs.stale,
            epochs.WT,
            epochs.scratch,
            epochs.scratch_index,
            problem.bias,
            shrink,
            n_threads,
        )
        assert m == m_ref > 0
        assert v == pytest.approx(v_ref, rel=1e-10)
        np.testing.assert_allclose(epochs.alpha, a_ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(epochs.stale, s_ref)
        np.testing.assert_allclose(epochs.class_major(), W_ref, rtol=0, atol=1e-11)
        assert np.abs(epochs.alpha - alpha).max() > 1e-3  # the epoch did move


def test_feature_major_groups_start_on_cache_line_pairs():
    problem = _sparse_problem(200, 30, 23, 0, np.float64, np.int32, 0.0)
    alpha, stale = driver.new_dual("ww", problem)
    epochs = driver._Epochs("ww", problem, alpha, stale, None, 4, np.random.RandomState(0), 1.0)
    assert epochs.WT.ctypes.data % 128 == 0
    # 23 classes in 8 groups of ~3: padding each to 16 columns would make WT 5.6x W;
    # the unit shrinks until the padding adds at most a quarter of K.
    assert epochs.pad < 16 and epochs.WT.shape[1] <= 1.25 * 23
    assert np.all(epochs.group_col0 % epochs.pad == 0)
    assert sorted(epochs.class_col.tolist()) == sorted(set(epochs.class_col.tolist()))
    for g, members in enumerate(epochs.groups):
        np.testing.assert_array_equal(
            epochs.class_col[members], epochs.group_col0[g] + np.arange(len(members))
        )
    # Every block (a fused pair of groups too) spans contiguous columns: its t-th
    # target is in column block_col0 + t, padding columns are marked -1.
    for b in range(len(epochs.blocks)):
        targets = epochs.block_classes[epochs.block_class_ptr[b] : epochs.block_class_ptr[b + 1]]
        real = targets >= 0
        assert real[0] and real[-1]
        np.testing.assert_array_equal(
            epochs.class_col[targets[real]], epochs.block_col0[b] + np.flatnonzero(real)
        )
        assert sorted(targets[real]) == sorted(
            np.concatenate([epochs.groups[g] for g in epochs.blocks[b]])
        )


def test_block_order_shuffles_each_block():
    problem = _sparse_problem(300, 30, 9, 0, np.float64, np.int32, 0.0)
    alpha, stale = driver.new_dual("ww", problem)
    epochs = driver._Epochs("ww", problem, alpha, stale, None, 2, np.random.RandomState(0), 1.0)
    order, ptr = epochs.block_order(np.random.RandomState(1))
    for b, block in enumerate(epochs.blocks):
        samples = order[ptr[b] : ptr[b + 1]]
        expected = np.flatnonzero(np.isin(epochs.group_of_class[problem.y], block))
        np.testing.assert_array_equal(np.sort(samples), expected)
        if len(block) > 1:  # the groups of a fused block interleave
            groups = epochs.group_of_class[problem.y[samples]]
            assert np.count_nonzero(np.diff(groups)) > 5


def test_ww_groups_changes_the_schedule_not_the_solution():
    problem = _sparse_problem(300, 40, 9, 1, np.float64, np.int32, 0.0)
    primal = []
    for groups in (None, 4, 9):
        result = driver.solve(
            "ww", problem, tol=1e-4, max_iter=5000, random_state=0, ww_groups=groups
        )
        assert result.converged
        p, d = driver.objectives("ww", problem, result.W, result.alpha)
        assert driver.relative_gap(p, d) < 1e-4
        primal.append(p)
    np.testing.assert_allclose(primal, primal[0], rtol=1e-4)


@pytest.mark.parametrize("formulation, groups", [("llw", 2), ("ww", 0), ("ww", -3)])
def test_ww_groups_rejects_bad_values(formulation, groups):
    problem = _sparse_problem(50, 10, 3, 0, np.float64, np.int32, 0.0)
    with pytest.raises(ValueError, match="ww_groups"):
        driver.solve(formulation, problem, ww_groups=groups)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("bias", [0.0, 0.7])
@pytest.mark.parametrize("n_rows", [1, 64, 150])
def test_decision_scores_equal_the_dense_product(n_threads, bias, n_rows):
    from xcsvm.solvers import sparse_ops

    problem = _sparse_problem(120, 70, 3, 2, np.float32, np.int64, 0.0)
    X = sp.csr_matrix((problem.data, problem.indices, problem.indptr), shape=(120, 70))
    W = np.random.RandomState(4).randn(n_rows, 71)
    out = np.empty((120, n_rows))
    sparse_ops.decision_scores(*problem.csr_arrays, W, bias, out, n_threads)
    expected = X.astype(np.float64) @ W[:, :70].T + (bias * W[:, 70] if bias else 0.0)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_cs_shrinks_classes_inside_a_block_and_keeps_the_optimum():
    # Many classes, few of them competing for a sample: most variables of a block sit at
    # their bound 0 and leave it (LIBLINEAR's shrinking inside Solver_MCSVM_CS).
    problem = _sparse_problem(300, 40, 15, 3, np.float64, np.int32, 0.5)
    shrunk = driver.solve("cs", problem, tol=1e-6, max_iter=5000, random_state=0, shrinking=True)
    plain = driver.solve("cs", problem, tol=1e-6, max_iter=5000, random_state=0, shrinking=False)
    assert shrunk.converged and plain.converged
    full = np.count_nonzero(problem.upper > 0) * problem.n_classes  # zero-weight samples sit out
    assert all(r["active"] == full for r in plain.history if r["active"])
    assert min(r["active"] for r in shrunk.history) < 0.5 * full  # classes did leave the blocks
    assert not shrunk.history[-1]["shrunk"]  # confirmed on all variables
    p_shrunk, d_shrunk = driver.objectives("cs", problem, shrunk.W, shrunk.alpha)
    p_plain, _ = driver.objectives("cs", problem, plain.W, plain.alpha)
    assert driver.relative_gap(p_shrunk, d_shrunk) < 1e-5
    assert p_shrunk == pytest.approx(p_plain, rel=1e-6)


@pytest.mark.parametrize("n_groups", [1, 4])
def test_compacted_weights_are_the_class_major_weights_without_a_copy(n_groups):
    problem = _sparse_problem(120, 30, 11, 5, np.float64, np.int32, 1.0)
    alpha, stale = driver.new_dual("ww", problem)
    epochs = driver._Epochs(
        "ww", problem, alpha, stale, None, 2, np.random.RandomState(0), 1.0, n_groups
    )
    for _ in range(3):
        epochs(False)
    expected = epochs.class_major()
    buffer = epochs.WT
    W = epochs.finish()
    np.testing.assert_array_equal(W, expected)
    assert np.shares_memory(W, buffer) and W.T.flags.c_contiguous


def test_primal_objective_is_the_same_in_any_layout_and_block():
    from xcsvm.solvers import problem as problem_module

    problem = _sparse_problem(300, 40, 7, 6, np.float32, np.int64, 0.5)
    W = np.random.RandomState(1).randn(7, 41)
    X = np.hstack([problem.matrix().toarray(), np.full((300, 1), 0.5)])
    S = X @ W.T
    own = S[np.arange(300), problem.y][:, None]
    hinge = np.maximum(0, 1 - own + S)
    hinge[np.arange(300), problem.y] = 0
    expected = 0.5 * (W**2).sum() + problem.upper @ hinge.sum(axis=1)
    for layout in (W, np.asfortranarray(W)):
        for block in (7, 2048):
            old, problem_module.SCORE_BLOCK = problem_module.SCORE_BLOCK, block
            try:
                assert problem_module.primal_objective("ww", problem, layout) == pytest.approx(
                    expected, rel=1e-12
                )
            finally:
                problem_module.SCORE_BLOCK = old


@pytest.mark.parametrize(
    "n_classes, density, index_dtype, order",
    [
        (10, 0.05, np.int32, "F"),
        (40, 0.05, np.int64, "C"),
        (40, 0.6, np.int32, "C"),
        (3, 0.0, np.int32, "F"),
    ],
)
def test_residue_zeroing_keeps_exactly_the_dual_support(n_classes, density, index_dtype, order):
    # The compiled support kernel against the dense definition of Eq. III.11's pattern, for
    # sparse and dense duals (density 0: no coefficient, every weight and intercept zeroed),
    # both index types and both memory layouts of W.
    from xcsvm.estimators import _zero_outside_dual_support

    problem = _sparse_problem(200, 30, n_classes, 7, np.float64, index_dtype, 1.0)
    rng = np.random.RandomState(2)
    alpha = rng.uniform(0, 1, size=(200, n_classes)) * (rng.rand(200, n_classes) < density)
    alpha[np.arange(200), problem.y] = 0.0
    W = np.asarray(rng.randn(n_classes, 31), order=order)
    coefficient = alpha != 0
    coefficient[np.arange(200), problem.y] = alpha.any(axis=1)
    x_pattern = problem.matrix().toarray() != 0
    support = (x_pattern.T.astype(int) @ coefficient.astype(int)).T > 0
    expected = W.copy()
    expected[:, :30][~support] = 0.0
    expected[~coefficient.any(axis=0), 30] = 0.0
    _zero_outside_dual_support(W, problem, alpha)
    np.testing.assert_array_equal(W, expected)
