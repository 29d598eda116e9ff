"""Synthetic datasets: LSHTC-like sparse text data and the signal/distractor toy of Fig. II.2."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .errors import InvalidParameterError
from .memory import check_memory

__all__ = [
    "make_lshtc_like",
    "make_signal_distractor",
    "power_law_class_probabilities",
    "LSHTC_SHAPES",
]

#: Sizes of the LSHTC datasets of Table III.2 (n_train, n_test, classes, features), for
#: ``load("lshtc_like", shape_of="lshtc_small")`` and the benchmark.
LSHTC_SHAPES = {
    "lshtc_small": (4_463, 1_858, 1_139, 51_033),
    "lshtc_large": (128_710, 34_880, 12_294, 381_581),
    "lshtc_2012": (383_408, 103_435, 11_947, 575_555),
    "lshtc_2011": (394_754, 104_263, 27_875, 594_158),
}


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_float(
    name: str, value: object, low: float, high: float, low_open: bool = False
) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(float(value))
    ):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    number = float(value)
    if number < low or number > high or (low_open and number == low):
        bracket = "(" if low_open else "["
        raise InvalidParameterError(f"{name} must lie in {bracket}{low}, {high}], got {value!r}")
    return number


def power_law_class_probabilities(n_classes: int, exponent: float) -> np.ndarray:
    """Zipf class prior ``p_k ∝ (k + 1) ** -exponent`` for ``k = 0..n_classes-1``.

    Examples
    --------
    >>> from shared_datasets.synthetic import power_law_class_probabilities
    >>> power_law_class_probabilities(3, 1.0).round(3).tolist()
    [0.545, 0.273, 0.182]
    """
    weights = np.arange(1, n_classes + 1, dtype=np.float64) ** -exponent
    probabilities: np.ndarray = weights / weights.sum()
    return probabilities


def _zipf_ranks(rng: np.random.Generator, size: int, n: int) -> np.ndarray:
    """``size`` ranks in ``0..n-1`` with ``P(r) ≈ 1/(r+1)`` (inverse transform of the continuous Zipf)."""
    rank = np.floor(np.exp(rng.random(size) * np.log(n + 1.0))).astype(np.int64) - 1
    ranks: np.ndarray = np.minimum(rank, n - 1)
    return ranks


def make_lshtc_like(
    n_samples: int = 25_000,
    n_features: int = 50_000,
    n_classes: int = 1_000,
    *,
    class_size_exponent: float = 1.0,
    tokens_per_document: float = 60.0,
    topic_size: int = 30,
    topic_fraction: float = 0.5,
    background_size: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[Any, np.ndarray]:
    """Generate sparse multi-class text-like data with the statistics of the LSHTC corpus.

    A bag-of-words model, vectorised over all documents at once:

    1. Class sizes follow a power law (Zipf): label ``k`` has prior ``∝ (k+1)^-a``
       (``a = class_size_exponent``); every class gets at least one document, as in
       LSHTC, where the long tail of classes has a handful of documents each.
    2. Document ``i`` has ``1 + Poisson(tokens_per_document - 1)`` tokens. Each token
       is, with probability ``topic_fraction``, one of ``topic_size`` words specific
       to the document's class, otherwise a background word drawn from a
       Zipf distribution over the ``background_size`` most frequent words (default:
       the whole vocabulary; word of rank ``r`` has frequency ``∝ 1/r``).
    3. Repeated words add up to term frequencies; features are TF-IDF,
       ``(1 + log tf) * log(n_samples / df)`` (words in every document get weight 0),
       and every row is scaled to Euclidean norm 1.

    With the defaults a row holds roughly 45 non-zeros; class sizes, vocabulary and
    dimension scale towards LSHTC (Table III.2 of the thesis: LSHTC-small has 4,463
    training documents, 1,139 classes, 51,033 features).

    Parameters
    ----------
    n_samples : int, default=25000
        Number of documents; at least ``n_classes``.
    n_features : int, default=50000
        Vocabulary size; at least ``topic_size``.
    n_classes : int, default=1000
        Number of classes, at least 2.
    class_size_exponent : float, default=1.0
        Exponent ``a`` of the power law of class sizes, in [0, 5]; 0 gives balanced classes.
    tokens_per_document : float, default=60.0
        Mean number of tokens (before merging repeated words) per document, >= 1.
    topic_size : int, default=30
        Number of class-specific words per class.
    topic_fraction : float, default=0.5
        Probability that a token is a class-specific word, in [0, 1]; 0 makes labels
        unpredictable from the features.
    background_size : int or None, default=None
        Background (class-independent) tokens are drawn from the ``background_size``
        most frequent words only; None (the default) means the whole vocabulary, so
        that even the rarest words land in documents of every class. A value well
        below ``n_features`` leaves the long tail of the vocabulary to the topics
        (class-specific vocabularies with little shared mass).
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Dtype of the CSR values.
    random_state : int, numpy.random.Generator or None, default=0
        Seed; the same seed gives the same matrix on every machine.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features)
        L2-normalised TF-IDF rows, sorted column indices, no explicit zeros.
    y : ndarray of shape (n_samples,), int64
        Labels ``0..n_classes-1``; label 0 is the largest class.

    Examples
    --------
    >>> from shared_datasets import make_lshtc_like
    >>> X, y = make_lshtc_like(n_samples=2000, n_features=5000, n_classes=50, random_state=0)
    >>> X.shape, int(y.max()) + 1
    ((2000, 5000), 50)
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_features = _check_int("n_features", n_features, 1)
    n_classes = _check_int("n_classes", n_classes, 2)
    topic_size = _check_int("topic_size", topic_size, 1)
    class_size_exponent = _check_float("class_size_exponent", class_size_exponent, 0.0, 5.0)
    tokens_per_document = _check_float("tokens_per_document", tokens_per_document, 1.0, 1e6)
    topic_fraction = _check_float("topic_fraction", topic_fraction, 0.0, 1.0)
    if background_size is None:
        background_size = n_features
    background_size = _check_int("background_size", background_size, 1)
    if background_size > n_features:
        raise InvalidParameterError(
            f"background_size={background_size} exceeds n_features={n_features}; use at most n_features or None"
        )
    if n_samples < n_classes:
        raise InvalidParameterError(
            f"n_samples={n_samples} < n_classes={n_classes}: every class needs at least one document"
        )
    if topic_size > n_features:
        raise InvalidParameterError(f"topic_size={topic_size} exceeds n_features={n_features}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dtype}")
    # Peak memory: ~80 bytes per token (document index, rank, uniform draws, word,
    # topic mask, COO triplets and their CSR copy), plus per-word and per-document arrays.
    n_tokens_expected = n_samples * tokens_per_document
    check_memory(
        80.0 * n_tokens_expected + 24.0 * n_features + 16.0 * n_classes + 32.0 * n_samples,
        f"make_lshtc_like(n_samples={n_samples}, n_features={n_features}, n_classes={n_classes}, "
        f"tokens_per_document={tokens_per_document:g})",
        hint="ask for fewer samples or fewer tokens per document",
    )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )

    # 1. Labels: one document per class guaranteed, the rest from the Zipf prior.
    prior = power_law_class_probabilities(n_classes, class_size_exponent)
    y = np.concatenate(
        [np.arange(n_classes), rng.choice(n_classes, n_samples - n_classes, p=prior)]
    )
    y = y[rng.permutation(n_samples)].astype(np.int64)

    # 2. Tokens. Words are ranked by a fixed random permutation of the vocabulary so
    #    that frequent words are not clustered at low column indices.
    n_tokens = 1 + rng.poisson(tokens_per_document - 1.0, size=n_samples)
    doc = np.repeat(np.arange(n_samples), n_tokens)
    total = doc.size
    word_of_rank = rng.permutation(n_features)
    # Zipf(1) over ranks 1..background_size by inverse transform: rank = floor(n^u).
    rank = _zipf_ranks(rng, total, background_size)
    words = word_of_rank[rank]
    is_topic = rng.random(total) < topic_fraction
    # Class k's topic words: topic_size consecutive entries of a second permutation,
    # starting at a random offset per class (topics of different classes may overlap,
    # as categories of a hierarchy share vocabulary).
    topic_permutation = rng.permutation(n_features)
    topic_start = rng.integers(0, n_features, size=n_classes)
    slot = rng.integers(0, topic_size, size=int(is_topic.sum()))
    words[is_topic] = topic_permutation[(topic_start[y[doc[is_topic]]] + slot) % n_features]

    # 3. Term frequencies, then TF-IDF with unit rows.
    return tf_idf_rows(doc, words, n_samples, n_features).astype(dtype, copy=False), y


def tf_idf_rows(doc: np.ndarray, words: np.ndarray, n_samples: int, n_features: int) -> Any:
    """CSR TF-IDF ``(1 + log tf) * log(n / df)`` with unit rows from (document, word) tokens.

    Duplicate tokens are summed into term frequencies by the COO -> CSR conversion; words in
    every document get weight 0 and are dropped; empty rows stay empty.
    """
    X = sp.csr_matrix(
        (np.ones(doc.size, dtype=np.float64), (doc, words)), shape=(n_samples, n_features)
    )
    X.sum_duplicates()
    document_frequency = np.bincount(X.indices, minlength=n_features)
    idf = np.log(n_samples / np.maximum(document_frequency, 1))
    X.data = (1.0 + np.log(X.data)) * idf[X.indices]
    X.eliminate_zeros()
    row_norm = np.sqrt(np.add.reduceat(X.data**2, X.indptr[:-1])) if X.nnz else np.zeros(n_samples)
    row_norm[np.diff(X.indptr) == 0] = 1.0  # reduceat's value for empty rows is meaningless
    X.data /= np.repeat(row_norm, np.diff(X.indptr))
    X.sort_indices()
    return X


def make_signal_distractor(
    n_samples: int = 1000,
    *,
    signal_direction: npt.ArrayLike = (1.0, 0.0),
    distractor_direction: npt.ArrayLike = (1.0, 1.0),
    distractor_mean: float = 0.0,
    distractor_std: float = 1.0,
    return_components: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, ...]:
    """The linear toy of Fig. II.2 (Kindermans et al., 2018), Eq. II.29.

    ``x = s + d`` with signal ``s = a_s y``, ``y ~ U[-1, 1]``, and distractor
    ``d = a_d ε``, ``ε ~ N(μ, σ²)``. With the default directions
    ``a_s = (1, 0)``, ``a_d = (1, 1)`` the filter ``w = (1, -1)`` recovers ``y``
    exactly (``wᵀa_s = 1``, ``wᵀa_d = 0``) although it is not aligned with the signal.

    Parameters
    ----------
    n_samples : int, default=1000
    signal_direction, distractor_direction : array-like of shape (n_dims,)
        ``a_s`` and ``a_d``; must have the same length and be linearly independent.
    distractor_mean, distractor_std : float
        ``μ`` and ``σ`` (``σ >= 0``).
    return_components : bool, default=False
        Also return the signal ``s`` and distractor ``d`` (each of shape (n_samples, n_dims)).
    random_state : int, numpy.random.Generator or None, default=0

    Returns
    -------
    X : ndarray of shape (n_samples, n_dims), float64
    y : ndarray of shape (n_samples,), float64
        The regression target.
    signal, distractor : ndarray, only if ``return_components``

    Examples
    --------
    >>> import numpy as np
    >>> from shared_datasets import make_signal_distractor
    >>> X, y = make_signal_distractor(100)
    >>> bool(np.allclose(X @ np.array([1.0, -1.0]), y))
    True
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    a_s = np.asarray(signal_direction, dtype=np.float64)
    a_d = np.asarray(distractor_direction, dtype=np.float64)
    if a_s.ndim != 1 or a_s.shape != a_d.shape:
        raise InvalidParameterError(
            f"signal_direction {a_s.shape} and distractor_direction {a_d.shape} must be vectors of one length"
        )
    if np.linalg.matrix_rank(np.stack([a_s, a_d])) < 2:
        raise InvalidParameterError(
            "signal_direction and distractor_direction must be linearly independent"
        )
    distractor_mean = _check_float("distractor_mean", distractor_mean, -np.inf, np.inf)
    distractor_std = _check_float("distractor_std", distractor_std, 0.0, np.inf)
    # y, epsilon, and signal, distractor, X (n x d each) with their temporaries
    check_memory(
        8.0 * n_samples * (4 + 4 * a_s.size),
        f"make_signal_distractor(n_samples={n_samples}) with {a_s.size} dimensions",
        hint="ask for fewer samples",
    )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    y = rng.uniform(-1.0, 1.0, size=n_samples)
    epsilon = rng.normal(distractor_mean, distractor_std, size=n_samples)
    signal = y[:, None] * a_s
    distractor = epsilon[:, None] * a_d
    X = signal + distractor
    if return_components:
        return X, y, signal, distractor
    return X, y
