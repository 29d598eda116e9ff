"""The 1-factorization schedule of the WW solver (Algorithms 4 and 5, Sec. 4.2.3).

Classes are bundled into groups balanced by sample count; the groups play a
round-robin "league": in each round every group meets exactly one other group
(or sits out when the number of groups is odd, the dummy of Sec. 4.2.3), so
the matched pairs of a round touch disjoint weight rows and run in parallel
without locks. A first round optimises the pairs *inside* every group. Over
one epoch every unordered class pair meets exactly once.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "match_class",
    "one_factorization",
    "balanced_groups",
    "ww_rounds",
    "class_pairs_of_epoch",
]


def match_class(n_nodes: int, node: int, round_: int) -> int:
    """Partner of ``node`` in ``round_`` of the 1-factorization (Algorithm 4).

    Indices start at one as in the thesis. ``n_nodes`` must be even (add a
    dummy node for an odd count); rounds run from 1 to ``n_nodes - 1``.

    Examples
    --------
    >>> [match_class(4, c, 1) for c in range(1, 5)]
    [4, 3, 2, 1]
    """
    if n_nodes % 2:
        raise ValueError(f"n_nodes must be even (got {n_nodes}); add a dummy node")
    if not 1 <= round_ <= n_nodes - 1 or not 1 <= node <= n_nodes:
        raise ValueError("node must be in 1..n_nodes and round_ in 1..n_nodes-1")
    if node == n_nodes:
        return round_
    if node == round_:
        return n_nodes
    partner = (2 * round_ - node) % (n_nodes - 1)
    # The thesis' mod runs over 1..n-1: a remainder of 0 is node n-1.
    return partner if partner != 0 else n_nodes - 1


def one_factorization(n_nodes: int) -> list[list[tuple[int, int]]]:
    """All rounds of a round-robin between ``n_nodes`` nodes (0-based pairs).

    For odd ``n_nodes`` a dummy node is added and its pairs are dropped (that
    node sits the round out).

    Examples
    --------
    >>> one_factorization(4)
    [[(0, 3), (1, 2)], [(0, 2), (1, 3)], [(0, 1), (2, 3)]]
    """
    if n_nodes < 1:
        raise ValueError(f"n_nodes must be >= 1, got {n_nodes}")
    even = n_nodes + (n_nodes % 2)
    rounds = []
    for round_ in range(1, even):
        pairs = []
        for node in range(1, even + 1):
            partner = match_class(even, node, round_)
            if node < partner <= n_nodes:
                pairs.append((node - 1, partner - 1))
        rounds.append(pairs)
    return rounds


def balanced_groups(class_counts, n_groups: int) -> list[np.ndarray]:
    """Bundle classes into ``n_groups`` groups of about equal samples *and* classes.

    The work of a matched pair of groups ``(a, b)`` is ``n_a k_b + n_b k_a``
    coordinate steps (``n`` samples, ``k`` classes of a group), so a round is
    balanced only when both counts are. Longest-processing-time greedy on the
    combined load: the classes, largest first, go to the group with the
    smallest ``samples / total samples + classes / total classes`` so far
    (ties: fewest samples). The largest classes spread over the groups first,
    the many small ones then even out the class counts.

    Examples
    --------
    >>> [g.tolist() for g in balanced_groups([5, 1, 4, 2], 2)]
    [[0, 1], [2, 3]]
    """
    class_counts = np.asarray(class_counts)
    n_classes = class_counts.shape[0]
    n_groups = max(1, min(int(n_groups), n_classes))
    load = np.zeros(n_groups)
    size = np.zeros(n_groups, dtype=np.int64)
    members: list[list[int]] = [[] for _ in range(n_groups)]
    total = max(float(class_counts.sum()), 1.0)
    for c in np.argsort(-class_counts, kind="stable"):
        g = int(np.lexsort((load, load / total + size / n_classes))[0])
        members[g].append(int(c))
        load[g] += class_counts[c]
        size[g] += 1
    return [np.array(sorted(m), dtype=np.int32) for m in members]


def ww_rounds(n_groups: int) -> np.ndarray:
    """Round table for :func:`xcsvm.solvers.ww.ww_epoch`.

    Round 0 pairs every group with itself (class pairs inside a group); the
    following ``n_groups - 1`` (or ``n_groups`` when odd) rounds are the
    1-factorization of the groups. Empty slots are ``(-1, -1)``.

    Returns
    -------
    rounds : ndarray of int32, shape (n_rounds, n_slots, 2)

    Examples
    --------
    >>> ww_rounds(2).tolist()
    [[[0, 0], [1, 1]], [[0, 1], [-1, -1]]]
    """
    rounds = [[(g, g) for g in range(n_groups)]]
    rounds += one_factorization(n_groups) if n_groups > 1 else []
    n_slots = max(len(r) for r in rounds)
    table = np.full((len(rounds), n_slots, 2), -1, dtype=np.int32)
    for r, pairs in enumerate(rounds):
        if pairs:
            table[r, : len(pairs)] = pairs
    return table


def class_pairs_of_epoch(groups, rounds) -> list[list[tuple[int, int]]]:
    """Which directed class pairs (sample class, target class) each round optimises.

    A mirror of the loops of ``ww_epoch`` used to check the schedule: returns,
    per round, the list of ``(a, b)`` with ``a != b`` such that samples of
    class ``a`` are optimised against class ``b``.
    """
    out = []
    for table in rounds:
        pairs = []
        for a, b in table:
            if a < 0 or b < 0:
                continue
            blocks = [(a, b)] if a == b else [(a, b), (b, a)]
            for ga, gb in blocks:
                pairs.extend((int(ca), int(cb)) for ca in groups[ga] for cb in groups[gb] if ca != cb)
        out.append(pairs)
    return out
