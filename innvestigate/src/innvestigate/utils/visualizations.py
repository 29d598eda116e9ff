"""Turning explanations into pictures (thesis Chapter V §3.4.3, Fig. V.6, Appendix 2.4).

Every function works on a *batch* of explanations, shape ``(N, H, W, C)`` with the
channel axis given by ``channel_axis`` (``-1`` channels-last, ``1`` channels-first),
normalises each sample on its own and returns float arrays with values in ``[0, 1]``
ready for ``matplotlib.pyplot.imshow``. Images passed alongside (``images``) must already
be scaled to ``[0, 1]``.

Attribution methods are shown as graymaps (absolute value), red-blue heatmaps (signed),
the input scaled by the absolute relevance, the input masked to its most relevant
segments, or a blurred heatmap blended with the input; signal methods (PatternNet) are
projected back into the input range channel by channel. :func:`gamma` and
:func:`clip_quantile` bring out small values or cut off outliers before that.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "reduce_channels",
    "project",
    "heatmap",
    "graymap",
    "scale_input",
    "mask_top_segments",
    "blend_with_input",
    "project_to_input_range",
    "gamma",
    "clip_quantile",
    "plot_grid",
]

_REDUCE_OPS = ("sum", "abs_sum", "absmax", "norm", "mean")


def _as_batch(X: Any, name: str, min_ndim: int = 2) -> np.ndarray:
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name} must be a real numeric array, got dtype {X.dtype}.")
    if X.ndim < min_ndim:
        raise ValueError(
            f"{name} must be a batch with the samples on axis 0 and at least {min_ndim} "
            f"dimensions, got shape {X.shape}; add a batch axis with x[None]."
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return X.astype(np.float64, copy=False)


def _per_sample_absmax(X: np.ndarray) -> np.ndarray:
    """Max |X| of each sample, shaped to broadcast against X."""
    return np.max(np.abs(X.reshape(len(X), -1)), axis=1).reshape((-1,) + (1,) * (X.ndim - 1))


def reduce_channels(X: Any, channel_axis: int = -1, op: str = "sum") -> np.ndarray:
    """Reduces the colour channels of a batch of explanations to one value per pixel.

    Parameters
    ----------
    X : array, shape (N, H, W, C) or channels-first
        Explanations.
    channel_axis : int, default=-1
        The channel axis of ``X``.
    op : {"sum", "abs_sum", "absmax", "norm", "mean"}, default="sum"
        ``sum`` keeps the sign (heatmaps), ``abs_sum`` and ``norm`` (Euclidean) give
        magnitudes (graymaps), ``absmax`` picks the signed value of largest magnitude.

    Returns
    -------
    numpy.ndarray, shape (N, H, W)
        The reduced explanations.

    Examples
    --------
    >>> import numpy as np
    >>> reduce_channels(np.array([[[[1.0, -3.0]]]]), op="absmax")
    array([[[-3.]]])
    """
    X = _as_batch(X, "X", min_ndim=3)
    if op == "sum":
        return X.sum(axis=channel_axis)
    if op == "abs_sum":
        return np.abs(X).sum(axis=channel_axis)
    if op == "mean":
        return X.mean(axis=channel_axis)
    if op == "norm":
        return np.sqrt((X**2).sum(axis=channel_axis))
    if op == "absmax":
        idx = np.expand_dims(np.argmax(np.abs(X), axis=channel_axis), channel_axis)
        return np.take_along_axis(X, idx, axis=channel_axis).squeeze(channel_axis)
    raise ValueError(f"Unknown channel reduction {op!r}; choose one of {_REDUCE_OPS}.")


def project(
    X: Any,
    output_range: tuple[float, float] = (0.0, 1.0),
    absmax: Any = None,
    input_is_positive_only: bool = False,
) -> np.ndarray:
    """Maps each sample linearly into ``output_range`` by its largest absolute value.

    Signed data maps ``-absmax -> low``, ``0 -> middle``, ``absmax -> high``; with
    ``input_is_positive_only`` it maps ``0 -> low`` and ``absmax -> high``. Values beyond
    a given ``absmax`` are clipped; an all-zero sample maps to the zero point.

    Parameters
    ----------
    X : array, shape (N, ...)
        A batch.
    output_range : (float, float), default=(0, 1)
        Target interval.
    absmax : None, float or array of shape (N,)
        Normalisation per sample; by default each sample's max ``|X|``.
    input_is_positive_only : bool, default=False
        Map ``[0, absmax]`` instead of ``[-absmax, absmax]``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> project(np.array([[-2.0, 0.0, 1.0]]))
    array([[0.  , 0.5 , 0.75]])
    """
    X = _as_batch(X, "X", min_ndim=1)
    low, high = output_range
    if absmax is None:
        scale = _per_sample_absmax(X)
    else:
        scale = np.broadcast_to(np.asarray(absmax, dtype=np.float64), (len(X),)).reshape(
            (-1,) + (1,) * (X.ndim - 1)
        )
        if np.any(scale < 0):
            raise ValueError("absmax must be non-negative.")
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(scale > 0, X / np.where(scale > 0, scale, 1.0), 0.0)
    if not input_is_positive_only:
        unit = (unit + 1.0) / 2.0
    unit = np.clip(unit, 0.0, 1.0)
    return low + unit * (high - low)


def _colormap(name: str):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError as err:
        raise ValueError(f"Unknown matplotlib colormap {name!r}.") from err


def _reduce_or_take(X: np.ndarray, reduce_op: str | None, channel_axis: int) -> np.ndarray:
    if reduce_op is None:
        return X
    return reduce_channels(X, channel_axis=channel_axis, op=reduce_op)


def heatmap(
    X: Any,
    cmap: str = "seismic",
    reduce_op: str | None = "sum",
    channel_axis: int = -1,
    absmax: Any = None,
) -> np.ndarray:
    """Red-blue heatmap of signed relevance (Bach et al. 2015; Fig. V.6 column 2).

    Channels are reduced (sum by default), each sample is scaled by its max ``|R|`` so
    that zero relevance lands in the middle of the colour map (white for ``seismic``),
    positive relevance in red, negative in blue.

    Parameters
    ----------
    X : array, shape (N, H, W, C), or (N, H, W) with ``reduce_op=None``
        Explanations.
    cmap : str, default="seismic"
        A diverging matplotlib colour map.
    reduce_op : str or None, default="sum"
        See :func:`reduce_channels`; None if ``X`` has no channel axis.
    channel_axis : int, default=-1
        Channel axis of ``X``.
    absmax : None, float or array (N,)
        Common scale (e.g. to compare methods on one colour scale).

    Returns
    -------
    numpy.ndarray, shape (N, H, W, 3)
        RGB in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = heatmap(np.array([[[[1.0], [-1.0]]]]))
    >>> bool(rgb[0, 0, 0, 0] > rgb[0, 0, 0, 2]), bool(rgb[0, 0, 1, 2] > rgb[0, 0, 1, 0])
    (True, True)
    """
    X = _as_batch(X, "X", min_ndim=2)
    values = _reduce_or_take(X, reduce_op, channel_axis)
    unit = project(values, absmax=absmax)
    return _colormap(cmap)(unit)[..., :3]


def graymap(
    X: Any,
    cmap: str = "gray",
    reduce_op: str | None = "abs_sum",
    channel_axis: int = -1,
    absmax: Any = None,
) -> np.ndarray:
    """Single-colour map of the relevance's magnitude (Smilkov et al. 2017; Fig. V.6 column 1).

    Parameters
    ----------
    X : array, shape (N, H, W, C), or (N, H, W) with ``reduce_op=None``
        Explanations.
    cmap : str, default="gray"
        Sequential colour map; zero relevance is its low end (black for gray).
    reduce_op : str or None, default="abs_sum"
        See :func:`reduce_channels`; the absolute value is taken afterwards anyway.
    channel_axis : int, default=-1
        Channel axis of ``X``.
    absmax : None, float or array (N,)
        Common scale.

    Returns
    -------
    numpy.ndarray, shape (N, H, W, 3)
        RGB in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> graymap(np.array([[[[-2.0], [1.0]]]]))[0, 0, :, 0].round(2)
    array([1. , 0.5])
    """
    X = _as_batch(X, "X", min_ndim=2)
    values = np.abs(_reduce_or_take(X, reduce_op, channel_axis))
    unit = project(values, absmax=absmax, input_is_positive_only=True)
    return _colormap(cmap)(unit)[..., :3]


def _check_images(images: Any, relevance_shape: tuple[int, ...], channel_axis: int) -> np.ndarray:
    images = _as_batch(images, "images", min_ndim=3)
    if images.min() < 0 or images.max() > 1:
        raise ValueError(
            "images must be scaled to [0, 1] for display (e.g. x_uint8 / 255); got values in "
            f"[{images.min():.3g}, {images.max():.3g}]."
        )
    spatial = tuple(s for i, s in enumerate(images.shape) if i != channel_axis % images.ndim)
    if spatial[: len(relevance_shape)] != relevance_shape[: len(spatial)]:
        raise ValueError(
            f"images of shape {images.shape} do not match the explanations' samples and pixels "
            f"{relevance_shape}."
        )
    return images


def _channels_last(images: np.ndarray, channel_axis: int) -> np.ndarray:
    return np.moveaxis(images, channel_axis, -1)


def scale_input(
    X: Any, images: Any, channel_axis: int = -1, reduce_op: str = "abs_sum"
) -> np.ndarray:
    """The input scaled pixel-wise by the normalised absolute relevance (Sundararajan et al. 2017).

    Parameters
    ----------
    X : array, shape (N, H, W, C)
        Explanations.
    images : array, shape (N, H, W, C)
        The inputs, scaled to ``[0, 1]``.
    channel_axis : int, default=-1
        Channel axis of ``X`` and ``images``.
    reduce_op : str, default="abs_sum"
        Channel reduction of the relevance (see :func:`reduce_channels`).

    Returns
    -------
    numpy.ndarray, shape (N, H, W, C) channels-last
        ``images * |R| / max|R|`` per sample.

    Examples
    --------
    >>> import numpy as np
    >>> scale_input(np.array([[[[2.0], [1.0]]]]), np.full((1, 1, 2, 1), 0.8))[0, 0, :, 0]
    array([0.8, 0.4])
    """
    X = _as_batch(X, "X", min_ndim=3)
    weight = np.abs(reduce_channels(X, channel_axis=channel_axis, op=reduce_op))
    images = _channels_last(_check_images(images, weight.shape, channel_axis), channel_axis)
    weight = project(weight, input_is_positive_only=True)
    return images * weight[..., None]


def mask_top_segments(
    X: Any,
    images: Any,
    segments: Any = None,
    top_k: int = 10,
    score: str = "max",
    channel_axis: int = -1,
    n_segments: int = 50,
    fill_value: float = 0.0,
) -> np.ndarray:
    """Keeps the ``top_k`` most relevant segments of each input and blanks the rest (Ribeiro et al. 2016).

    Parameters
    ----------
    X : array, shape (N, H, W, C)
        Explanations.
    images : array, shape (N, H, W, C)
        Inputs in ``[0, 1]``.
    segments : None or int array, shape (N, H, W) or (H, W)
        Segment labels; by default SLIC superpixels of each image (scikit-image).
    top_k : int, default=10
        Segments kept per sample.
    score : {"max", "sum", "mean"}, default="max"
        How a segment's relevance (channel sum) is scored; Appendix 2.4 uses the max.
    channel_axis : int, default=-1
        Channel axis of ``X`` and ``images``.
    n_segments : int, default=50
        Approximate number of SLIC segments when ``segments`` is None.
    fill_value : float, default=0
        Value of the masked pixels.

    Returns
    -------
    numpy.ndarray, shape (N, H, W, C) channels-last
        The masked inputs.

    Examples
    --------
    >>> import numpy as np
    >>> R = np.array([[[[1.0], [5.0], [0.0]]]])
    >>> seg = np.array([[0, 1, 2]])
    >>> mask_top_segments(R, np.full((1, 1, 3, 1), 0.5), seg, top_k=1)[0, 0, :, 0]
    array([0. , 0.5, 0. ])
    """
    X = _as_batch(X, "X", min_ndim=3)
    if not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
    if score not in ("max", "sum", "mean"):
        raise ValueError(f"score must be 'max', 'sum' or 'mean', got {score!r}.")
    relevance = reduce_channels(X, channel_axis=channel_axis, op="sum")
    images = _channels_last(_check_images(images, relevance.shape, channel_axis), channel_axis)
    if segments is None:
        from skimage.segmentation import slic

        segments = np.stack(
            [
                slic(img, n_segments=n_segments, start_label=0, channel_axis=-1)
                if img.shape[-1] == 3
                else slic(img[..., 0], n_segments=n_segments, start_label=0, channel_axis=None)
                for img in images
            ]
        )
    segments = np.asarray(segments)
    if not np.issubdtype(segments.dtype, np.integer):
        raise TypeError(f"segments must hold integer labels, got dtype {segments.dtype}.")
    segments = np.broadcast_to(segments, relevance.shape)
    out = np.full_like(images, fill_value)
    for i in range(len(relevance)):
        labels, inverse = np.unique(segments[i], return_inverse=True)
        inverse = inverse.reshape(segments[i].shape)
        flat = relevance[i].ravel()
        if score == "max":
            scores = np.full(len(labels), -np.inf)
            np.maximum.at(scores, inverse.ravel(), flat)
        else:
            scores = np.bincount(inverse.ravel(), weights=flat, minlength=len(labels))
            if score == "mean":
                scores = scores / np.bincount(inverse.ravel(), minlength=len(labels))
        keep = np.argsort(-scores, kind="stable")[:top_k]
        mask = np.isin(inverse, keep)
        out[i][mask] = images[i][mask]
    return out


def blend_with_input(
    X: Any,
    images: Any,
    sigma: float = 3.0,
    cmap: str = "jet",
    channel_axis: int = -1,
) -> np.ndarray:
    """Blurred heatmap of the absolute relevance blended into the input (Selvaraju et al. 2017).

    Following Appendix 2.4: ``e = blur(sum_c |R|)`` normalised to ``[0, 1]`` per sample,
    ``out = (1 - e) * image + e * cmap(e)``.

    Parameters
    ----------
    X : array, shape (N, H, W, C)
        Explanations.
    images : array, shape (N, H, W, C)
        Inputs in ``[0, 1]`` (grey images are repeated to RGB).
    sigma : float, default=3
        Standard deviation of the Gaussian blur in pixels (0: no blur).
    cmap : str, default="jet"
        Colour map of the heatmap.
    channel_axis : int, default=-1
        Channel axis of ``X`` and ``images``.

    Returns
    -------
    numpy.ndarray, shape (N, H, W, 3)
        RGB in ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> out = blend_with_input(np.zeros((1, 4, 4, 1)), np.full((1, 4, 4, 1), 0.3))
    >>> float(out.max())
    0.3
    """
    from scipy.ndimage import gaussian_filter

    X = _as_batch(X, "X", min_ndim=3)
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}.")
    weight = reduce_channels(X, channel_axis=channel_axis, op="abs_sum")
    images = _channels_last(_check_images(images, weight.shape, channel_axis), channel_axis)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    blurred = np.stack([gaussian_filter(w, sigma) if sigma > 0 else w for w in weight])
    lo = blurred.reshape(len(blurred), -1).min(axis=1).reshape(-1, 1, 1)
    hi = blurred.reshape(len(blurred), -1).max(axis=1).reshape(-1, 1, 1)
    span = np.where(hi > lo, hi - lo, 1.0)
    e = np.where(hi > lo, (blurred - lo) / span, 0.0)
    colours = _colormap(cmap)(e)[..., :3]
    return (1.0 - e[..., None]) * images[..., :3] + e[..., None] * colours


def project_to_input_range(X: Any, input_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Projects a signal (PatternNet) into the input range, every channel on its own (Fig. V.6 column 6).

    Each sample is divided by twice its max ``|X|`` and centred: ``X / (2 max|X|) + 0.5``
    lies in ``[0, 1]`` and is mapped linearly onto ``input_range``. (Appendix 2.4 prints
    ``X / max|X| + 0.5``, which leaves ``[0, 1]``; the factor 2 keeps the sign
    symmetric and the result displayable.) Colour channels are not reduced, so the
    signal keeps its colours.

    Parameters
    ----------
    X : array, shape (N, ...)
        Signals.
    input_range : (float, float), default=(0, 1)
        The model's input range; keep (0, 1) to display.

    Returns
    -------
    numpy.ndarray
        Same shape as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> project_to_input_range(np.array([[-4.0, 0.0, 2.0]]), input_range=(0, 255))
    array([[  0.  , 127.5 , 191.25]])
    """
    return project(X, output_range=input_range)


def gamma(X: Any, gamma: float = 0.5, minamp: float = 0.0, maxamp: Any = None) -> np.ndarray:
    """Sign-preserving gamma correction ``sign(X) |X / maxamp|^gamma * maxamp`` per sample.

    ``gamma < 1`` brings out small relevance (Fig. V.9 uses the signed square root,
    ``gamma=0.5``); ``gamma > 1`` suppresses it. Values are taken relative to ``minamp``.

    Parameters
    ----------
    X : array, shape (N, ...)
        A batch of explanations.
    gamma : float, default=0.5
        Exponent, positive.
    minamp : float, default=0
        Reference value (the zero of the correction).
    maxamp : None, float or array (N,)
        Scale; by default each sample's max ``|X - minamp|``.

    Returns
    -------
    numpy.ndarray
        Same shape and scale as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> gamma(np.array([[-4.0, 1.0]]), gamma=0.5)
    array([[-4.,  2.]])
    """
    X = _as_batch(X, "X", min_ndim=1)
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma}.")
    centred = X - minamp
    if maxamp is None:
        scale = _per_sample_absmax(centred)
    else:
        scale = np.broadcast_to(np.asarray(maxamp, dtype=np.float64), (len(X),)).reshape(
            (-1,) + (1,) * (X.ndim - 1)
        )
    safe = np.where(scale > 0, scale, 1.0)
    out = np.sign(centred) * np.abs(centred / safe) ** gamma * safe
    return out + minamp


def clip_quantile(X: Any, quantile: float | tuple[float, float] = 1.0) -> np.ndarray:
    """Clips each sample to its own percentiles to cut off outliers.

    Parameters
    ----------
    X : array, shape (N, ...)
        A batch of explanations.
    quantile : float or (float, float), default=1
        Percentiles in ``[0, 100]``; a single ``q`` means ``(q, 100 - q)``.

    Returns
    -------
    numpy.ndarray
        ``X`` clipped per sample to ``[percentile(q_low), percentile(q_high)]``.

    Examples
    --------
    >>> import numpy as np
    >>> clip_quantile(np.arange(11.0)[None], quantile=10)
    array([[1., 1., 2., 3., 4., 5., 6., 7., 8., 9., 9.]])
    """
    X = _as_batch(X, "X", min_ndim=1)
    q = (quantile, 100.0 - quantile) if np.ndim(quantile) == 0 else tuple(quantile)
    if len(q) != 2 or not 0 <= q[0] <= q[1] <= 100:
        raise ValueError(
            f"quantile must be q in [0, 50] or (low, high) with 0 <= low <= high <= 100; got {quantile!r}."
        )
    flat = X.reshape(len(X), -1)
    low = np.percentile(flat, q[0], axis=1).reshape((-1,) + (1,) * (X.ndim - 1))
    high = np.percentile(flat, q[1], axis=1).reshape((-1,) + (1,) * (X.ndim - 1))
    return np.clip(X, low, high)


def _atomic_savefig(fig: Any, file_name: str | os.PathLike, dpi: int) -> None:
    file_name = os.fspath(file_name)
    directory = os.path.dirname(os.path.abspath(file_name))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(file_name)[1] or ".png"
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, file_name)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def plot_grid(
    grid: Sequence[Sequence[Any]],
    col_labels: Sequence[str] | None = None,
    row_labels_left: Sequence[str] | None = None,
    row_labels_right: Sequence[str] | None = None,
    file_name: str | os.PathLike | None = None,
    title: str | None = None,
    cell_size: float = 1.4,
    dpi: int = 150,
) -> Any:
    """Draws a grid of images, e.g. methods (columns) × samples or output neurons (rows).

    As in Figs. V.7, V.8 and V.10: labels above the columns (the methods), the
    true / predicted label left of each row and the softmax / pre-softmax outputs right
    of it.

    Parameters
    ----------
    grid : rows of images
        ``grid[r][c]`` is an RGB ``(H, W, 3)`` or grey ``(H, W)`` image in ``[0, 1]``, or
        None for an empty cell (e.g. a method undefined for that row).
    col_labels : list of str, optional
        One per column.
    row_labels_left, row_labels_right : list of str, optional
        One per row; may contain line breaks.
    file_name : path, optional
        Where to save the PNG (written atomically); the figure is returned either way.
    title : str, optional
        Figure title.
    cell_size : float, default=1.4
        Inches per cell.
    dpi : int, default=150
        Resolution of the saved PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_grid([[np.zeros((4, 4)), np.ones((4, 4, 3))]], col_labels=["a", "b"])
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    rows = [list(r) for r in grid]
    if not rows or not rows[0]:
        raise ValueError("grid must contain at least one row with at least one image.")
    n_cols = len(rows[0])
    if any(len(r) != n_cols for r in rows):
        raise ValueError(
            f"Every row of the grid must have {n_cols} cells; got {[len(r) for r in rows]}."
        )
    for labels, what, n in (
        (col_labels, "col_labels", n_cols),
        (row_labels_left, "row_labels_left", len(rows)),
        (row_labels_right, "row_labels_right", len(rows)),
    ):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{what} has {len(labels)} entries; the grid needs {n}.")
    fig, axes = plt.subplots(
        len(rows),
        n_cols,
        figsize=(cell_size * n_cols + 2.5, cell_size * len(rows) + (0.6 if title else 0.2)),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if image is not None:
                image = np.asarray(image, dtype=np.float64)
                if image.ndim == 3 and image.shape[-1] == 1:
                    image = image[..., 0]
                if image.ndim not in (2, 3):
                    raise ValueError(
                        f"grid[{r}][{c}] has shape {image.shape}; give (H, W) or (H, W, 3)."
                    )
                ax.imshow(
                    np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1
                )
            else:
                ax.set_facecolor("0.9")
            for spine in ax.spines.values():
                spine.set_visible(image is not None)
            if r == 0 and col_labels is not None:
                ax.set_title(
                    col_labels[c], fontsize=8, rotation=30, ha="left", va="bottom", loc="left"
                )
            if c == 0 and row_labels_left is not None:
                ax.set_ylabel(row_labels_left[r], fontsize=7, rotation=0, ha="right", va="center")
            if c == n_cols - 1 and row_labels_right is not None:
                ax.text(
                    1.06,
                    0.5,
                    row_labels_right[r],
                    transform=ax.transAxes,
                    fontsize=7,
                    ha="left",
                    va="center",
                )
    if title:
        # above the rotated column labels; bbox_inches="tight" keeps it in the PNG
        height = fig.get_size_inches()[1]
        offset = (0.9 if col_labels is not None else 0.15) / height
        fig.suptitle(title, fontsize=10, y=fig.subplotpars.top + offset, va="bottom")
    fig.subplots_adjust(wspace=0.04, hspace=0.04)
    if file_name is not None:
        _atomic_savefig(fig, file_name, dpi)
    return fig
