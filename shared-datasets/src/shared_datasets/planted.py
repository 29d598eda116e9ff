"""Ground-truth tasks for explanation benchmarks: one planted token or patch decides the class.

Where a single, known part of the input decides the label, an explanation can be scored
exactly: does the planted token (or patch) receive the highest relevance, and what share
of the positive relevance falls on it?
"""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt

from .errors import InvalidParameterError

__all__ = ["make_planted_tokens", "make_planted_patches", "planted_textures", "class_phrases"]

#: Most textures ``planted_textures`` can draw (one per class).
MAX_TEXTURE_CLASSES = 8


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def class_phrases(n_classes: int, phrase_length: int = 1, first_id: int = 1) -> np.ndarray:
    """Token ids of the phrase that decides each class, shape ``(n_classes, phrase_length)``.

    Class ``k`` is decided by the ids ``first_id + k * phrase_length, ...,
    first_id + (k + 1) * phrase_length - 1``, in that order.

    Examples
    --------
    >>> from shared_datasets.planted import class_phrases
    >>> class_phrases(3, 2).tolist()
    [[1, 2], [3, 4], [5, 6]]
    """
    n_classes = _check_int("n_classes", n_classes, 1)
    phrase_length = _check_int("phrase_length", phrase_length, 1)
    ids: np.ndarray = first_id + np.arange(n_classes * phrase_length)
    return ids.reshape(n_classes, phrase_length)


def make_planted_tokens(
    n_samples: int = 1000,
    seq_len: int = 16,
    vocab_size: int = 64,
    n_classes: int = 4,
    *,
    phrase_length: int = 1,
    pad_id: int = 0,
    include_blank: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Token sequences in which one planted class phrase decides the label.

    Token ids: ``pad_id`` (0) is reserved for padding and never drawn; ids
    ``1 .. n_classes * phrase_length`` are the class phrases (:func:`class_phrases`);
    the remaining ids ``n_classes * phrase_length + 1 .. vocab_size - 1`` are filler.
    Each sequence is uniform random filler with the phrase of its class (classes drawn
    uniformly) written at a uniform random position; no other class token occurs, so the
    phrase alone decides the class.

    Parameters
    ----------
    n_samples : int, default=1000
    seq_len : int, default=16
        Tokens per sequence, at least ``phrase_length``.
    vocab_size : int, default=64
        Number of token ids; needs at least one filler id:
        ``vocab_size >= n_classes * phrase_length + 2``.
    n_classes : int, default=4
    phrase_length : int, default=1
        Tokens of the planted phrase.
    pad_id : int, default=0
        Must be 0 (the id layout above); a parameter so that callers name it.
    include_blank : bool, default=False
        Add the label ``n_classes`` for sequences of filler only (position -1). A model must
        then detect every class phrase; without it, it can learn one class as "none of the
        other phrases" and never look at that class's phrase.
    random_state : int, numpy.random.Generator or None, default=0

    Returns
    -------
    X : ndarray of int32, shape (n_samples, seq_len)
    y : ndarray of int64, shape (n_samples,)
    positions : ndarray of int64, shape (n_samples,)
        Index of the phrase's first token; it covers ``positions[i] .. positions[i] + phrase_length - 1``
        (-1 for the blank label).

    Examples
    --------
    >>> from shared_datasets import make_planted_tokens
    >>> X, y, pos = make_planted_tokens(3, seq_len=6, vocab_size=10, n_classes=2, random_state=0)
    >>> X.dtype, X.shape
    (dtype('int32'), (3, 6))
    >>> bool((X[range(3), pos] == y + 1).all())   # class k is token k + 1
    True
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    seq_len = _check_int("seq_len", seq_len, 1)
    n_classes = _check_int("n_classes", n_classes, 2)
    phrase_length = _check_int("phrase_length", phrase_length, 1)
    vocab_size = _check_int("vocab_size", vocab_size, 1)
    if isinstance(pad_id, bool) or pad_id != 0:
        raise InvalidParameterError(
            f"pad_id must be 0 (ids 1.. are the class phrases), got {pad_id!r}"
        )
    if phrase_length > seq_len:
        raise InvalidParameterError(
            f"phrase_length={phrase_length} does not fit into seq_len={seq_len}; make seq_len larger"
        )
    first_filler = n_classes * phrase_length + 1
    if vocab_size <= first_filler:
        raise InvalidParameterError(
            f"vocab_size={vocab_size} leaves no filler token: padding and {n_classes} phrases of "
            f"{phrase_length} tokens use ids 0..{first_filler - 1}; use vocab_size >= {first_filler + 1}"
        )
    rng = np.random.default_rng(random_state)
    X = rng.integers(first_filler, vocab_size, size=(n_samples, seq_len))
    y = rng.integers(0, n_classes + bool(include_blank), size=n_samples)
    positions = rng.integers(0, seq_len - phrase_length + 1, size=n_samples)
    phrases = class_phrases(n_classes, phrase_length)
    planted = y < n_classes
    columns = positions[planted, None] + np.arange(phrase_length)
    X[np.flatnonzero(planted)[:, None], columns] = phrases[y[planted]]
    positions[~planted] = -1
    return X.astype(np.int32), y.astype(np.int64), positions.astype(np.int64)


def planted_textures(n_classes: int, patch: int = 7) -> np.ndarray:
    """The class textures of :func:`make_planted_patches`, 0/1 arrays of shape ``(n_classes, patch, patch)``.

    In order: horizontal stripes, vertical stripes, checkerboard, diagonal stripes,
    anti-diagonal stripes, a hollow frame, a cross, a filled centre square
    (at most :data:`MAX_TEXTURE_CLASSES`). The textures differ pairwise for ``patch >= 4``.

    Examples
    --------
    >>> from shared_datasets.planted import planted_textures
    >>> planted_textures(3, 4)[2].astype(int).tolist()
    [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    """
    n_classes = _check_int("n_classes", n_classes, 1)
    patch = _check_int("patch", patch, 4)
    if n_classes > MAX_TEXTURE_CLASSES:
        raise InvalidParameterError(
            f"n_classes must be at most {MAX_TEXTURE_CLASSES} (one texture each), got {n_classes}"
        )
    r, c = np.meshgrid(np.arange(patch), np.arange(patch), indexing="ij")
    mid, quarter = patch // 2, max(1, patch // 4)
    textures = [
        r % 2 == 0,
        c % 2 == 0,
        (r + c) % 2 == 0,
        (r + c) % 3 == 0,
        (r - c) % 3 == 0,
        (r == 0) | (c == 0) | (r == patch - 1) | (c == patch - 1),
        (r == mid) | (c == mid),
        (np.abs(r - mid) <= quarter) & (np.abs(c - mid) <= quarter),
    ]
    return np.stack(textures[:n_classes]).astype(np.float32)


def make_planted_patches(
    images: npt.ArrayLike,
    n_classes: int = 4,
    *,
    patch: int = 7,
    value_range: tuple[float, float] = (0.0, 1.0),
    include_blank: bool = False,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images in which one planted texture patch, at a random grid cell, decides the class.

    The image is a grid of ``patch × patch`` cells. For each image a class is drawn
    uniformly and that class's texture (:func:`planted_textures`; ``value_range`` gives
    the values of its 0 and 1 pixels, in every channel) replaces one uniformly drawn cell.
    The background images (e.g. MNIST-5k or Fashion-MNIST) and their own labels play no
    part in the class.

    Parameters
    ----------
    images : array of shape (N, H, W) or (N, H, W, C)
        Backgrounds; ``H`` and ``W`` must be multiples of ``patch``.
    n_classes : int, default=4
        2 to 8.
    patch : int, default=7
        Side of a cell and of the textures (at least 4).
    value_range : (float, float), default=(0.0, 1.0)
        Pixel values of the texture's off and on pixels.
    include_blank : bool, default=False
        Add the label ``n_classes`` for images without a texture (patch index -1), so that a
        model must detect every texture instead of learning one class as "none of the others".
    random_state : int, numpy.random.Generator or None, default=0

    Returns
    -------
    X : ndarray of float32, the shape of ``images``
    y : ndarray of int64, shape (N,)
    patch_index : ndarray of int64, shape (N,)
        Grid cell of the texture, row by row: it covers rows ``(patch_index // (W // patch)) * patch``
        and columns ``(patch_index % (W // patch)) * patch``, ``patch`` pixels each (-1 for the blank label).

    Examples
    --------
    >>> import numpy as np
    >>> from shared_datasets import make_planted_patches
    >>> X, y, idx = make_planted_patches(np.zeros((2, 28, 28)), n_classes=3, random_state=0)
    >>> X.shape, int(X.sum() > 0)
    ((2, 28, 28), 1)
    >>> row, col = divmod(int(idx[0]), 4)
    >>> bool((X[0, 7 * row:7 * row + 7, 7 * col:7 * col + 7] == planted_textures(3)[y[0]]).all())
    True
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    patch = _check_int("patch", patch, 4)
    textures = planted_textures(n_classes, patch)
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[0] < 1:
        raise InvalidParameterError(
            f"images must have shape (N, H, W) or (N, H, W, C) with N >= 1, got {images.shape}; "
            "reshape flat rows such as shared_datasets.load('mnist5k')'s to (N, 28, 28) first"
        )
    if not np.issubdtype(images.dtype, np.number) or np.issubdtype(
        images.dtype, np.complexfloating
    ):
        raise InvalidParameterError(f"images must be real numbers, got dtype {images.dtype}")
    height, width = images.shape[1:3]
    if height % patch or width % patch:
        raise InvalidParameterError(
            f"image size {height}x{width} is not a multiple of patch={patch}; crop or pad the images"
        )
    low, high = (float(v) for v in value_range)
    if not (np.isfinite(low) and np.isfinite(high)) or low == high:
        raise InvalidParameterError(
            f"value_range must be two different finite numbers, got {value_range!r}"
        )
    rng = np.random.default_rng(random_state)
    n = int(images.shape[0])
    n_cols = width // patch
    y = rng.integers(0, n_classes + bool(include_blank), size=n)
    patch_index = rng.integers(0, (height // patch) * n_cols, size=n)
    patch_index[y == n_classes] = -1
    X = images.astype(np.float32, copy=True)
    pixels = low + (high - low) * textures  # (n_classes, patch, patch)
    for i in np.flatnonzero(y < n_classes):
        row, col = divmod(int(patch_index[i]), n_cols)
        cell = (i, slice(row * patch, (row + 1) * patch), slice(col * patch, (col + 1) * patch))
        X[cell] = pixels[y[i]] if X.ndim == 3 else pixels[y[i]][..., None]
    return X, y.astype(np.int64), patch_index.astype(np.int64)
