"""Distributed solver, in one process: schedules, kernels against their oracle, exchange, data, 1 rank."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from _mpi_driver import make_problem
from qp_reference import solve_primal

pytest.importorskip("mpi4py")

import reference_kernels
from xcsvm.distributed import _sweeps, fit_distributed
from xcsvm.distributed.data import load_svmlight_everywhere
from xcsvm.distributed.exchange import CountingComm, exchange_rows
from xcsvm.distributed.ww import plan_ww
from xcsvm.solvers.problem import prepare_problem
from xcsvm.solvers.schedule import (
    bipartite_rounds,
    class_work,
    one_factorization,
    partition_classes,
    split_in_halves,
)


def _self_comm():
    from mpi4py import MPI

    return CountingComm(MPI.COMM_SELF)


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize("n_players", range(1, 26))
def test_one_factorization_meets_every_pair_once_in_disjoint_rounds(n_players):
    rounds = one_factorization(n_players)
    seen = [pair for pairs in rounds for pair in pairs]
    assert sorted(seen) == list(itertools.combinations(range(n_players), 2))
    for pairs in rounds:
        players = [p for pair in pairs for p in pair]
        assert len(players) == len(set(players))
    expected_rounds = 0 if n_players < 2 else n_players - 1 + n_players % 2
    assert len(rounds) == expected_rounds


@pytest.mark.parametrize("n_left,n_right", [(1, 1), (1, 4), (4, 1), (3, 5), (5, 3), (4, 4)])
def test_bipartite_rounds_meet_every_cross_pair_once(n_left, n_right):
    rounds = bipartite_rounds(n_left, n_right)
    seen = [pair for pairs in rounds for pair in pairs]
    assert sorted(seen) == list(itertools.product(range(n_left), range(n_right)))
    for pairs in rounds:
        assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})


@pytest.mark.parametrize("formulation", ["ww", "llw"])
def test_partition_is_a_partition_balanced_within_one_class(formulation):
    counts = np.random.default_rng(1).integers(1, 200, size=37)
    work = class_work(counts, formulation)
    owned = partition_classes(counts, 5, formulation)
    assert sorted(np.concatenate(owned).tolist()) == list(range(37))
    loads = [work[o].sum() for o in owned]
    # Longest-processing-time greedy: no rank exceeds another by more than one class' work.
    assert max(loads) - min(loads) <= work.max()
    first, second = split_in_halves(owned[0], counts)
    assert abs(counts[first].sum() - counts[second].sum()) <= counts[owned[0]].max()


def test_partition_refuses_more_ranks_than_classes():
    with pytest.raises(ValueError, match="at most 3 ranks"):
        partition_classes([4, 5, 6], 4)


@pytest.mark.parametrize(
    "n_ranks,n_classes", [(1, 2), (2, 2), (2, 5), (3, 3), (3, 8), (4, 9), (5, 11)]
)
def test_two_level_schedule_meets_every_class_pair_once_per_epoch(n_ranks, n_classes):
    counts = np.random.default_rng(n_classes).integers(1, 9, size=n_classes)
    owned = partition_classes(counts, n_ranks)
    met, n_alpha = [], 0
    for rank in range(n_ranks):
        plan = plan_ww(owned, counts, rank)
        n_alpha += plan.n_alpha
        tasks = [plan.intra] + [step for cross in plan.cross if cross for step in cross.steps]
        for task in tasks:
            met += [tuple(sorted(pair)) for pair in zip(task.left_class, task.right_class)]
            for r in range(task.round_ptr.size - 1):  # disjoint classes inside a round
                lo, hi = task.round_ptr[r], task.round_ptr[r + 1]
                classes = np.concatenate([task.left_class[lo:hi], task.right_class[lo:hi]])
                assert np.unique(classes).size == classes.size
    assert sorted(met) == list(itertools.combinations(range(n_classes), 2))
    # The dual variables are split, not copied: n (C - 1) of them in total.
    assert n_alpha == counts.sum() * (n_classes - 1)


# ---------------------------------------------------------------- kernels vs oracle


def _problem(seed=0, n_classes=5, dtype=np.float64, index_dtype=np.int32, bias=0.0):
    X, y = make_problem(n_classes=n_classes, seed=seed)
    X = sp.csr_matrix(X, dtype=dtype)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    labels = np.unique(y, return_inverse=True)[1]
    upper = np.full(labels.size, 0.7)
    upper[4] = 0.0  # a zero-weight sample
    return prepare_problem(X, labels, n_classes, upper, bias)


@pytest.mark.parametrize("shrink", [False, True])
@pytest.mark.parametrize(
    "dtype, index_dtype, bias", [(np.float64, np.int32, 0.0), (np.float32, np.int64, 1.5)]
)
def test_ww_kernel_matches_reference_on_intra_and_bipartite_pairs(shrink, dtype, index_dtype, bias):
    problem = _problem(dtype=dtype, index_dtype=index_dtype, bias=bias)
    rng = np.random.default_rng(0)
    counts = problem.class_counts
    class_ptr, class_samples = problem.samples_by_class()
    owned = partition_classes(counts, 2)
    plan = plan_ww(owned, counts, 0)
    W_home = rng.normal(size=(owned[0].size, problem.n_columns))
    W_visit = rng.normal(size=(split_in_halves(owned[1], counts)[0].size, problem.n_columns))
    alpha = rng.uniform(0, 0.7, size=plan.n_alpha)
    positions = np.concatenate([rng.permutation(c) for c in counts]).astype(np.int64)
    stale = rng.integers(0, 5, size=plan.n_alpha).astype(np.uint8)  # some are shrunk (>= 3)
    states = []
    for kernel in (_sweeps.ww_pairs, reference_kernels.ww_pairs):
        W1, W2, a, counters = W_home.copy(), W_visit.copy(), alpha.copy(), stale.copy()
        violations, visits = [], []
        for task, right in [(plan.intra, W1), (plan.cross[0].steps[0], W2)]:
            v, m = np.zeros(task.n_pairs), np.zeros(task.n_pairs, dtype=np.int64)
            kernel(
                problem.data,
                problem.indices,
                problem.indptr,
                problem.sq_norms,
                problem.upper,
                W1,
                right,
                task.left_row,
                task.right_row,
                task.left_class,
                task.right_class,
                task.alpha_offset,
                task.round_ptr,
                class_ptr,
                class_samples,
                positions,
                a,
                counters,
                v,
                m,
                bias,
                shrink,
                2,
            )
            violations.append(v)
            visits.append(m)
        states.append((W1, W2, a, np.concatenate(violations), counters, np.concatenate(visits)))
    for compiled, oracle in zip(*states):
        np.testing.assert_allclose(compiled, oracle, rtol=1e-10, atol=1e-11)
    assert not np.allclose(states[0][0], W_home)  # something moved
    assert states[0][5].sum() > 0
    if shrink:  # shrunk variables did not move
        np.testing.assert_array_equal(states[0][2][stale >= 3], alpha[stale >= 3])


def test_llw_kernel_of_the_ranks_matches_reference():
    # The ranks run the single-machine LLW kernel on their own rows.
    from xcsvm.solvers.llw import llw_pass

    problem = _problem(seed=1, bias=0.5)
    rng = np.random.default_rng(1)
    classes = np.array([0, 2, 3], dtype=np.int32)
    class_row = np.full(problem.n_classes, -1, dtype=np.int32)
    class_row[classes] = np.arange(3, dtype=np.int32)
    W = rng.normal(size=(3, problem.n_columns))
    alpha = rng.uniform(0, 0.7, size=(3, problem.n_samples))
    alpha[problem.y[None, :] == classes[:, None]] = 0.0
    alpha[:, problem.upper == 0] = 0.0
    samples = rng.permutation(problem.n_samples)[5:70].astype(np.int32)
    w1, a1 = W.copy(), alpha.copy()
    worst, _ = llw_pass(
        problem.data,
        problem.indices,
        problem.indptr,
        problem.sq_norms,
        problem.upper,
        problem.y,
        samples,
        classes,
        class_row,
        a1,
        np.zeros(a1.shape, dtype=np.uint8),
        w1,
        problem.bias,
        0.25,
        False,
        2,
    )
    w2, a2 = W.copy(), alpha.copy()
    expected = reference_kernels.llw_pass(problem, samples, classes, a2, w2, margin=0.25)
    np.testing.assert_allclose(w1, w2, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(a1, a2, rtol=1e-11, atol=1e-12)
    assert worst == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- exchange and data


@pytest.mark.parametrize("mode", ["sparse", "dense", "auto"])
def test_exchange_rows_copies_exactly_and_counts_bytes(mode):
    comm = _self_comm()
    rows = np.zeros((3, 50))
    rows[0, [1, 7]] = [1.5, -2.0]
    rows[2, 49] = 3.0
    received = exchange_rows(comm, 0, rows, 3, mode)
    np.testing.assert_array_equal(received, rows)
    # 8-byte header (non-zero count) + 4-byte position and 8-byte value per non-zero.
    expected = {"sparse": 8 + 3 * (4 + 8), "dense": 3 * 50 * 8, "auto": 8 + 3 * (4 + 8)}[mode]
    assert comm.bytes_sent["bundle"] == expected


def test_exchange_auto_goes_dense_for_dense_rows():
    comm = _self_comm()
    rows = np.arange(1.0, 13.0).reshape(2, 6)
    np.testing.assert_array_equal(exchange_rows(comm, 0, rows, 2, "auto"), rows)
    assert comm.bytes_sent["bundle"] == 8 + rows.nbytes


@pytest.mark.parametrize("mode", ["check", "broadcast"])
def test_load_svmlight_everywhere_reads_the_file(tmp_path, mode):
    from sklearn.datasets import dump_svmlight_file

    X, y = make_problem()
    path = tmp_path / "train.svm"
    dump_svmlight_file(X, np.unique(y, return_inverse=True)[1], str(path))
    X2, y2 = load_svmlight_everywhere(path, _self_comm(), mode)
    assert X2.shape == X.shape
    np.testing.assert_allclose(X2.toarray(), X.toarray(), rtol=1e-15)
    np.testing.assert_array_equal(y2, np.unique(y, return_inverse=True)[1])


def test_load_svmlight_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_svmlight_everywhere(tmp_path / "missing.svm", _self_comm())
    bad = tmp_path / "bad.svm"
    bad.write_text("1 1:0.5\nthis is not svmlight\n")
    with pytest.raises(ValueError, match="not a valid svmlight"):
        load_svmlight_everywhere(bad, _self_comm())
    with pytest.raises(ValueError, match="data mode"):
        load_svmlight_everywhere(bad, _self_comm(), mode="telepathy")


# ---------------------------------------------------------------- one rank against the exact QP

CASES = [
    dict(formulation="ww", C=1.0, tol=1e-5, fit_intercept=False),
    dict(formulation="ww", C=1.0, tol=1e-5, fit_intercept=False, shrinking=False),
    dict(formulation="ww", C=0.1, tol=1e-5, fit_intercept=True),
    dict(formulation="llw", C=0.1, tol=1e-4, llw_margin="thesis", fit_intercept=False),
    dict(formulation="llw", C=0.1, tol=1e-4, llw_margin="thesis", shrinking=False),
    dict(formulation="llw", C=0.1, tol=1e-4, llw_margin="lee_lin_wahba", fit_intercept=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{v}" for v in c.values()))
def test_one_rank_reaches_the_exact_qp_optimum(case):
    X, y = make_problem()
    fit = fit_distributed(X, y, max_iter=5000, random_state=0, comm=_self_comm(), **case)
    classes, labels = np.unique(y, return_inverse=True)
    margin = 1.0 if case.get("llw_margin", "thesis") == "thesis" else 1.0 / (classes.size - 1)
    bias = 1.0 if case.get("fit_intercept", True) else 0.0
    W_exact, optimum = solve_primal(
        case["formulation"],
        X.toarray(),
        labels,
        classes.size,
        np.full(labels.size, case["C"]),
        bias=bias,
        margin=margin,
    )
    assert fit.converged
    # Weak duality brackets the exact optimum; the gap is closed to ~1e-4.
    assert fit.dual <= optimum * (1 + 1e-7) and optimum <= fit.primal * (1 + 1e-7)
    assert (fit.primal - optimum) / optimum < 2e-4
    scores = X @ fit.coef.T.toarray() + fit.intercept
    exact_scores = (
        np.hstack([X.toarray(), np.full((X.shape[0], 1), bias)])[:, : W_exact.shape[1]] @ W_exact.T
    )
    np.testing.assert_array_equal(scores.argmax(axis=1), exact_scores.argmax(axis=1))
    W_fit = (
        np.hstack([fit.coef.toarray(), fit.intercept[:, None] / 1.0])
        if bias
        else fit.coef.toarray()
    )
    np.testing.assert_allclose(W_fit, W_exact, atol=0.05 * np.abs(W_exact).max())


def test_dense_input_and_labels_of_any_type_give_the_same_model():
    X, y = make_problem()
    fit_sparse = fit_distributed(X, y, tol=1e-3, random_state=0, comm=_self_comm())
    numeric = np.unique(y, return_inverse=True)[1] * 10
    fit_dense = fit_distributed(X.toarray(), numeric, tol=1e-3, random_state=0, comm=_self_comm())
    np.testing.assert_allclose(fit_sparse.coef.toarray(), fit_dense.coef.toarray())
    assert fit_dense.classes.tolist() == [0, 10, 20, 30, 40]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(C=0.0), "'C' parameter"),
        (dict(formulation="cs"), "Crammer-Singer has no MPI solver"),
        (dict(tol=-1.0), "'tol' parameter"),
        (dict(max_iter=0), "'max_iter' parameter"),
        (dict(formulation="llw", llw_margin="wide"), "'margin' parameter"),
        (dict(exchange="carrier-pigeon"), "exchange mode"),
        (dict(exchange="carrier-pigeon", fit=True), "'exchange' parameter"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, message):
    X, y = make_problem()
    comm = _self_comm()
    # exchange is only used with several ranks: run the exchange check directly then.
    if kwargs.pop("fit", False):
        with pytest.raises(ValueError, match=message):
            fit_distributed(X, y, comm=comm, **kwargs)
        return
    if "exchange" in kwargs:
        with pytest.raises(ValueError, match=message):
            exchange_rows(comm, 0, np.zeros((1, 2)), 1, kwargs["exchange"])
        return
    with pytest.raises(ValueError, match=message):
        fit_distributed(X, y, comm=comm, **kwargs)


def test_bad_data_raises_clear_errors():
    X, y = make_problem()
    comm = _self_comm()
    with pytest.raises(ValueError, match="at least two"):
        fit_distributed(X, np.zeros(X.shape[0]), comm=comm)
    with pytest.raises(ValueError, match="NaN"):
        fit_distributed(sp.csr_matrix(np.full((4, 2), np.nan)), [0, 1, 0, 1], comm=comm)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        fit_distributed(X, y[:-1], comm=comm)
    with pytest.raises(ValueError, match="all-zero row"):
        fit_distributed(np.array([[1.0, 0.0], [0.0, 0.0]]), [0, 1], fit_intercept=False, comm=comm)
    with pytest.raises(ValueError, match="0 sample"):
        fit_distributed(np.zeros((0, 3)), np.zeros(0), comm=comm)


@pytest.mark.parametrize("formulation", ["ww", "llw"])
def test_openmp_threads_inside_a_rank_give_the_identical_model(formulation):
    # The pairs of a WW round share no class and LLW's classes are independent
    # given w̄, so the threads compute exactly what one thread computes.
    X, y = make_problem(n_classes=6)
    fits = [
        fit_distributed(
            X,
            y,
            formulation=formulation,
            C=0.5,
            tol=1e-12,
            max_iter=15,
            random_state=2,
            n_threads=threads,
            comm=_self_comm(),
        )
        for threads in (1, 2)
    ]
    np.testing.assert_array_equal(fits[0].coef.toarray(), fits[1].coef.toarray())
    assert fits[0].primal == fits[1].primal
