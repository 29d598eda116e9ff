"""PatternNet and PatternAttribution (Kindermans et al., 2018; thesis §3.2.2, Appendix 2.2).

Both learn, for each neuron of each Dense/Conv layer, a signal direction (a *pattern*)
from data. PatternNet back-propagates the signal with the patterns in place of the
weights; PatternAttribution with the weights multiplied element-wise by the patterns
(Eq. V.2). Two estimators: ``"linear"`` ``a = cov[x, y] / (wᵀ cov[x, y])`` and
``"relu"`` (two-component), the same with statistics over the samples where ``y > 0``.
"""

from __future__ import annotations

import numpy as np
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.base import ReverseAnalyzerBase
from innvestigate.engine import checks

__all__ = ["PatternNet", "PatternAttribution", "PATTERN_TYPES"]

PATTERN_TYPES = ("linear", "relu")

import keras  # noqa: E402

_PATTERN_LAYERS = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
)


def _kernel_correlation(node, x, kernel, cotangent):
    """``Σ_positions patch ⊗ cotangent``, shaped like the kernel.

    This is the gradient of ``Σ linear(x; K) ⊙ cotangent`` with respect to the kernel,
    so it is ordered like the kernel for Dense and every convolution without extracting
    patches.
    """

    def fn(k):
        return node.linear([x], kernels=[k], use_bias=False)

    return backend.get().vjp(fn, [kernel], [cotangent])[0]


class _Moments:
    """Per-neuron count, means and centred co-moments of (patch, output), in float64.

    Built from one batch's sums (``n``, ``Σx``, ``Σy``, ``Σ x(y − ȳ)``, ``Σ(y − ȳ)²``,
    ``Σ(y − ȳ)``) and merged over batches with the pairwise update of Chan, Golub &
    LeVeque (1979), so the result equals the statistics of the concatenated data.
    """

    def __init__(self, n, sum_x, sum_y, c_xy, c_yy, sum_yc):
        self.n = n
        safe = np.maximum(n, 1.0)
        self.mean_x = sum_x.reshape(-1, n.shape[-1]) / safe
        self.mean_y = sum_y / safe
        # Σ x (y − ȳ) = Σ (x − x̄)(y − ȳ) + x̄ Σ (y − ȳ): remove the round-off of the last sum.
        self.c_xy = c_xy.reshape(self.mean_x.shape) - self.mean_x * sum_yc
        self.c_yy = c_yy

    def merge(self, other):
        n = self.n + other.n
        safe = np.maximum(n, 1.0)
        w = self.n * other.n / safe  # 0 where either side has no samples
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        self.c_xy = self.c_xy + other.c_xy + dx * (dy * w)
        self.c_yy = self.c_yy + other.c_yy + dy * dy * w
        self.mean_x = self.mean_x + dx * (other.n / safe)
        self.mean_y = self.mean_y + dy * (other.n / safe)
        self.n = n
        return self


def _pattern(w, moments, eps):
    """``a = cov[x, y] / (wᵀ cov[x, y])`` per neuron (column of ``w``), 0 where undefined.

    ``wᵀ cov[x, y] = var[y]`` (the bias cancels), so the pattern is 0/0 for a neuron whose
    output does not vary over the counted samples — seen at most once, or constant. Such a
    neuron carries no signal and gets the pattern 0. "Does not vary" is judged against
    the resolution of the model's float type: a spread of y below ``64·eps·rms(y)`` is
    round-off of y itself (the statistics are summed in the model's dtype), and the
    pattern computed from it would be round-off divided by round-off: any size and sign
    (on InceptionV3 with random weights, fit on 4 images, hundreds of neurons seen once
    got such patterns, some from a negative "variance").
    """
    n = moments.n
    c_yy = moments.c_yy
    mean_sq = c_yy / np.maximum(n, 1.0) + moments.mean_y**2
    resolved = (n >= 2) & (c_yy > (64 * eps) ** 2 * mean_sq * np.maximum(n, 1.0))
    denominator = np.sum(w * moments.c_xy, axis=0)
    valid = resolved & np.isfinite(denominator) & (denominator > 0)
    a = np.zeros_like(moments.c_xy)
    a[:, valid] = moments.c_xy[:, valid] / denominator[valid]
    a[~np.isfinite(a)] = 0.0
    return a


class PatternNet(ReverseAnalyzerBase):
    """PatternNet: back-propagation of the signal along learned patterns.

    Parameters
    ----------
    model : keras.Model
        A ReLU network of Dense/Conv, pooling and reshaping layers.
    patterns : list of arrays, optional
        One per Dense/Conv layer (in topological order), shaped like its kernel. Otherwise
        call :meth:`fit`.
    pattern_type : {"relu", "linear"}
        The estimator used by :meth:`fit`.

    Raises
    ------
    innvestigate.SignalOverflowError
        From :meth:`analyze`, when the back-propagated signal leaves the range of the
        model's float type for finite inputs (the exact result is not representable;
        typical of patterns fit to a deep network with random weights).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("pattern.net", model)
    >>> a.fit(np.random.default_rng(0).normal(size=(64, 3)).astype("float32"))
    >>> a.analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    _head = "output"

    def __init__(
        self,
        model,
        patterns=None,
        pattern_type="relu",
        neuron_selection_mode="max_activation",
        output_index=None,
    ):
        if pattern_type not in PATTERN_TYPES:
            raise ValueError(f"pattern_type={pattern_type!r} is not one of {PATTERN_TYPES}.")
        super().__init__(model, neuron_selection_mode, output_index, fuse_batch_normalization=True)
        self._pattern_type = pattern_type
        self._store(pattern_type=pattern_type)
        self._ensure_built()
        self._kernel_nodes = [n for n in self._graph.nodes if n.has_kernel]
        self.patterns_ = None
        if patterns is not None:
            self._set_patterns(list(patterns))

    # -- patterns ---------------------------------------------------------------------------
    def _set_patterns(self, patterns):
        if len(patterns) != len(self._kernel_nodes):
            raise ValueError(
                f"Got {len(patterns)} patterns for {len(self._kernel_nodes)} Dense/Conv layers."
            )
        for p, node in zip(patterns, self._kernel_nodes):
            shape = tuple(node.kernel_variables[0].shape)
            if tuple(np.shape(p)) != shape:
                raise ValueError(
                    f"Pattern for layer {node.name} has shape {np.shape(p)}, expected {shape}."
                )
        self.patterns_ = [np.asarray(p) for p in patterns]
        self._traced_patterns = None

    def _array_state(self):
        if self.patterns_ is None:
            return {}
        return {f"pattern_{i}": p for i, p in enumerate(self.patterns_)}

    def _set_array_state(self, arrays):
        if arrays:
            self._set_patterns([arrays[f"pattern_{i}"] for i in range(len(arrays))])

    def _statistics_function(self):
        from innvestigate.analyzer.deeptaylor import feeds_relu
        from innvestigate.engine.reverse import ReverseState

        # The two-component estimator for neurons followed by a ReLU; the linear one elsewhere
        # (e.g. the output layer).
        relu_flags = [
            self._pattern_type == "relu" and feeds_relu(ReverseState(node, self._graph))
            for node in self._kernel_nodes
        ]

        def fn(inputs):
            values = self._graph.run(list(inputs))
            stats = []
            for node, relu in zip(self._kernel_nodes, relu_flags):
                x = values[node.input_keys[0]]
                z = values[node.output_keys[0]]
                kernel = node.weights()[0][0]
                mask = ops.cast(ops.greater(z, 0), z.dtype) if relu else ops.ones_like(z)
                channels = tuple(range(len(z.shape) - 1))
                n = ops.sum(mask, axis=channels)
                sum_y = ops.sum(z * mask, axis=channels)
                # Centred within the batch: Σ x (y − ȳ) = Σ (x − x̄)(y − ȳ) because the
                # centred y sums to zero over the counted samples. The raw moments
                # E[xy] − E[x]E[y] cancel catastrophically in float32 (a neuron seen once
                # would get a covariance of pure round-off, and its pattern round-off / round-off).
                mean_y = sum_y / ops.maximum(n, 1.0)
                yc = (z - mean_y) * mask
                stats.append(
                    [
                        n,  # samples (positions) per neuron
                        _kernel_correlation(node, x, kernel, mask),  # Σ x
                        sum_y,  # Σ y
                        _kernel_correlation(node, x, kernel, yc),  # Σ (x − x̄)(y − ȳ)
                        ops.sum(yc * yc, axis=channels),  # Σ (y − ȳ)²
                        ops.sum(yc, axis=channels),  # Σ (y − ȳ): 0 up to round-off
                    ]
                )
            return stats

        return fn

    def fit(self, X, batch_size: int = 32, progress: bool = False):
        """Learns the patterns from data (an array, a list of arrays, a generator or a tf.data.Dataset).

        Statistics are accumulated in float64 over all batches, so fitting over a
        generator gives the same patterns as fitting on the concatenated data.
        """
        from tqdm.auto import tqdm

        from innvestigate.utils.batching import iterate_batches

        compiled = self._compiled_function("statistics", self._statistics_function())
        to_np = backend.get().to_numpy
        totals = None
        for batch in tqdm(
            iterate_batches(X, batch_size), disable=not progress, desc="fit patterns", unit="batch"
        ):
            xs = self._as_input_list(batch)
            if xs is None:
                raise TypeError(
                    f"fit() got a batch of type {type(batch).__name__}; batches must be arrays."
                )
            stats = [
                _Moments(*(np.asarray(to_np(s), dtype=np.float64) for s in layer))
                for layer in compiled(list(xs))
            ]
            totals = stats if totals is None else [t.merge(s) for t, s in zip(totals, stats)]
        if totals is None:
            raise ValueError("fit() got no data.")
        patterns = []
        for node, moments in zip(self._kernel_nodes, totals):
            kernels, _ = node.weights()
            dtype = keras.backend.standardize_dtype(node.kernel_variables[0].dtype)
            w = np.asarray(to_np(kernels[0]), dtype=np.float64)
            a = _pattern(w.reshape(-1, w.shape[-1]), moments, np.finfo(dtype).eps)
            patterns.append(a.reshape(w.shape).astype(dtype))
        self._set_patterns(patterns)
        return None

    # -- backward pass ----------------------------------------------------------------------------
    def _filters(self, node, pattern):
        return pattern

    def _pattern_mapping(self, inputs, outputs, reversed_outputs, state):
        if self.patterns_ is None:
            raise RuntimeError("No patterns: call fit(X) or pass patterns=... first.")
        node = state.node
        # Patterns enter the compiled function as arguments (VGG16 has ~10⁸ of them; as
        # constants they would be copied into every traced program).
        pattern = self._traced_patterns[node.kernel_position]
        kernel = self._filters(node, pattern)

        def fn(a):
            return node.linear([a], kernels=[kernel], use_bias=False)

        return backend.get().vjp(fn, [inputs[0]], reversed_outputs)

    def _conditional_mappings(self):
        return [
            (lambda layer, state: state.node.has_kernel, self._pattern_mapping),
            (lambda layer, state: checks.is_relu(layer), lambda xs, ys, rs, s: s.gradient(rs)),
            (
                lambda layer, state: (
                    checks.is_max_pooling(layer)
                    or checks.is_shape_only(layer)
                    or checks.is_linear_without_kernel(layer)
                ),
                lambda xs, ys, rs, s: s.gradient(rs),
            ),
            (
                lambda layer, state: (
                    checks.is_activation_layer(layer) and checks.activation_name(layer) == "linear"
                ),
                lambda xs, ys, rs, s: s.gradient(rs),
            ),
        ]

    def _default_mapping(self):
        return None

    def _unsupported_layers(self, graph, mappings):
        bad = []
        for node, m in zip(graph.nodes, mappings):
            if m is None or (node.has_kernel and not isinstance(node.layer, _PATTERN_LAYERS)):
                bad.append(node.name)
        return (
            bad,
            "PatternNet/PatternAttribution need ReLU networks of Dense/Conv, pooling and reshaping layers",
        )

    def _analyze_batch(self, xs, indices):
        if self.patterns_ is None:
            raise RuntimeError(
                f"{type(self).__name__} has no patterns: call fit(X) or pass patterns=... first."
            )

        def fn(inputs, indices, patterns):
            self._traced_patterns = list(patterns)
            try:
                return self._postprocess(list(inputs), self._reverse(inputs, indices))
            finally:
                # The traced tensors must not outlive the trace (an eager analysis after it
                # would pick them up).
                self._traced_patterns = None

        results = self._compiled_function("reverse_with_patterns", fn)(
            list(xs), indices, list(self.patterns_)
        )
        to_np = backend.get().to_numpy
        results = [np.asarray(to_np(r)) for r in results]
        if not all(np.isfinite(r).all() for r in results) and all(np.isfinite(x).all() for x in xs):
            self._raise_overflow(xs, indices)
        return results

    def _raise_overflow(self, xs, indices):
        """Finds where the reversed signal left the float range; raises SignalOverflowError."""
        from innvestigate.exceptions import SignalOverflowError

        to_np = backend.get().to_numpy
        self._traced_patterns = [ops.convert_to_tensor(p) for p in self.patterns_]
        try:
            _, kept = self._reverse(
                [ops.convert_to_tensor(x) for x in xs],
                ops.convert_to_tensor(indices),
                keep_all=True,
            )
        finally:
            self._traced_patterns = None
        graph = self._graph
        head = float(np.abs(np.asarray(to_np(kept[graph.output_key]))).max())
        # Dense/Conv layers on the longest path from each tensor to the output.
        kernel_depth = {graph.output_key: 0}
        largest, largest_depth = head, 0
        for node in reversed(graph.nodes):
            depth = max(kernel_depth.get(k, 0) for k in node.output_keys) + int(node.has_kernel)
            for key in node.input_keys:
                kernel_depth[key] = max(kernel_depth.get(key, 0), depth)
                value = np.asarray(to_np(kept[key]))
                if not np.isfinite(value).all():
                    gain = (
                        (largest / head) ** (1.0 / largest_depth)
                        if largest_depth and head > 0
                        else float("inf")
                    )
                    dtype = keras.backend.standardize_dtype(value.dtype)
                    raise SignalOverflowError(type(self).__name__, node.name, gain, depth, dtype)
                peak = float(np.abs(value).max()) if value.size else 0.0
                if peak > largest:
                    largest, largest_depth = peak, depth
        raise FloatingPointError(  # pragma: no cover - the compiled and eager passes disagree
            f"{type(self).__name__} returned non-finite values for finite inputs, but an eager rerun "
            "of the analysis stays finite."
        )

    def _reverse(self, inputs, indices, keep_all=False):
        if getattr(self, "_traced_patterns", None) is None:
            self._traced_patterns = [ops.convert_to_tensor(p) for p in self.patterns_]
        return super()._reverse(inputs, indices, keep_all)


class PatternAttribution(PatternNet):
    """PatternAttribution: back-propagation with weights ⊙ patterns (Eq. V.2).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("pattern.attribution", model)
    >>> a.fit(np.random.default_rng(0).normal(size=(64, 3)).astype("float32"))
    >>> a.analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    def _filters(self, node, pattern):
        kernels, _ = node.weights()
        return kernels[0] * pattern
