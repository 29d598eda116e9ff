"""Who meets whom: the 1-factorization (Algorithm 4) and every schedule built on it.

The one home of Algorithm 4 for both front ends, threads and MPI ranks.

Threads (Algorithm 5, Sec. 4.2.3):

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

MPI ranks (Sec. 4.2.5): :func:`partition_classes` assigns classes to ranks
(balanced by the sample visits they cause, :func:`class_work`),
:func:`split_in_halves` splits a rank's classes into the two bundles that
travel, :func:`one_factorization` of the ranks is the overlay schedule and
:func:`bipartite_rounds` meets every class of one bundle with every class of
another. All are pure functions of sizes, so every rank computes the same
plan without talking to the others.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "match_class",
    "one_factorization",
    "balanced_groups",
    "ww_rounds",
    "ww_schedule",
    "bipartite_rounds",
    "class_work",
    "partition_classes",
    "split_in_halves",
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
    """All rounds of a round-robin between ``n_nodes`` nodes (0-based pairs ``(a, b)``, ``a < b``).

    Every unordered pair appears in exactly one round and no node plays twice
    in a round, which is what makes the pairs of a round race-free when they
    run concurrently. For odd ``n_nodes`` a dummy node is added and its pairs
    are dropped (that node sits the round out): ``n_nodes`` rounds, else
    ``n_nodes - 1``. Fewer than two nodes play no round (``[]``).

    Examples
    --------
    >>> one_factorization(4)
    [[(0, 3), (1, 2)], [(0, 2), (1, 3)], [(0, 1), (2, 3)]]
    >>> one_factorization(3)
    [[(1, 2)], [(0, 2)], [(0, 1)]]
    >>> one_factorization(1)
    []
    """
    if n_nodes < 0:
        raise ValueError(f"n_nodes must be >= 0, got {n_nodes}")
    if n_nodes < 2:
        return []
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
    """Round table of one WW epoch over groups, without fusing (the plain Algorithm 5).

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
    rounds += one_factorization(n_groups)
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
    days = one_factorization(n_groups) or [[]]
    first = []
    for a, b in days[0]:
        first.append((len(blocks), len(blocks)))
        blocks.append((a, b))
    playing = {g for pair in days[0] for g in pair}
    first += [(g, g) for g in range(n_groups) if g not in playing]
    rounds = [first] + days[1:]
    return blocks, _round_table(rounds)


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
