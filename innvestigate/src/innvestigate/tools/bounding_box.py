"""Bounding-box relevance ratio (thesis Chapter V §4.5, Table V.1).

For each explanation the absolute relevance inside the object's bounding box(es) is
divided by the absolute relevance outside. Averaged per class over a data set, the
classes with the lowest ratio are those for which the network looks at the scene
rather than the object ("basketball" in the thesis).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bounding_box_mask", "bounding_box_relevance_ratio", "rank_classes_by_ratio"]


def bounding_box_mask(image_shape: tuple[int, int], boxes: Any) -> np.ndarray:
    """Boolean mask ``(H, W)`` of the union of boxes ``(top, left, bottom, right)``.

    Coordinates are pixels, ``bottom``/``right`` exclusive (numpy slicing), clipped to the image;
    a box that does not overlap the image raises ``ValueError``.

    Examples
    --------
    >>> bounding_box_mask((3, 4), [(0, 1, 2, 3)]).astype(int)
    array([[0, 1, 1, 0],
           [0, 1, 1, 0],
           [0, 0, 0, 0]])
    """
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    mask = np.zeros(image_shape, dtype=bool)
    for top, left, bottom, right in boxes:
        if bottom <= top or right <= left:
            raise ValueError(
                f"Box {(top, left, bottom, right)} is empty; give (top, left, bottom, right) with "
                "bottom > top and right > left."
            )
        if bottom <= 0 or right <= 0 or top >= image_shape[0] or left >= image_shape[1]:
            # Negative ends would count from the far edge in numpy slicing.
            raise ValueError(
                f"Box {(int(top), int(left), int(bottom), int(right))} lies outside the {tuple(image_shape)} "
                "image; give (top, left, bottom, right) pixel coordinates that overlap the image."
            )
        mask[max(top, 0) : bottom, max(left, 0) : right] = True
    return mask


def bounding_box_relevance_ratio(
    relevance: Any,
    boxes: Any,
    channel_axis: int | None = -1,
    normalize_by_area: bool = False,
) -> np.ndarray:
    """Ratio of absolute relevance inside to outside the bounding box, per sample.

    Parameters
    ----------
    relevance : array, shape (N, H, W, C), or (N, H, W) with ``channel_axis=None``
        Explanations.
    boxes : array (N, 4), list of per-sample box lists, or bool masks (N, H, W)
        Boxes as ``(top, left, bottom, right)`` pixels (exclusive end), several boxes of
        one sample are united; or the inside masks directly.
    channel_axis : int or None, default=-1
        Channel axis of ``relevance`` (the channels' absolute values are summed).
    normalize_by_area : bool, default=False
        Divide inside and outside sums by their pixel counts (relevance *density*
        ratio; 1 means no preference for the box).

    Returns
    -------
    numpy.ndarray, shape (N,)
        ``sum_inside |R| / sum_outside |R|``; ``inf`` if nothing lies outside, ``nan`` if
        a sample has no relevance at all.

    Examples
    --------
    >>> import numpy as np
    >>> R = np.zeros((1, 4, 4))
    >>> R[0, :2, :2] = 1.0; R[0, 3, 3] = -2.0
    >>> bounding_box_relevance_ratio(R, [(0, 0, 2, 2)], channel_axis=None)
    array([2.])
    """
    R = np.abs(np.asarray(relevance, dtype=np.float64))
    if channel_axis is not None:
        R = R.sum(axis=channel_axis)
    if R.ndim != 3:
        raise ValueError(
            f"relevance must be (N, H, W, C) or (N, H, W) with channel_axis=None; got shape "
            f"{np.shape(relevance)}."
        )
    boxes_arr = boxes if isinstance(boxes, list) else np.asarray(boxes)
    if isinstance(boxes_arr, np.ndarray) and boxes_arr.dtype == bool:
        masks = np.broadcast_to(boxes_arr, R.shape)
    else:
        if len(boxes_arr) != len(R):
            raise ValueError(f"Got {len(boxes_arr)} box entries for {len(R)} explanations.")
        masks = np.stack([bounding_box_mask(R.shape[1:], b) for b in boxes_arr])
    inside = (R * masks).reshape(len(R), -1).sum(1)
    outside = (R * ~masks).reshape(len(R), -1).sum(1)
    if normalize_by_area:
        n_in = masks.reshape(len(R), -1).sum(1)
        n_out = masks[0].size - n_in
        inside = inside / np.maximum(n_in, 1)
        outside = np.where(n_out > 0, outside / np.maximum(n_out, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inside / outside


def rank_classes_by_ratio(ratios: Any, labels: Any) -> list[tuple[Any, float, int]]:
    """Mean ratio per class, lowest first: the classes decided by the context, not the object.

    Parameters
    ----------
    ratios : array (N,)
        From :func:`bounding_box_relevance_ratio` (non-finite entries are skipped).
    labels : array (N,)
        Class of each sample.

    Returns
    -------
    list of (label, mean ratio, count)

    Examples
    --------
    >>> rank_classes_by_ratio([2.0, 4.0, 0.5], ["dog", "dog", "ball"])
    [('ball', 0.5, 1), ('dog', 3.0, 2)]
    """
    ratios = np.asarray(ratios, dtype=np.float64)
    labels = np.asarray(labels)
    if ratios.shape != labels.shape:
        raise ValueError(
            f"ratios {ratios.shape} and labels {labels.shape} must have the same shape."
        )
    rows = []
    for label in np.unique(labels):
        values = ratios[(labels == label) & np.isfinite(ratios)]
        if len(values):
            rows.append((label.item(), float(values.mean()), len(values)))
    return sorted(rows, key=lambda r: r[1])
