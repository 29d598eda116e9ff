"""Prediction-based analyzers: occlusion and LIME (thesis Appendix 2.1)."""

from __future__ import annotations

import itertools

import keras
import numpy as np

from innvestigate import backend
from innvestigate.analyzer.base import AnalyzerBase
from innvestigate.engine.graph import build_graph

__all__ = ["Occlusion", "Lime"]


class _PredictionBased(AnalyzerBase):
    # Token ids are occluded / perturbed as ids (replaced by ``reference_value``, e.g. a
    # padding id), not at their embeddings.
    _explains_embeddings = False

    def __init__(
        self, model, batch_size: int = 64, neuron_selection_mode="max_activation", output_index=None
    ):
        super().__init__(model, neuron_selection_mode, output_index)
        if neuron_selection_mode == "all":
            raise ValueError(
                f"{type(self).__name__} explains one output neuron; use 'max_activation' or 'index'."
            )
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self._batch_size = int(batch_size)
        self._graph = build_graph(model, output_index)
        self._check_softmax(self._graph)
        if self._n_inputs != 1:
            raise ValueError(f"{type(self).__name__} supports models with one input.")

    def _outputs(self, x):
        """Model outputs (flattened per sample) for a stack of inputs, in chunks."""
        to_np = backend.get().to_numpy
        parts = []
        for start in range(0, x.shape[0], self._batch_size):
            y = np.asarray(to_np(self._model_output([x[start : start + self._batch_size]])))
            parts.append(y.reshape(y.shape[0], -1))
        return np.concatenate(parts, axis=0)

    def _selected(self, x, indices):
        y = self._outputs(x)
        if self._neuron_selection_mode == "max_activation":
            indices = np.argmax(y, axis=1)
        return y[np.arange(len(y)), indices], indices


class Occlusion(_PredictionBased):
    """Occlusion (Zeiler & Fergus, 2014; Appendix 2.1): each patch gets ``f(x) − f(x with
    the patch replaced by the reference value)``; overlapping patches are averaged.

    Parameters
    ----------
    model : keras.Model
    patch_size : int or tuple
        Patch extent along each spatial axis (all axes but batch and channels; for
        vector inputs the feature axis).
    strides : int or tuple, optional
        Step between patches (default: the patch size, i.e. a grid of disjoint patches).
    reference_value : float or array
        What an occluded region is set to (broadcast to one sample).
    batch_size : int
        Occluded copies evaluated per model call.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("occlusion", model, patch_size=2)
    >>> a.analyze(np.ones((1, 4, 4, 1), "float32")).shape
    (1, 4, 4, 1)
    """

    def __init__(
        self, model, patch_size=8, strides=None, reference_value=0.0, batch_size: int = 64, **kwargs
    ):
        super().__init__(model, batch_size=batch_size, **kwargs)
        input_shape = tuple(self._model.inputs[0].shape[1:])
        self._spatial = input_shape if len(input_shape) == 1 else input_shape[:-1]
        self._patch = self._per_axis(patch_size, "patch_size")
        self._strides = self._per_axis(strides if strides is not None else patch_size, "strides")
        self._reference = reference_value
        self._store(
            patch_size=list(self._patch),
            strides=list(self._strides),
            reference_value=np.asarray(reference_value)
            if np.ndim(reference_value)
            else float(reference_value),
            batch_size=self._batch_size,
        )

    def _per_axis(self, value, name):
        values = (value,) * len(self._spatial) if np.ndim(value) == 0 else tuple(value)
        if len(values) != len(self._spatial) or any(int(v) < 1 for v in values):
            raise ValueError(
                f"{name} must be a positive int or one per spatial axis ({len(self._spatial)}); got {value!r}."
            )
        return tuple(int(v) for v in values)

    def _regions(self):
        starts = [
            list(range(0, max(size - p, 0) + 1, s))
            + ([size - p] if (size - p) % s and size > p else [])
            for size, p, s in zip(self._spatial, self._patch, self._strides)
        ]
        for corner in itertools.product(*starts):
            yield tuple(
                slice(c, min(c + p, size)) for c, p, size in zip(corner, self._patch, self._spatial)
            )

    def _analyze_batch(self, xs, indices):
        x = xs[0]
        reference = np.broadcast_to(np.asarray(self._reference, dtype=x.dtype), x.shape[1:])
        base, indices = self._selected(x, indices)
        relevance = np.zeros(x.shape, dtype=np.float64)
        counts = np.zeros(x.shape[1:], dtype=np.float64)
        regions = list(self._regions())
        for region in regions:
            counts[region] += 1
        for i in range(x.shape[0]):
            occluded = np.repeat(x[i : i + 1], len(regions), axis=0)
            for k, region in enumerate(regions):
                occluded[(k,) + region] = reference[region]
            y = self._outputs(occluded)[:, indices[i]]
            for k, region in enumerate(regions):
                relevance[(i,) + region] += base[i] - y[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            relevance = np.where(counts > 0, relevance / np.maximum(counts, 1), 0.0)
        out_dtype = (
            x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(keras.backend.floatx())
        )
        return [relevance.astype(out_dtype)]


class Lime(_PredictionBased):
    """LIME for images (Ribeiro et al., 2016; Appendix 2.1).

    Each image is cut into segments (scikit-image); random on/off masks of the segments
    give perturbed images (switched-off segments set to the reference value); a ridge
    regression weighted by ``sqrt(exp(−d²/kernel_width²))`` of the cosine distance ``d``
    to the unperturbed image maps the masks to the model output, and each segment gets
    its regression coefficient.

    Parameters
    ----------
    model : keras.Model
        With image inputs (batch, height, width, channels).
    segmentation : {"slic", "quickshift", "felzenszwalb"} or callable
        A callable gets one image and returns an integer label image.
    segmentation_params : dict, optional
        Passed to the scikit-image function.
    n_samples : int
        Number of perturbed images.
    kernel_width : float
    reference_value : float
    random_state : int, optional

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("lime", model, n_samples=50, random_state=0)
    >>> a.analyze(np.random.default_rng(0).random((1, 8, 8, 3)).astype("float32")).shape
    (1, 8, 8, 3)
    """

    def __init__(
        self,
        model,
        segmentation="slic",
        segmentation_params=None,
        n_samples: int = 1000,
        kernel_width: float = 0.25,
        reference_value: float = 0.0,
        ridge_alpha: float = 1.0,
        random_state=None,
        batch_size: int = 64,
        **kwargs,
    ):
        super().__init__(model, batch_size=batch_size, **kwargs)
        if len(self._model.inputs[0].shape) != 4:
            raise ValueError(
                "LIME here explains images: the model input must be (batch, height, width, channels)."
            )
        if not callable(segmentation) and segmentation not in (
            "slic",
            "quickshift",
            "felzenszwalb",
        ):
            raise ValueError(
                f"segmentation={segmentation!r} must be 'slic', 'quickshift', 'felzenszwalb' or a callable."
            )
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
            raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}.")
        if not kernel_width > 0:
            raise ValueError(f"kernel_width must be > 0, got {kernel_width!r}.")
        self._segmentation = segmentation
        self._segmentation_params = dict(segmentation_params or {})
        self._n_samples = int(n_samples)
        self._kernel_width = float(kernel_width)
        self._reference = float(reference_value)
        self._ridge_alpha = float(ridge_alpha)
        self._rng = np.random.default_rng(random_state)
        self._store(
            segmentation=segmentation if isinstance(segmentation, str) else None,
            segmentation_params=self._segmentation_params,
            n_samples=self._n_samples,
            kernel_width=self._kernel_width,
            reference_value=self._reference,
            ridge_alpha=self._ridge_alpha,
            random_state=random_state,
            batch_size=self._batch_size,
        )

    def segments(self, image):
        """Integer segment labels 0..n-1 for one image (height, width, channels)."""
        import skimage.segmentation as seg

        if callable(self._segmentation):
            labels = np.asarray(self._segmentation(image))
        else:
            img = image.astype(np.float64)
            span = img.max() - img.min()
            img = (img - img.min()) / span if span > 0 else np.zeros_like(img)
            if self._segmentation == "slic":
                params = {
                    "n_segments": 50,
                    "compactness": 10.0,
                    "start_label": 0,
                    **self._segmentation_params,
                }
                labels = seg.slic(img, channel_axis=-1, **params)
            elif self._segmentation == "quickshift":
                if img.shape[-1] != 3:
                    raise ValueError("quickshift segmentation needs RGB images (3 channels).")
                params = {
                    "kernel_size": 4,
                    "max_dist": 200,
                    "ratio": 0.2,
                    **self._segmentation_params,
                }
                labels = seg.quickshift(img, **params)
            else:
                labels = seg.felzenszwalb(img, channel_axis=-1, **self._segmentation_params)
        if labels.shape != image.shape[:2]:
            raise ValueError(
                f"Segmentation returned shape {labels.shape}, expected {image.shape[:2]}."
            )
        _, labels = np.unique(labels, return_inverse=True)
        return labels.reshape(image.shape[:2])

    def _analyze_batch(self, xs, indices):
        from sklearn.linear_model import Ridge
        from sklearn.metrics import pairwise_distances

        x = xs[0]
        _, indices = self._selected(x, indices)
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            labels = self.segments(x[i])
            n_segments = int(labels.max()) + 1
            features = self._rng.integers(0, 2, size=(self._n_samples, n_segments))
            features[0, :] = 1  # the unperturbed image is part of the data set
            keep = features[:, labels]  # (n_samples, height, width)
            perturbed = np.where(
                keep[..., None] == 1, x[i][None], np.asarray(self._reference, dtype=x.dtype)
            )
            targets = self._outputs(perturbed.astype(x.dtype))[:, indices[i]]
            distances = pairwise_distances(features, features[:1], metric="cosine").ravel()
            weights = np.sqrt(np.exp(-(distances**2) / self._kernel_width**2))
            regressor = Ridge(alpha=self._ridge_alpha, fit_intercept=True)
            regressor.fit(features, targets, sample_weight=weights)
            out[i] = regressor.coef_[labels][..., None].astype(x.dtype)
        return [out]
