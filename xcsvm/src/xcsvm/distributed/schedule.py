"""Who owns which class, and which class pairs meet when (Algorithms 4 and 5, §4.2.5).

Three schedules live here, all pure functions of sizes so that every rank
computes the same plan without talking to the others:

* :func:`partition_classes` assigns classes to ranks (and splits a rank's
  classes into two halves) balanced by the work they cause, measured in
  samples;
* :func:`one_factorization` is Algorithm 4: the rounds of a round-robin
  tournament in which every pair of ``m`` players meets exactly once and no
  player plays twice in a round (a dummy player sits out when ``m`` is odd);
* :func:`bipartite_rounds` does the same for two disjoint groups, every
  member of one meeting every member of the other (the cross-rank blocks).

The overlay schedule across ranks (the "countries" of §4.2.5) is
:func:`one_factorization` applied to the ranks themselves.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "match_class",
    "one_factorization",
    "bipartite_rounds",
    "partition_classes",
    "split_in_halves",
    "class_work",
]


def match_class(n_players: int, player: int, round_index: int) -> int:
    """Partner of ``player`` in round ``round_index`` (Algorithm 4, zero-based).

    Parameters
    ----------
    n_players : int
        Number of players. When odd, a player paired with itself sits out.
    player : int
        Player index in ``0 .. n_players - 1``.
    round_index : int
        Round in ``0 .. n_rounds - 1`` with ``n_rounds = n_players - 1`` for
        even and ``n_players`` for odd ``n_players``.

    Returns
    -------
    int
        The partner; equal to ``player`` when the player sits out the round.

    Examples
    --------
    >>> [match_class(4, c, 0) for c in range(4)]
    [3, 2, 1, 0]
    """
    # Algorithm 4 is written one-based: translate, apply, translate back.
    size, c, r = n_players, player + 1, round_index + 1
    if size % 2 == 0:
        if c == size:
            return r - 1
        if c == r:
            return size - 1
        modulus = size - 1
    else:
        if c == r:
            return c - 1
        modulus = size
    partner = (2 * r - c) % modulus
    if partner == 0:
        partner = modulus
    return partner - 1


def one_factorization(n_players: int) -> list[list[tuple[int, int]]]:
    """Rounds of a round-robin tournament among ``n_players`` (Algorithm 4).

    Every unordered pair appears in exactly one round; within a round no
    player appears twice, which is what makes the rounds race-free when the
    pairs of one round are optimised concurrently.

    Parameters
    ----------
    n_players : int
        Number of players (classes or ranks), at least 0.

    Returns
    -------
    list of list of (int, int)
        ``rounds[r]`` holds the pairs ``(a, b)`` with ``a < b`` of round ``r``.

    Examples
    --------
    >>> one_factorization(3)
    [[(1, 2)], [(0, 2)], [(0, 1)]]
    """
    if n_players < 2:
        return []
    n_rounds = n_players - 1 if n_players % 2 == 0 else n_players
    rounds = []
    for r in range(n_rounds):
        pairs = []
        for c in range(n_players):
            partner = match_class(n_players, c, r)
            if partner > c:
                pairs.append((c, partner))
        rounds.append(pairs)
    return rounds


def bipartite_rounds(n_left: int, n_right: int) -> list[list[tuple[int, int]]]:
    """Rounds in which each of ``n_left`` players meets each of ``n_right`` once.

    Round ``r`` pairs left player ``j`` with right player ``(j + r) mod
    n_right`` (roles swapped when the left group is larger), so no player
    appears twice in a round.

    Parameters
    ----------
    n_left, n_right : int
        Sizes of the two disjoint groups.

    Returns
    -------
    list of list of (int, int)
        Pairs ``(left_index, right_index)`` per round.

    Examples
    --------
    >>> bipartite_rounds(2, 3)
    [[(0, 0), (1, 1)], [(0, 1), (1, 2)], [(0, 2), (1, 0)]]
    """
    if n_left == 0 or n_right == 0:
        return []
    small, large = min(n_left, n_right), max(n_left, n_right)
    rounds = []
    for r in range(large):
        pairs = []
        for j in range(small):
            k = (j + r) % large
            pairs.append((j, k) if n_left <= n_right else (k, j))
        rounds.append(pairs)
    return rounds


def class_work(class_counts, formulation: str) -> np.ndarray:
    """Samples touched per epoch on behalf of each class.

    WW: the pair ``(a, b)`` costs ``n_a + n_b`` sample visits, so class ``c``
    causes ``n_c (C - 2) + n`` over its ``C - 1`` pairs. LLW: class ``c``
    visits the ``n - n_c`` samples of the other classes.

    Parameters
    ----------
    class_counts : array-like of int
        Samples per class.
    formulation : {"ww", "llw"}
        The formulation.

    Returns
    -------
    numpy.ndarray of float
        Work per class.

    Examples
    --------
    >>> class_work([1, 2, 3], "llw").tolist()
    [5.0, 4.0, 3.0]
    """
    counts = np.asarray(class_counts, dtype=float)
    n, n_classes = counts.sum(), counts.size
    if formulation == "ww":
        return counts * (n_classes - 2) + n
    if formulation == "llw":
        return n - counts
    raise ValueError(f"formulation must be 'ww' or 'llw', got {formulation!r}")


def _longest_first(weights, n_bins: int) -> list[list[int]]:
    # Longest-processing-time-first greedy: heaviest item into the lightest
    # bin (ties: fewer items, then lower bin index). Deterministic, so every
    # rank computes the same assignment.
    weights = np.asarray(weights, dtype=float)
    order = sorted(range(weights.size), key=lambda k: (-weights[k], k))
    loads = [0.0] * n_bins
    bins: list[list[int]] = [[] for _ in range(n_bins)]
    for k in order:
        target = min(range(n_bins), key=lambda b: (loads[b], len(bins[b]), b))
        bins[target].append(k)
        loads[target] += weights[k]
    return [sorted(b) for b in bins]


def partition_classes(class_counts, n_ranks: int, formulation: str = "ww") -> list[np.ndarray]:
    """Assign classes to ranks, balanced by the samples each class makes a rank visit.

    Parameters
    ----------
    class_counts : array-like of int
        Samples per class (class ``c`` is the ``c``-th sorted label).
    n_ranks : int
        Number of MPI ranks.
    formulation : {"ww", "llw"}
        Decides the work per class (:func:`class_work`).

    Returns
    -------
    list of numpy.ndarray of int64
        ``owned[r]`` holds the sorted class indices of rank ``r``.

    Raises
    ------
    ValueError
        When there are fewer classes than ranks.

    Examples
    --------
    >>> [a.tolist() for a in partition_classes([50, 10, 10, 30], 2)]
    [[0, 2], [1, 3]]
    """
    counts = np.asarray(class_counts)
    if n_ranks < 1:
        raise ValueError(f"n_ranks must be at least 1, got {n_ranks}")
    if counts.size < n_ranks:
        raise ValueError(
            f"{n_ranks} ranks but only {counts.size} classes; every rank needs at least "
            f"one class: run with at most {counts.size} ranks"
        )
    bins = _longest_first(class_work(counts, formulation), n_ranks)
    return [np.asarray(b, dtype=np.int64) for b in bins]


def split_in_halves(classes, class_counts) -> tuple[np.ndarray, np.ndarray]:
    """Split a rank's classes into two halves of (nearly) equal sample count.

    The halves are the units that travel in the cross-rank exchange, so both
    ranks of a matched pair stay busy (see :mod:`xcsvm.distributed.ww`).

    Parameters
    ----------
    classes : array-like of int
        The rank's class indices.
    class_counts : array-like of int
        Samples per class for *all* classes.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted class indices of the two halves; the second may be empty.

    Examples
    --------
    >>> [h.tolist() for h in split_in_halves([0, 1, 2], [5, 3, 2])]
    [[0], [1, 2]]
    """
    classes = np.asarray(classes, dtype=np.int64)
    counts = np.asarray(class_counts)[classes]
    bins = _longest_first(counts, 2)
    return classes[bins[0]], classes[bins[1]]
