"""Gradient-based analyzers: gradient, input × gradient, Deconvnet, Guided Backprop,
Integrated Gradients (Eq. A.2) and SmoothGrad."""

from __future__ import annotations

import numpy as np
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.base import AnalyzerBase, ReverseAnalyzerBase
from innvestigate.engine import checks
from innvestigate.engine.graph import build_graph

__all__ = [
    "Gradient",
    "BaselineGradient",
    "InputTimesGradient",
    "Deconvnet",
    "GuidedBackprop",
    "IntegratedGradients",
    "SmoothGrad",
]

_POSTPROCESS = (None, "abs", "square")


def _check_postprocess(postprocess):
    if postprocess not in _POSTPROCESS:
        raise ValueError(f"postprocess={postprocess!r} is not one of {_POSTPROCESS}.")
    return postprocess


def _apply_postprocess(postprocess, x):
    if postprocess == "abs":
        return ops.abs(x)
    if postprocess == "square":
        return ops.square(x)
    return x


class Gradient(ReverseAnalyzerBase):
    """The gradient of the selected output with respect to the input (Simonyan et al., 2014).

    Parameters
    ----------
    model : keras.Model
    postprocess : {None, "abs", "square"}
        Applied to the gradient.
    neuron_selection_mode, output_index : see :class:`~innvestigate.analyzer.base.AnalyzerBase`

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.layers[0].set_weights([np.array([[2.0], [-1.0]])])
    >>> innvestigate.create_analyzer("gradient", model).analyze(np.ones((1, 2), "float32"))
    array([[ 2., -1.]], dtype=float32)
    """

    _head = "ones"
    _token_reduction = "norm"

    def __init__(self, model, postprocess=None, **kwargs):
        super().__init__(model, **kwargs)
        self._postprocess_mode = _check_postprocess(postprocess)
        self._store(postprocess=postprocess)
        self._ensure_built()

    def _postprocess(self, inputs, results):
        return [_apply_postprocess(self._postprocess_mode, r) for r in results]


class BaselineGradient(AnalyzerBase):
    """The gradient through the backend's own autodiff of the whole model, bypassing the engine.

    A reference for :class:`Gradient` (same result) and the speed anchor of the benchmarks.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> innvestigate.create_analyzer("gradient.baseline", model).analyze(np.ones((3, 2), "float32")).shape
    (3, 2)
    """

    def __init__(self, model, postprocess=None, **kwargs):
        super().__init__(model, **kwargs)
        self._postprocess_mode = _check_postprocess(postprocess)
        self._store(postprocess=postprocess)
        self._graph = build_graph(model, self._output_index)
        self._check_softmax(self._graph)

    _token_reduction = "norm"

    def _analyze_batch(self, xs, indices):
        graph = self._graph

        def fn(inputs, indices):
            inputs, side = graph.embed(list(inputs))

            def forward(*a):
                values, _ = graph.forward(list(a), side=side)
                return [values[graph.output_key]]

            y, vjp = backend.get().forward_with_vjp(forward, list(inputs))
            grads = vjp([self._head_mask(y[0], indices)])
            return [_apply_postprocess(self._postprocess_mode, g) for g in grads]

        return self._compiled_function("baseline", fn)(list(xs), indices)


class InputTimesGradient(Gradient):
    """Input × gradient (Eq. A.1; Shrikumar et al., 2017; Kindermans et al., 2016).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    >>> model.layers[0].set_weights([np.array([[2.0], [-1.0]])])
    >>> innvestigate.create_analyzer("input_t_gradient", model).analyze(np.array([[3.0, 1.0]], "float32"))
    array([[ 6., -1.]], dtype=float32)
    """

    _token_reduction = "sum"

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self._params.pop("postprocess", None)

    def _postprocess(self, inputs, results):
        return [x * r for x, r in zip(inputs, results)]


def _deconvnet_mapping(inputs, outputs, reversed_outputs, state):
    # Zeiler & Fergus (2014): a ReLU on the backward signal, ignoring the forward pass.
    return [ops.relu(r) for r in reversed_outputs]


def _guided_backprop_mapping(inputs, outputs, reversed_outputs, state):
    # Springenberg et al. (2015): the gradient of the ReLU applied to the rectified signal.
    return state.gradient([ops.relu(r) for r in reversed_outputs])


class Deconvnet(ReverseAnalyzerBase):
    """Deconvnet (Zeiler & Fergus, 2014): back-propagation where each ReLU is replaced by a
    ReLU of the backward signal.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> innvestigate.create_analyzer("deconvnet", model).analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    _head = "ones"
    _token_reduction = "norm"

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self._ensure_built()

    def _conditional_mappings(self):
        return [(lambda layer: checks.is_relu(layer), _deconvnet_mapping)]


class GuidedBackprop(ReverseAnalyzerBase):
    """Guided Backprop (Springenberg et al., 2015): at each ReLU, the gradient of the
    rectified backward signal (thesis §3.2.2).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> innvestigate.create_analyzer("guided_backprop", model).analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    _head = "ones"
    _token_reduction = "norm"

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self._ensure_built()

    def _conditional_mappings(self):
        return [(lambda layer: checks.is_relu(layer), _guided_backprop_mapping)]


def _broadcast_reference(reference, x, name="reference_inputs"):
    ref = np.asarray(reference, dtype=x.dtype)
    try:
        return np.broadcast_to(ref, x.shape)
    except ValueError as err:
        raise ValueError(
            f"{name} of shape {ref.shape} cannot be broadcast to the input shape {x.shape}."
        ) from err


class _GradientWrapper(AnalyzerBase):
    """Analyzers that average gradients over modified inputs."""

    def __init__(
        self, model, neuron_selection_mode="max_activation", output_index=None, batch_size: int = 64
    ):
        super().__init__(model, neuron_selection_mode, output_index)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self._batch_size = int(batch_size)
        self._gradient = Gradient(model, neuron_selection_mode="index", output_index=output_index)

    def _embedding_graph(self):
        return self._gradient._graph

    def _selected(self, xs, indices):
        if self._neuron_selection_mode == "max_activation":
            y = np.asarray(backend.get().to_numpy(self._model_output(xs)))
            return np.argmax(y.reshape(y.shape[0], -1), axis=1).astype("int32")
        return indices

    def _analyze_batch(self, xs, indices):
        indices = self._selected(xs, indices)
        inputs, side = self._gradient._embed(xs)
        return self._analyze_inputs(inputs, side, indices)

    def _analyze_inputs(self, xs, side, indices):  # pragma: no cover - interface
        """The analysis from the analysis inputs ``xs`` (embeddings for token ids)."""
        raise NotImplementedError

    def _gradient_at(self, xs, side, indices):
        if self._neuron_selection_mode == "all":
            self._gradient._neuron_selection_mode = "all"
        grads = self._gradient._analyze_embedded(xs, side, indices)
        return [np.asarray(backend.get().to_numpy(g)) for g in grads]

    def _gradients_of_copies(self, copies, side, indices, n_copies):
        """Gradients at ``n_copies`` modified copies of the batch (each a list like ``xs``),
        stacked into calls of at most ``batch_size`` samples instead of one call per copy."""
        n = copies[0].shape[1]
        flat = [c.reshape((n_copies * n,) + c.shape[2:]) for c in copies]
        # Side values (padding masks, ...) are per sample: tiled like the copies.
        flat_side = [np.tile(v, (n_copies,) + (1,) * (v.ndim - 1)) for v in side]
        tiled = np.tile(indices, n_copies)
        per_call = max(n, (self._batch_size // n) * n)
        parts = []
        for start in range(0, n_copies * n, per_call):
            part = slice(start, start + per_call)
            parts.append(
                self._gradient_at(
                    [f[part] for f in flat], [v[part] for v in flat_side], tiled[part]
                )
            )
        grads = [np.concatenate([p[i] for p in parts]) for i in range(len(flat))]
        return [g.reshape(c.shape) for g, c in zip(grads, copies)]


class IntegratedGradients(_GradientWrapper):
    """Integrated Gradients (Sundararajan et al., 2017; Eq. A.2).

    The path integral is approximated with the midpoint rule over ``steps`` intervals,
    whose error falls as ``steps⁻²`` for smooth models: ``(x − x′) · (1/m) Σₖ ∇f(x′ +
    (k − ½)/m (x − x′))``. The explained neuron is chosen at ``x``.

    Parameters
    ----------
    model : keras.Model
    reference_inputs : float or array
        The reference ``x′`` (broadcast to the input shape), default 0.
    steps : int
        Number of gradient evaluations along the path.
    batch_size : int
        Path points evaluated per gradient call (the points of all samples are stacked).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> a = innvestigate.create_analyzer("integrated_gradients", model, steps=8)
    >>> a.analyze(np.ones((1, 2), "float32")).shape
    (1, 2)
    """

    def __init__(self, model, reference_inputs=0.0, steps: int = 64, **kwargs):
        super().__init__(model, **kwargs)
        if not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}.")
        self._reference = reference_inputs
        self._steps = int(steps)
        ref = reference_inputs
        self._store(
            reference_inputs=np.asarray(ref)
            if np.ndim(ref) > 0
            else float(ref)
            if not isinstance(ref, list)
            else np.asarray(ref),
            steps=self._steps,
            batch_size=self._batch_size,
        )

    def _analyze_inputs(self, xs, side, indices):
        refs = (
            self._reference
            if isinstance(self._reference, (list, tuple)) and self._n_inputs > 1
            else [self._reference] * len(xs)
        )
        refs = [_broadcast_reference(r, x) for r, x in zip(refs, xs)]
        alphas = (np.arange(self._steps) + 0.5) / self._steps
        copies = [
            (r[None] + alphas.reshape((-1,) + (1,) * x.ndim) * (x - r)[None]).astype(x.dtype)
            for r, x in zip(refs, xs)
        ]
        grads = self._gradients_of_copies(copies, side, indices, self._steps)
        return [(x - r) * g.sum(0) / self._steps for x, r, g in zip(xs, refs, grads)]


class SmoothGrad(_GradientWrapper):
    """SmoothGrad (Smilkov et al., 2017): gradients averaged over noisy copies of the input.

    Parameters
    ----------
    model : keras.Model
    augment_by_n : int
        Number of noisy copies.
    noise_scale : float
        Standard deviation of the Gaussian noise, in input units.
    postprocess : {None, "abs", "square"}
        Applied to each gradient before averaging.
    random_state : int, optional
        Seed of the noise.
    batch_size : int
        Noisy copies evaluated per gradient call.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> a = innvestigate.create_analyzer("smoothgrad", model, augment_by_n=4, noise_scale=0.1)
    >>> a.analyze(np.ones((1, 2), "float32")).shape
    (1, 2)
    """

    def __init__(
        self,
        model,
        augment_by_n: int = 64,
        noise_scale: float = 1.0,
        postprocess=None,
        random_state=None,
        **kwargs,
    ):
        super().__init__(model, **kwargs)
        if not isinstance(augment_by_n, (int, np.integer)) or augment_by_n < 1:
            raise ValueError(f"augment_by_n must be a positive int, got {augment_by_n!r}.")
        if not np.isfinite(noise_scale) or noise_scale < 0:
            raise ValueError(f"noise_scale must be a finite number >= 0, got {noise_scale!r}.")
        self._augment_by_n = int(augment_by_n)
        self._noise_scale = float(noise_scale)
        self._postprocess_mode = _check_postprocess(postprocess)
        self._rng = np.random.default_rng(random_state)
        self._store(
            augment_by_n=self._augment_by_n,
            noise_scale=self._noise_scale,
            postprocess=postprocess,
            random_state=random_state,
            batch_size=self._batch_size,
        )

    _token_reduction = "norm"

    def _analyze_inputs(self, xs, side, indices):
        m = self._augment_by_n
        if len(xs) == 1:
            # One draw of shape (m, n, ...) equals m draws of shape (n, ...) in sequence.
            noisy = [
                xs[0][None]
                + self._rng.normal(0.0, self._noise_scale, size=(m,) + xs[0].shape).astype(
                    xs[0].dtype
                )
            ]
        else:
            draws = [
                [self._rng.normal(0.0, self._noise_scale, size=x.shape) for x in xs]
                for _ in range(m)
            ]
            noisy = [np.stack([x + d[i] for d in draws]).astype(x.dtype) for i, x in enumerate(xs)]
        grads = self._gradients_of_copies(noisy, side, indices, m)
        if self._postprocess_mode == "abs":
            grads = [np.abs(g) for g in grads]
        elif self._postprocess_mode == "square":
            grads = [np.square(g) for g in grads]
        return [g.mean(0) for g in grads]
