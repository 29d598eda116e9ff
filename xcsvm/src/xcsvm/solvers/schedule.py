"""The 1-factorization schedule of the WW solver (Algorithms 4 and 5, Sec. 4.2.3).

Classes are bundled into groups balanced by sample count; the groups play a
round-robin "league": in each round every group meets exactly one other group
(or sits out when the number of groups is odd, the dummy of Sec. 4.2.3), so
the matched pairs of a round touch disjoint weight rows and run in parallel
without locks. A first round optimises the pairs *inside* every group. Over
one epoch every unordered class pair meets exactly once.

The single-machine solver runs :func:`ww_schedule`, which fuses the first
match day into that first round: each pair of groups matched on it is one
*block* whose samples meet all classes of both groups in one visit. A sample
is then visited ``G - 1`` times per epoch instead of ``G`` (3 instead of 4
with two threads), and its first visit reads twice as wide a slice of the
weights, which the feature-major kernel does at a lower cost per class.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "match_class",
    "one_factorization",
    "balanced_groups",
    "ww_rounds",
    "ww_schedule",
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


def balanced_groups(class_counts, n_groups: int, multiple: int = 1) -> list[np.ndarray]:
    """Bundle classes into ``n_groups`` groups of about equal samples *and* classes.

    The work of a matched pair of groups ``(a, b)`` is ``n_a k_b + n_b k_a``
    coordinate steps (``n`` samples, ``k`` classes of a group), so a round is
    balanced only when both counts are. Longest-processing-time greedy on the
    combined load: the classes, largest first, go to the group with the
    smallest ``samples / total samples + classes / total classes`` so far
    (ties: fewest samples). The largest classes spread over the groups first,
    the many small ones then even out the class counts.

    With ``multiple > 1`` (and at least ``multiple`` classes per group) the
    class counts are fixed first: multiples of ``multiple`` as equal as
    possible, the remainder in one group. The feature-major kernel reads a
    group's weights a cache line (8 doubles) at a time, so a group of 48
    classes costs 6 lines per feature where one of 50 costs 7. The greedy then
    places the classes on the same combined load, the class share being the
    group's final one.

    Examples
    --------
    >>> [g.tolist() for g in balanced_groups([5, 1, 4, 2], 2)]
    [[0, 1], [2, 3]]
    >>> [len(g) for g in balanced_groups(np.ones(200), 4, multiple=8)]
    [56, 48, 48, 48]
    """
    class_counts = np.asarray(class_counts)
    n_classes = class_counts.shape[0]
    n_groups = max(1, min(int(n_groups), n_classes))
    load = np.zeros(n_groups)
    size = np.zeros(n_groups, dtype=np.int64)
    members: list[list[int]] = [[] for _ in range(n_groups)]
    total = max(float(class_counts.sum()), 1.0)
    capacity = None
    if multiple > 1 and n_classes >= multiple * n_groups:
        capacity = np.full(n_groups, n_classes // n_groups // multiple * multiple)
        remainder = n_classes - int(capacity.sum())
        for g in range(n_groups):
            extra = min(multiple, remainder)
            capacity[g] += extra
            remainder -= extra
        capacity[0] += remainder
    for c in np.argsort(-class_counts, kind="stable"):
        if capacity is None:
            g = int(np.lexsort((load, load / total + size / n_classes))[0])
        else:
            room = np.flatnonzero(size < capacity)
            g = int(room[np.argmin(load[room] / total + capacity[room] / n_classes)])
        members[g].append(int(c))
        load[g] += class_counts[c]
        size[g] += 1
    return [np.array(sorted(m), dtype=np.int32) for m in members]


def _round_table(rounds) -> np.ndarray:
    """Lists of pairs per round as an int32 (n_rounds, n_slots, 2) table, ``(-1, -1)`` = empty slot."""
    n_slots = max(len(r) for r in rounds)
    table = np.full((len(rounds), n_slots, 2), -1, dtype=np.int32)
    for r, pairs in enumerate(rounds):
        if pairs:
            table[r, : len(pairs)] = pairs
    return table


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
    return _round_table(rounds)


def ww_schedule(n_groups: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Blocks and round table of the single-machine WW epoch (first match day fused).

    Blocks ``0 .. n_groups - 1`` are the groups themselves; every pair
    ``(a, b)`` matched on the first day of :func:`one_factorization` is a
    further block ``(a, b)``. Round 0 optimises every fused block with itself,
    and every group that sits that day out (odd counts) with itself; the
    following rounds are the remaining days of the 1-factorization, between
    single groups. A table entry ``(b, b)`` means all class pairs inside block
    ``b``, ``(a, b)`` with ``a != b`` the samples of each against the classes
    of the other (as in :func:`ww_rounds`).

    Returns
    -------
    blocks : list of tuple of int
        The groups of every block.
    rounds : ndarray of int32, shape (n_rounds, n_slots, 2)
        Block pairs per round, ``(-1, -1)`` = empty slot.

    Examples
    --------
    >>> blocks, rounds = ww_schedule(4)
    >>> blocks
    [(0,), (1,), (2,), (3,), (0, 3), (1, 2)]
    >>> rounds.tolist()
    [[[4, 4], [5, 5]], [[0, 2], [1, 3]], [[0, 1], [2, 3]]]
    >>> ww_schedule(1)[1].tolist()
    [[[0, 0]]]
    """
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1, got {n_groups}")
    blocks: list[tuple[int, ...]] = [(g,) for g in range(n_groups)]
    days = one_factorization(n_groups) if n_groups > 1 else [[]]
    first = []
    for a, b in days[0]:
        first.append((len(blocks), len(blocks)))
        blocks.append((a, b))
    playing = {g for pair in days[0] for g in pair}
    first += [(g, g) for g in range(n_groups) if g not in playing]
    rounds = [first] + days[1:]
    return blocks, _round_table(rounds)


def class_pairs_of_epoch(groups, rounds) -> list[list[tuple[int, int]]]:
    """Which directed class pairs (sample class, target class) each round optimises.

    A mirror of the loops of ``ww_epoch`` used to check the schedule: returns,
    per round, the list of ``(a, b)`` with ``a != b`` such that samples of
    class ``a`` are optimised against class ``b``. ``groups[g]`` lists the
    classes of group (or block) ``g``; entries ``< 0`` (column padding of a
    fused block) are skipped, as the kernels do.
    """
    out = []
    for table in rounds:
        pairs = []
        for a, b in table:
            if a < 0 or b < 0:
                continue
            blocks = [(a, b)] if a == b else [(a, b), (b, a)]
            for ga, gb in blocks:
                pairs.extend(
                    (int(ca), int(cb)) for ca in groups[ga] for cb in groups[gb]
                    if ca != cb and ca >= 0 and cb >= 0
                )
        out.append(pairs)
    return out
