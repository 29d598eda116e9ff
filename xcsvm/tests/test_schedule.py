"""The 1-factorization schedule (Algorithms 4-5) and thread-count invariance."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import blobs
from reference_kernels import class_pairs_of_epoch
from xcsvm import LLWClassifier, WWClassifier
from xcsvm.solvers.schedule import (
    balanced_groups,
    match_class,
    one_factorization,
    ww_rounds,
    ww_schedule,
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
    with pytest.raises(ValueError, match=">= 0"):
        one_factorization(-1)


def test_fewer_than_two_groups_play_only_the_self_round():
    # One definition for threads and ranks: no match day below two players.
    assert one_factorization(1) == [] and one_factorization(0) == []
    assert ww_rounds(1).tolist() == [[[0, 0]]]
    blocks, rounds = ww_schedule(1)
    assert blocks == [(0,)] and rounds.tolist() == [[[0, 0]]]


@pytest.mark.parametrize("n", range(51))
def test_one_factorization_meets_every_pair_once(n):
    rounds = one_factorization(n)
    assert len(rounds) == (0 if n < 2 else n - 1 if n % 2 == 0 else n)
    seen = [tuple(sorted(p)) for r in rounds for p in r]
    assert sorted(seen) == list(itertools.combinations(range(n), 2))
    for pairs in rounds:  # race-free: nobody plays twice on a match day
        nodes = [x for p in pairs for x in p]
        assert len(nodes) == len(set(nodes))


# Schedules over 2-50 classes in 1-12 groups of random sizes (property tests).
schedule_cases = given(
    n_classes=st.integers(2, 50),
    n_groups=st.integers(1, 12),
    seed=st.integers(0, 1000),
)


def _random_groups(n_classes, n_groups, seed):
    counts = np.random.RandomState(seed).randint(1, 100, size=n_classes)
    groups = balanced_groups(counts, n_groups)
    assert sorted(np.concatenate(groups).tolist()) == list(range(n_classes))
    return groups


def _every_directed_pair(n_classes):
    return [(a, b) for a in range(n_classes) for b in range(n_classes) if a != b]


@settings(max_examples=60, deadline=None)
@schedule_cases
def test_epoch_schedule_meets_every_class_pair_exactly_once(n_classes, n_groups, seed):
    groups = _random_groups(n_classes, n_groups, seed)
    rounds = ww_rounds(len(groups))
    directed = [p for r in class_pairs_of_epoch(groups, rounds) for p in r]
    assert sorted(directed) == _every_directed_pair(n_classes)  # every (samples of a, class b) once
    for table in rounds:  # a group appears in at most one task per round: race-free
        used = [g for a, b in table if a >= 0 for g in ({a, b})]
        assert len(used) == len(set(used))


@settings(max_examples=60, deadline=None)
@schedule_cases
def test_fused_schedule_meets_every_class_pair_exactly_once(n_classes, n_groups, seed):
    groups = _random_groups(n_classes, n_groups, seed)
    blocks, rounds = ww_schedule(len(groups))
    assert blocks[: len(groups)] == [(g,) for g in range(len(groups))]
    # A block's classes as the driver lays them out: padding (-1) between its groups.
    classes = [np.concatenate([np.append(groups[g], [-1, -1]) for g in block]) for block in blocks]
    directed = [p for r in class_pairs_of_epoch(classes, rounds) for p in r]
    assert sorted(directed) == _every_directed_pair(n_classes)
    for table in rounds:  # a group appears in at most one task per round: race-free
        used = [g for a, b in table if a >= 0 for x in {a, b} for g in blocks[x]]
        assert len(used) == len(set(used))
    # A sample is visited once per round its group takes part in: G - 1 times (G >= 2)
    # instead of G, except in the group that sits out the fused first day (odd G).
    G = len(groups)
    visits = [
        sum(g in blocks[x] for table in rounds for a, b in table if a >= 0 for x in {a, b})
        for g in range(G)
    ]
    fused = {g for block in blocks[G:] for g in block}
    assert visits == [1 if G == 1 else G - 1 if g in fused else G for g in range(G)]


@pytest.mark.parametrize("n_classes, n_groups", [(200, 4), (203, 4), (1000, 6), (20, 4), (64, 8)])
def test_balanced_groups_in_whole_cache_lines(n_classes, n_groups):
    rng = np.random.RandomState(n_classes)
    counts = rng.randint(5, 100, size=n_classes)
    counts[:3] = counts.sum() // n_groups // np.array([3, 4, 5])  # a few large classes
    groups = balanced_groups(counts, n_groups, multiple=8)
    sizes = sorted(len(g) for g in groups)
    assert sorted(np.concatenate(groups).tolist()) == list(range(n_classes))
    if n_classes >= 8 * n_groups:  # all but one group in whole lines, as equal as possible
        assert sum(s % 8 != 0 for s in sizes) <= 1
        assert sizes[-1] - sizes[0] <= 8 + n_classes % 8
    else:  # too few classes: the unconstrained balance
        assert [len(g) for g in groups] == [len(g) for g in balanced_groups(counts, n_groups)]
        return
    # The samples still balance: a pair's work n_a k_b + n_b k_a within 10 % over pairs.
    n = [counts[g].sum() for g in groups]
    k = [len(g) for g in groups]
    work = [n[a] * k[b] + n[b] * k[a] for a in range(n_groups) for b in range(a + 1, n_groups)]
    assert max(work) <= 1.1 * min(work), work


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
