"""The 1-factorization schedule (Algorithms 4-5) and thread-count invariance."""
import itertools

import numpy as np
import pytest
from conftest import blobs
from hypothesis import given, settings
from hypothesis import strategies as st

from xcsvm import LLWClassifier, WWClassifier
from xcsvm.solvers.schedule import (
    balanced_groups,
    class_pairs_of_epoch,
    match_class,
    one_factorization,
    ww_rounds,
)


def test_match_class_is_an_involution_without_fixed_points():
    for n in range(2, 31, 2):
        for r in range(1, n):
            partners = [match_class(n, c, r) for c in range(1, n + 1)]
            assert sorted(partners) == list(range(1, n + 1))
            for c, p in zip(range(1, n + 1), partners):
                assert p != c and match_class(n, p, r) == c


def test_match_class_rejects_odd_counts():
    with pytest.raises(ValueError, match="even"):
        match_class(5, 1, 1)


@pytest.mark.parametrize("n", range(2, 51))
def test_one_factorization_meets_every_pair_once(n):
    rounds = one_factorization(n)
    assert len(rounds) == (n - 1 if n % 2 == 0 else n)
    seen = [tuple(sorted(p)) for r in rounds for p in r]
    assert sorted(seen) == list(itertools.combinations(range(n), 2))
    for pairs in rounds:  # race-free: nobody plays twice on a match day
        nodes = [x for p in pairs for x in p]
        assert len(nodes) == len(set(nodes))


@settings(max_examples=60, deadline=None)
@given(
    n_classes=st.integers(2, 50),
    n_groups=st.integers(1, 12),
    seed=st.integers(0, 1000),
)
def test_epoch_schedule_meets_every_class_pair_exactly_once(n_classes, n_groups, seed):
    counts = np.random.RandomState(seed).randint(1, 100, size=n_classes)
    groups = balanced_groups(counts, n_groups)
    assert sorted(np.concatenate(groups).tolist()) == list(range(n_classes))
    rounds = ww_rounds(len(groups))
    directed = [p for r in class_pairs_of_epoch(groups, rounds) for p in r]
    expected = [(a, b) for a in range(n_classes) for b in range(n_classes) if a != b]
    assert sorted(directed) == expected  # every (samples of a, class b) block exactly once
    for table in rounds:  # a group appears in at most one task per round: race-free
        used = [g for a, b in table if a >= 0 for g in ({a, b})]
        assert len(used) == len(set(used))


def test_balanced_groups_balance_sample_counts():
    counts = np.random.RandomState(0).randint(10, 1000, size=200)
    loads = [counts[g].sum() for g in balanced_groups(counts, 8)]
    assert max(loads) - min(loads) <= counts.max()


@pytest.mark.parametrize("cls", [WWClassifier, LLWClassifier])
def test_two_threads_reach_the_same_objective(cls):
    X, y = blobs(300, 8, 9, seed=2)
    one = cls(C=1.0, tol=1e-3, random_state=0, n_jobs=1).fit(X, y)
    two = cls(C=1.0, tol=1e-3, random_state=0, n_jobs=2).fit(X, y)
    assert max(one.dual_gap_, two.dual_gap_) < 1e-3
    assert two.primal_objective_ == pytest.approx(one.primal_objective_, rel=2e-3)
    assert np.mean(one.predict(X) == two.predict(X)) > 0.97
