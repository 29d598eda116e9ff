"""Multi-label LSHTC-like data: label sets from a class hierarchy or Zipf co-labels."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .errors import InvalidParameterError
from .memory import check_memory
from .synthetic import (
    _check_float,
    _check_int,
    _zipf_ranks,
    power_law_class_probabilities,
    tf_idf_rows,
)

__all__ = ["make_lshtc_multilabel", "hierarchy_parents", "LABEL_STRUCTURES"]

#: Values of ``make_lshtc_multilabel(label_structure=...)``.
LABEL_STRUCTURES = ("hierarchy", "zipf")


def hierarchy_parents(n_labels: int, branching: int) -> np.ndarray:
    """Parent of each label in a complete ``branching``-ary forest numbered breadth first.

    Labels ``0 .. branching-1`` are the top level (parent ``-1``); the children of label
    ``p`` are ``branching*(p+1) .. branching*(p+1) + branching - 1``, so a parent always has
    a smaller index than its children. The leaves are the labels without children.

    Parameters
    ----------
    n_labels : int
        Number of labels.
    branching : int
        Children per internal label.

    Returns
    -------
    ndarray of shape (n_labels,), int64
        ``parents[l]``, or ``-1`` for a top-level label.

    Examples
    --------
    >>> from shared_datasets.synthetic_multilabel import hierarchy_parents
    >>> hierarchy_parents(8, 2).tolist()
    [-1, -1, 0, 0, 1, 1, 2, 2]
    """
    parents: np.ndarray = np.arange(n_labels, dtype=np.int64) // branching - 1
    return parents


def _leaves(parents: np.ndarray) -> np.ndarray:
    has_child = np.zeros(parents.size, dtype=bool)
    has_child[parents[parents >= 0]] = True
    leaves: np.ndarray = np.flatnonzero(~has_child)
    return leaves


def _ancestor_sets(parents: np.ndarray, leaves: np.ndarray) -> sp.csr_matrix:
    """Indicator (n_leaves x n_labels) of each leaf together with all its ancestors."""
    rows, cols = [np.arange(leaves.size)], [leaves]
    index, current = np.arange(leaves.size), leaves
    while True:  # one step up the tree per pass; depth ~ log_branching(n_labels)
        current = parents[current]
        keep = current >= 0
        index, current = index[keep], current[keep]
        if index.size == 0:
            break
        rows.append(index)
        cols.append(current)
    row, col = np.concatenate(rows), np.concatenate(cols)
    sets = sp.csr_matrix(
        (np.ones(row.size, dtype=np.int64), (row, col)), shape=(leaves.size, parents.size)
    )
    sets.sort_indices()
    return sets


def make_lshtc_multilabel(
    n_samples: int = 10_000,
    n_features: int = 20_000,
    n_labels: int = 1_000,
    *,
    label_structure: str = "hierarchy",
    branching: int = 10,
    mean_labels: float = 3.0,
    class_size_exponent: float = 1.0,
    tokens_per_document: float = 60.0,
    topic_size: int = 30,
    topic_fraction: float = 0.5,
    background_size: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    return_hierarchy: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[Any, ...]:
    """Generate sparse multi-label text-like data with LSHTC's statistics.

    The bag-of-words model of :func:`~shared_datasets.make_lshtc_like`, with a *set* of
    labels per document:

    ``label_structure="hierarchy"``
        The labels form a complete ``branching``-ary forest (see :func:`hierarchy_parents`:
        labels ``0..branching-1`` are top-level categories, parents have smaller indices
        than their children). Each document gets one leaf, drawn from a Zipf prior over the
        leaves (``∝ (rank+1)^-class_size_exponent``, every leaf at least once), and its
        label set is that leaf and all its ancestors, as in LSHTC/DMOZ where a page filed
        under a category also belongs to the categories above it. A document has
        ``depth + 1`` labels, about ``log_branching(n_labels)``.
    ``label_structure="zipf"``
        Each document gets a primary label (Zipf prior over all labels, every label at
        least once) plus ``Poisson(mean_labels - 1)`` co-labels drawn independently from
        the same prior; repeats are merged, so the mean set size is slightly below
        ``mean_labels``. Frequent labels co-occur with everything, as popular tags do.

    Each token is, with probability ``topic_fraction``, one of the ``topic_size`` words of
    one of the document's labels (chosen uniformly from its set), otherwise a Zipf
    background word; features are TF-IDF ``(1 + log tf) * log(n / df)`` with unit rows,
    exactly as in :func:`~shared_datasets.make_lshtc_like`.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of documents; at least the number of leaves (hierarchy) or ``n_labels`` (zipf).
    n_features : int, default=20000
        Vocabulary size; at least ``topic_size``.
    n_labels : int, default=1000
        Number of labels ``K``, at least 2.
    label_structure : {"hierarchy", "zipf"}, default="hierarchy"
    branching : int, default=10
        Children per internal label of the hierarchy, at least 2.
    mean_labels : float, default=3.0
        Zipf structure: mean number of labels drawn per document, in [1, n_labels].
    class_size_exponent : float, default=1.0
        Exponent of the Zipf prior (over leaves, or over labels), in [0, 5].
    tokens_per_document : float, default=60.0
        As in :func:`~shared_datasets.make_lshtc_like`.
    topic_size : int, default=30
        As in :func:`~shared_datasets.make_lshtc_like`.
    topic_fraction : float, default=0.5
        As in :func:`~shared_datasets.make_lshtc_like`.
    background_size : int or None, default=None
        As in :func:`~shared_datasets.make_lshtc_like`.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Dtype of the CSR values of ``X``.
    return_hierarchy : bool, default=False
        Hierarchy structure only: also return the parent of each label (``-1`` at the top).
    random_state : int, numpy.random.Generator or None, default=0
        Seed; the same seed gives the same data on every machine.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        Unit-norm TF-IDF rows, sorted indices, no explicit zeros.
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels), int64
        0/1 indicator of each document's labels (sorted indices); every label occurs.
    parents : ndarray of shape (n_labels,), int64
        Only with ``return_hierarchy=True``.

    Raises
    ------
    InvalidParameterError
        An argument out of range or of the wrong kind; the message says which.

    Examples
    --------
    >>> from shared_datasets import make_lshtc_multilabel
    >>> X, Y = make_lshtc_multilabel(n_samples=500, n_features=2000, n_labels=40, branching=4)
    >>> X.shape, Y.shape, int(Y.sum(axis=0).min()) >= 1
    ((500, 2000), (500, 40), True)
    >>> sorted(Y[0].indices.tolist())  # a leaf and its ancestors
    [0, 6, 31]
    >>> X, Y = make_lshtc_multilabel(n_samples=500, n_features=2000, n_labels=40,
    ...                              label_structure="zipf", mean_labels=2.0)
    >>> round(float(Y.sum()) / 500, 2)  # a little below mean_labels: repeats merged
    1.88
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_features = _check_int("n_features", n_features, 1)
    n_labels = _check_int("n_labels", n_labels, 2)
    topic_size = _check_int("topic_size", topic_size, 1)
    class_size_exponent = _check_float("class_size_exponent", class_size_exponent, 0.0, 5.0)
    tokens_per_document = _check_float("tokens_per_document", tokens_per_document, 1.0, 1e6)
    topic_fraction = _check_float("topic_fraction", topic_fraction, 0.0, 1.0)
    if not isinstance(label_structure, str) or label_structure not in LABEL_STRUCTURES:
        raise InvalidParameterError(
            f"label_structure must be one of {LABEL_STRUCTURES}, got {label_structure!r}"
        )
    if not isinstance(return_hierarchy, (bool, np.bool_)):
        raise InvalidParameterError(
            f"return_hierarchy must be True or False, got {return_hierarchy!r}"
        )
    if label_structure == "hierarchy":
        branching = _check_int("branching", branching, 2)
    else:
        mean_labels = _check_float("mean_labels", mean_labels, 1.0, float(n_labels))
        if return_hierarchy:
            raise InvalidParameterError(
                "return_hierarchy=True needs label_structure='hierarchy'; Zipf co-labels have no hierarchy"
            )
    if background_size is None:
        background_size = n_features
    background_size = _check_int("background_size", background_size, 1)
    if background_size > n_features:
        raise InvalidParameterError(
            f"background_size={background_size} exceeds n_features={n_features}; use at most "
            "n_features or None"
        )
    if topic_size > n_features:
        raise InvalidParameterError(f"topic_size={topic_size} exceeds n_features={n_features}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dtype}")

    parents = hierarchy_parents(n_labels, branching) if label_structure == "hierarchy" else None
    if parents is not None:
        leaves = _leaves(parents)
        if n_samples < leaves.size:
            raise InvalidParameterError(
                f"n_samples={n_samples} < {leaves.size} leaves of the hierarchy (n_labels={n_labels}, "
                f"branching={branching}): every leaf needs a document; ask for more samples"
            )
        depth = int(np.ceil(np.log(n_labels) / np.log(branching))) + 1
        labels_expected = float(n_samples * depth)
    else:
        if n_samples < n_labels:
            raise InvalidParameterError(
                f"n_samples={n_samples} < n_labels={n_labels}: every label needs a document"
            )
        labels_expected = n_samples * mean_labels
    # ~80 bytes per token as make_lshtc_like, ~40 per (document, label) pair
    n_tokens_expected = n_samples * tokens_per_document
    check_memory(
        80.0 * n_tokens_expected
        + 40.0 * labels_expected
        + 24.0 * n_features
        + 16.0 * n_labels
        + 32.0 * n_samples,
        f"make_lshtc_multilabel(n_samples={n_samples}, n_features={n_features}, "
        f"n_labels={n_labels}, tokens_per_document={tokens_per_document:g})",
        hint="ask for fewer samples or fewer tokens per document",
    )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )

    # 1. Label sets.
    if parents is not None:
        prior = power_law_class_probabilities(leaves.size, class_size_exponent)
        leaf = np.concatenate(
            [np.arange(leaves.size), rng.choice(leaves.size, n_samples - leaves.size, p=prior)]
        )
        leaf = leaf[rng.permutation(n_samples)]
        Y = _ancestor_sets(parents, leaves)[leaf]
    else:
        prior = power_law_class_probabilities(n_labels, class_size_exponent)
        primary = np.concatenate(
            [np.arange(n_labels), rng.choice(n_labels, n_samples - n_labels, p=prior)]
        )
        primary = primary[rng.permutation(n_samples)]
        n_extra = rng.poisson(mean_labels - 1.0, size=n_samples)
        extra = rng.choice(n_labels, int(n_extra.sum()), p=prior)
        rows = np.concatenate([np.arange(n_samples), np.repeat(np.arange(n_samples), n_extra)])
        Y = sp.csr_matrix(
            (np.ones(rows.size, dtype=np.int64), (rows, np.concatenate([primary, extra]))),
            shape=(n_samples, n_labels),
        )
        Y.sum_duplicates()
        Y.data[:] = 1
    Y = sp.csr_matrix(Y, dtype=np.int64)
    Y.sort_indices()

    # 2. Tokens: background words by Zipf rank; topic words of a label of the document.
    n_tokens = 1 + rng.poisson(tokens_per_document - 1.0, size=n_samples)
    doc = np.repeat(np.arange(n_samples), n_tokens)
    word_of_rank = rng.permutation(n_features)
    words = word_of_rank[_zipf_ranks(rng, doc.size, background_size)]
    is_topic = rng.random(doc.size) < topic_fraction
    topic_permutation = rng.permutation(n_features)
    topic_start = rng.integers(0, n_features, size=n_labels)
    topic_doc = doc[is_topic]
    set_size = np.diff(Y.indptr)
    label = Y.indices[Y.indptr[topic_doc] + rng.integers(0, set_size[topic_doc])]
    slot = rng.integers(0, topic_size, size=topic_doc.size)
    words[is_topic] = topic_permutation[(topic_start[label] + slot) % n_features]

    # 3. TF-IDF with unit rows, as make_lshtc_like's step 3.
    X = tf_idf_rows(doc, words, n_samples, n_features).astype(dtype, copy=False)
    if return_hierarchy:
        return X, Y, parents
    return X, Y
