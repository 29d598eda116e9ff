"""Perturbation analysis of explanations (Samek et al. 2017; thesis Chapter V §3.4.2).

The image is divided into a grid of regions; the regions are sorted by the relevance
an explanation gives them (sum over the region's pixels and channels) and perturbed
cumulatively in that order, ``regions_per_step`` at a time. The better an explanation
points at what the network uses, the faster the selected output ``f`` falls. The
*area over the perturbation curve*

.. math:: \\mathrm{AOPC} = \\frac{1}{L+1} \\Big\\langle \\sum_{k=0}^{L} f(x^{(0)}) - f(x^{(k)}) \\Big\\rangle_{p(x)}

summarises the fall over ``L`` steps; it is compared with the same procedure under a
random order of the regions ("most relevant first" should beat random).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from innvestigate.utils.batching import _to_numpy, count_batches, iterate_batches

__all__ = [
    "Perturbation",
    "PerturbationAnalysis",
    "PerturbationResult",
    "aopc",
    "plot_perturbation_curves",
]

_FUNCTIONS = ("mean", "zero", "uniform", "blur")
_ORDERS = ("morf", "random", "lerf")


def aopc(scores: Any) -> float:
    """Area over the perturbation curve from per-sample scores ``f(x^(k))``, k = 0..L.

    Parameters
    ----------
    scores : array, shape (N, L + 1) or (L + 1,)
        Output of the selected neuron after 0, 1, ..., L perturbation steps.

    Returns
    -------
    float
        ``mean_x mean_k [f(x^(0)) - f(x^(k))]``.

    Examples
    --------
    >>> aopc([[3.0, 2.0, 1.0]])
    1.0
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        scores = scores[None]
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"scores must have shape (N, L + 1), got {scores.shape}.")
    return float(np.mean(scores[:, :1] - scores))


class Perturbation:
    """How an input is cut into regions and how a region is perturbed.

    Parameters
    ----------
    perturbation_function : {"mean", "zero", "uniform", "blur"}, float or callable, default="mean"
        What replaces a perturbed region: its own mean (per channel), zeros, uniform
        noise in ``value_range``, a Gaussian blur of the input, a constant, or
        ``f(x) -> replacement`` computed on the whole batch ``(N, H, W, C)`` channels-last.
        The replacement is computed once per input, so that cumulative steps add regions
        to the same perturbed image.
    region_shape : (int, int), default=(4, 4)
        Height and width of a region in pixels; border regions may be smaller.
    channel_axis : int, default=-1
        Channel axis of inputs and relevance (``1`` for channels-first).
    value_range : (float, float), optional
        Range of the uniform noise; by default each input's own min and max.
    blur_sigma : float, default=2.0
        Standard deviation (pixels) of the Gaussian blur for ``"blur"``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Perturbation("zero", region_shape=(1, 2))
    >>> x = np.arange(4.0).reshape(1, 1, 4, 1)
    >>> p.perturb(x, np.array([[1]]))[0, 0, :, 0]
    array([0., 1., 0., 0.])
    """

    def __init__(
        self,
        perturbation_function: str | float | Callable[[np.ndarray], np.ndarray] = "mean",
        region_shape: tuple[int, int] = (4, 4),
        channel_axis: int = -1,
        value_range: tuple[float, float] | None = None,
        blur_sigma: float = 2.0,
    ) -> None:
        if isinstance(perturbation_function, str) and perturbation_function not in _FUNCTIONS:
            raise ValueError(
                f"Unknown perturbation_function {perturbation_function!r}; choose one of "
                f"{_FUNCTIONS}, a constant or a callable."
            )
        if not (
            isinstance(perturbation_function, (str, int, float)) or callable(perturbation_function)
        ):
            raise TypeError("perturbation_function must be a name, a number or a callable.")
        if len(tuple(region_shape)) != 2 or any(
            not isinstance(s, (int, np.integer)) or s < 1 for s in region_shape
        ):
            raise ValueError(f"region_shape must be two positive ints, got {region_shape!r}.")
        if value_range is not None and not value_range[0] < value_range[1]:
            raise ValueError(
                f"value_range must be (low, high) with low < high, got {value_range!r}."
            )
        if blur_sigma <= 0:
            raise ValueError(f"blur_sigma must be positive, got {blur_sigma}.")
        self.perturbation_function = perturbation_function
        self.region_shape = tuple(int(s) for s in region_shape)
        self.channel_axis = channel_axis
        self.value_range = value_range
        self.blur_sigma = blur_sigma

    # -- regions -------------------------------------------------------------------------
    def _channels_last(self, x: Any, name: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(
                f"{name} must be a batch of images (N, H, W, C) (or channels-first with "
                f"channel_axis=1), got shape {x.shape}."
            )
        return np.moveaxis(x, self.channel_axis, -1)

    def grid_shape(self, image_shape: tuple[int, int]) -> tuple[int, int]:
        """Number of regions along height and width for an image of ``(H, W)`` pixels."""
        rh, rw = self.region_shape
        return -(-image_shape[0] // rh), -(-image_shape[1] // rw)

    def region_ids(self, image_shape: tuple[int, int]) -> np.ndarray:
        """Region index of every pixel, shape ``(H, W)``, numbered row by row."""
        rh, rw = self.region_shape
        _, n_cols = self.grid_shape(image_shape)
        rows = np.arange(image_shape[0]) // rh
        cols = np.arange(image_shape[1]) // rw
        return rows[:, None] * n_cols + cols[None, :]

    def region_relevance(self, relevance: Any) -> np.ndarray:
        """Relevance of each region: sum over its pixels and channels, shape ``(N, n_regions)``."""
        R = self._channels_last(relevance, "relevance").astype(np.float64).sum(-1)
        ids = self.region_ids(R.shape[1:3]).ravel()
        n_regions = int(np.prod(self.grid_shape(R.shape[1:3])))
        return np.stack([np.bincount(ids, weights=r.ravel(), minlength=n_regions) for r in R])

    def region_order(
        self,
        relevance: Any,
        order: str = "morf",
        random_state: Any = None,
        n_samples: int | None = None,
        image_shape: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """Regions sorted for perturbation, shape ``(N, n_regions)``.

        ``"morf"``: most relevant first; ``"lerf"``: least relevant first; ``"random"``:
        a random permutation per sample (``relevance`` may then be None if ``n_samples``
        and ``image_shape`` are given). Ties keep the row-by-row region order.
        """
        if order not in _ORDERS:
            raise ValueError(f"Unknown order {order!r}; choose one of {_ORDERS}.")
        if order == "random":
            if relevance is not None:
                shape = self._channels_last(relevance, "relevance").shape
                n_samples, image_shape = shape[0], shape[1:3]
            if n_samples is None or image_shape is None:
                raise ValueError("A random order needs relevance or n_samples and image_shape.")
            rng = np.random.default_rng(random_state)
            n_regions = int(np.prod(self.grid_shape(image_shape)))
            return np.stack([rng.permutation(n_regions) for _ in range(n_samples)])
        scores = self.region_relevance(relevance)
        return np.argsort(-scores if order == "morf" else scores, axis=1, kind="stable")

    # -- perturbing ----------------------------------------------------------------------
    def replacement(self, x: Any, random_state: Any = None) -> np.ndarray:
        """What a perturbed pixel becomes, for every pixel of ``x`` (same layout as ``x``)."""
        xl = self._channels_last(x, "x").astype(np.float64)
        f = self.perturbation_function
        if f == "zero":
            out = np.zeros_like(xl)
        elif f == "mean":
            ids = self.region_ids(xl.shape[1:3]).ravel()
            n_regions = int(np.prod(self.grid_shape(xl.shape[1:3])))
            counts = np.bincount(ids, minlength=n_regions)
            out = np.empty_like(xl)
            flat = xl.reshape(len(xl), -1, xl.shape[-1])
            for i in range(len(xl)):
                for c in range(xl.shape[-1]):
                    means = np.bincount(ids, weights=flat[i, :, c], minlength=n_regions) / counts
                    out[i, ..., c] = means[ids].reshape(xl.shape[1:3])
        elif f == "uniform":
            rng = np.random.default_rng(random_state)
            if self.value_range is not None:
                low = np.full((len(xl), 1, 1, 1), self.value_range[0])
                high = np.full((len(xl), 1, 1, 1), self.value_range[1])
            else:
                low = xl.reshape(len(xl), -1).min(1).reshape(-1, 1, 1, 1)
                high = xl.reshape(len(xl), -1).max(1).reshape(-1, 1, 1, 1)
            out = low + (high - low) * rng.uniform(size=xl.shape)
        elif f == "blur":
            from scipy.ndimage import gaussian_filter

            out = gaussian_filter(
                xl, sigma=(0, self.blur_sigma, self.blur_sigma, 0), mode="reflect"
            )
        elif callable(f):
            out = np.asarray(f(xl.copy()), dtype=np.float64)
            if out.shape != xl.shape:
                raise ValueError(
                    f"The perturbation callable returned shape {out.shape}; expected {xl.shape}."
                )
        else:
            out = np.full_like(xl, float(f))
        return np.moveaxis(out, -1, self.channel_axis).astype(np.asarray(x).dtype, copy=False)

    def perturb(
        self, x: Any, regions: Any, replacement: Any = None, random_state: Any = None
    ) -> np.ndarray:
        """Returns a copy of ``x`` with the given regions perturbed.

        Parameters
        ----------
        x : array (N, H, W, C)
            Inputs.
        regions : int array (N, k)
            Region indices to perturb, per sample, in ``[0, n_regions)`` (row by row; see
            :meth:`region_ids`); others raise ``IndexError``.
        replacement : array like ``x``, optional
            Precomputed :meth:`replacement` (reuse it across cumulative steps).
        random_state : int or Generator, optional
            Seed of the uniform noise when ``replacement`` is None.
        """
        x = np.asarray(x)
        if replacement is None:
            replacement = self.replacement(x, random_state=random_state)
        xl = np.moveaxis(x, self.channel_axis, -1)
        rl = np.moveaxis(np.asarray(replacement), self.channel_axis, -1)
        if rl.shape != xl.shape:
            raise ValueError(
                f"replacement has shape {np.shape(replacement)}; it must be shaped like x {x.shape}."
            )
        ids = self.region_ids(xl.shape[1:3])
        n_regions = int(np.prod(self.grid_shape(xl.shape[1:3])))
        regions = np.asarray(regions)
        if regions.size and not np.issubdtype(regions.dtype, np.integer):
            raise TypeError(f"regions must be integer region indices, got dtype {regions.dtype}.")
        if regions.size % max(len(x), 1):
            raise ValueError(
                f"regions has {regions.size} entries for {len(x)} samples; give the same number of "
                "region indices per sample, shape (N, k)."
            )
        regions = regions.reshape(len(x), -1)
        if regions.size and (regions.min() < 0 or regions.max() >= n_regions):
            bad = regions[(regions < 0) | (regions >= n_regions)][0]
            raise IndexError(
                f"Region index {bad} is out of range: a {tuple(xl.shape[1:3])} image with region_shape "
                f"{self.region_shape} has {n_regions} regions, valid indices are [0, {n_regions})."
            )
        mask = np.stack([np.isin(ids, regions[i]) for i in range(len(x))])[..., None]
        out = np.where(mask, rl, xl).astype(x.dtype, copy=False)
        return np.moveaxis(out, -1, self.channel_axis)


@dataclass
class PerturbationResult:
    """Result of :meth:`PerturbationAnalysis.compute`.

    Attributes
    ----------
    order : str
        "morf", "lerf" or "random".
    scores : numpy.ndarray, shape (N, steps + 1)
        Selected output of each sample after 0..steps perturbation steps.
    n_perturbed_regions : numpy.ndarray, shape (steps + 1,)
        Regions perturbed at each step.
    aopc : float
        Area over the perturbation curve.
    """

    order: str
    scores: np.ndarray
    n_perturbed_regions: np.ndarray
    aopc: float = field(init=False)

    def __post_init__(self) -> None:
        self.aopc = aopc(self.scores)

    @property
    def curve(self) -> np.ndarray:
        """Mean score over samples per step, shape ``(steps + 1,)``."""
        return self.scores.mean(axis=0)

    @property
    def aopc_curve(self) -> np.ndarray:
        """Running AOPC after ``k`` steps: ``mean_{j<=k} <f(x0) - f(xj)>``."""
        drop = (self.scores[:, :1] - self.scores).mean(axis=0)
        return np.cumsum(drop) / np.arange(1, len(drop) + 1)


class PerturbationAnalysis:
    """Perturbation analysis of an explanation method over a data set, in batches.

    Parameters
    ----------
    analyze_fn : callable or analyzer
        ``analyze_fn(x)`` / ``analyze_fn(x, neuron_selection=idx)`` returning relevance
        shaped like ``x``; an object with an ``analyze`` method is used through it.
        Not called for ``order="random"``.
    model_fn : callable
        Maps a batch to the network's outputs ``(N, n_outputs)``, e.g. a Keras model
        without softmax (called as ``model_fn(x)``).
    perturbation : Perturbation
        Regions and perturbation function.
    steps : int, default=10
        Number of perturbation steps ``L``.
    regions_per_step : int, default=1
        Regions perturbed in each step.
    batch_size : int, default=32
        Batch size for array data.
    progress : bool, default=True
        Show a tqdm progress bar over the batches.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> model = lambda x: (x * w).reshape(len(x), -1).sum(1, keepdims=True)
    >>> explain = lambda x: x * w                      # exact relevance of a linear model
    >>> pa = PerturbationAnalysis(explain, model, Perturbation("zero", (2, 2)), steps=4,
    ...                           progress=False)
    >>> pa.compute(np.ones((1, 4, 4, 1))).curve.tolist()
    [120.0, 70.0, 28.0, 10.0, 0.0]
    """

    def __init__(
        self,
        analyze_fn: Any,
        model_fn: Callable[[np.ndarray], Any],
        perturbation: Perturbation,
        steps: int = 10,
        regions_per_step: int = 1,
        batch_size: int = 32,
        progress: bool = True,
    ) -> None:
        if not isinstance(perturbation, Perturbation):
            raise TypeError("perturbation must be an innvestigate.tools.perturbation.Perturbation.")
        for name, value in (("steps", steps), ("regions_per_step", regions_per_step)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not callable(model_fn):
            raise TypeError("model_fn must be callable (a Keras model or function).")
        self.analyze_fn = analyze_fn.analyze if hasattr(analyze_fn, "analyze") else analyze_fn
        self.model_fn = model_fn
        self.perturbation = perturbation
        self.steps = int(steps)
        self.regions_per_step = int(regions_per_step)
        self.batch_size = batch_size
        self.progress = progress

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        out = _to_numpy(self.model_fn(x))
        if isinstance(out, list):
            raise ValueError("model_fn returned several outputs; give a function of one output.")
        return np.asarray(out, dtype=np.float64).reshape(len(x), -1)

    def compute(
        self,
        data: Any,
        order: str = "morf",
        neuron_selection: Any = None,
        random_state: Any = None,
    ) -> PerturbationResult:
        """Runs the analysis over ``data`` and returns scores per sample and step.

        Parameters
        ----------
        data : array, generator, tf.data.Dataset, ...
            Batches of images, ``x`` or ``(x, y)`` (see ``innvestigate.utils.batching``).
        order : {"morf", "lerf", "random"}, default="morf"
            Region order.
        neuron_selection : None, int, array of int or "targets"
            The output followed: None = each sample's highest output on the clean input
            (and the analyzer's default, max activation), an int, one index per sample, or
            ``"targets"`` = the labels of ``(x, y)`` batches. When given, it is passed on
            to ``analyze_fn`` as ``neuron_selection``.
        random_state : int, optional
            Seed of the random order and of uniform noise.

        Returns
        -------
        PerturbationResult
        """
        if order not in _ORDERS:
            raise ValueError(f"Unknown order {order!r}; choose one of {_ORDERS}.")
        rng = np.random.default_rng(random_state)
        all_scores = []
        offset = 0
        total = count_batches(data, self.batch_size)
        batches = iterate_batches(data, self.batch_size, return_targets=True)
        n_regions = None
        for x, y in tqdm(
            batches,
            total=total,
            disable=not self.progress,
            desc=f"perturbation ({order})",
            unit="batch",
        ):
            if isinstance(x, list):
                raise ValueError("Perturbation analysis needs single-input image batches.")
            x = np.asarray(x)
            n = len(x)
            clean = self._outputs(x)
            if neuron_selection is None:
                target = np.argmax(clean, axis=1)
                kwargs: dict[str, Any] = {}
            else:
                if isinstance(neuron_selection, str):
                    if neuron_selection != "targets":
                        raise ValueError("neuron_selection must be None, int, ints or 'targets'.")
                    if y is None:
                        raise ValueError("neuron_selection='targets' needs (x, y) batches.")
                    y = np.asarray(y)
                    target = np.argmax(y, 1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)
                elif np.ndim(neuron_selection) == 0:
                    target = np.full(n, int(neuron_selection))
                else:
                    target = np.asarray(neuron_selection).reshape(-1)[offset : offset + n]
                    if len(target) != n:
                        raise ValueError(
                            "neuron_selection has fewer entries than the data has samples."
                        )
                target = target.astype(np.int64)
                kwargs = {"neuron_selection": target}
            if target.size and (target.min() < 0 or target.max() >= clean.shape[1]):
                bad = target[(target < 0) | (target >= clean.shape[1])][0]
                raise IndexError(
                    f"neuron_selection {bad} is out of range: model_fn has {clean.shape[1]} outputs, valid "
                    f"indices are [0, {clean.shape[1]})."
                )
            image_shape = np.moveaxis(x, self.perturbation.channel_axis, -1).shape[1:3]
            n_regions = int(np.prod(self.perturbation.grid_shape(image_shape)))
            if self.steps * self.regions_per_step > n_regions:
                raise ValueError(
                    f"steps * regions_per_step = {self.steps * self.regions_per_step} exceeds the "
                    f"{n_regions} regions of a {image_shape} image with region_shape "
                    f"{self.perturbation.region_shape}."
                )
            if order == "random":
                ranking = self.perturbation.region_order(
                    None, "random", random_state=rng, n_samples=n, image_shape=image_shape
                )
            else:
                relevance = _to_numpy(self.analyze_fn(x, **kwargs))
                ranking = self.perturbation.region_order(relevance, order)
            replacement = self.perturbation.replacement(x, random_state=rng)
            scores = np.empty((n, self.steps + 1))
            rows = np.arange(n)
            scores[:, 0] = clean[rows, target]
            for k in range(1, self.steps + 1):
                chosen = ranking[:, : k * self.regions_per_step]
                perturbed = self.perturbation.perturb(x, chosen, replacement=replacement)
                scores[:, k] = self._outputs(perturbed)[rows, target]
            all_scores.append(scores)
            offset += n
        if not all_scores:
            raise ValueError("The data yielded no batch; nothing to analyze.")
        return PerturbationResult(
            order=order,
            scores=np.concatenate(all_scores),
            n_perturbed_regions=np.arange(self.steps + 1) * self.regions_per_step,
        )


def plot_perturbation_curves(
    results: dict[str, PerturbationResult],
    file_name: str | os.PathLike | None = None,
    title: str = "",
) -> Any:
    """Plots mean score against perturbed regions, one line per method/order, AOPC in the legend.

    Parameters
    ----------
    results : dict of name -> PerturbationResult
        E.g. ``{"LRP-Z (MoRF)": r1, "random": r2}``.
    file_name : path, optional
        PNG to write (atomically).
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> r = PerturbationResult("random", np.array([[2.0, 1.0, 0.5]]), np.arange(3))
    >>> fig = plot_perturbation_curves({"random": r})
    """
    import matplotlib.pyplot as plt

    from innvestigate.utils.visualizations import _atomic_savefig

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, result in results.items():
        ax.plot(
            result.n_perturbed_regions,
            result.curve,
            marker="o",
            ms=3,
            label=f"{name} (AOPC {result.aopc:.3g})",
        )
    ax.set_xlabel("perturbed regions")
    ax.set_ylabel("mean output of the selected neuron")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if file_name is not None:
        _atomic_savefig(fig, file_name, dpi=150)
    return fig
