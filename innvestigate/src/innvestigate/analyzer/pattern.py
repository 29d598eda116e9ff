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

_PATTERN_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def _kernel_correlation(node, x, kernel, cotangent):
    """``Σ_positions patch ⊗ cotangent``, shaped like the kernel.

    This is the gradient of ``Σ linear(x; K) ⊙ cotangent`` with respect to the kernel,
    so it is ordered like the kernel for Dense and every convolution without extracting
    patches.
    """

    def fn(k):
        return node.linear([x], kernels=[k], use_bias=False)

    return backend.get().vjp(fn, [kernel], [cotangent])[0]


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

    def __init__(self, model, patterns=None, pattern_type="relu", neuron_selection_mode="max_activation", output_index=None):
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
            raise ValueError(f"Got {len(patterns)} patterns for {len(self._kernel_nodes)} Dense/Conv layers.")
        for p, node in zip(patterns, self._kernel_nodes):
            shape = tuple(node.kernel_variables[0].shape)
            if tuple(np.shape(p)) != shape:
                raise ValueError(f"Pattern for layer {node.name} has shape {np.shape(p)}, expected {shape}.")
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
            self._pattern_type == "relu" and feeds_relu(ReverseState(node, self._graph)) for node in self._kernel_nodes
        ]

        def fn(inputs):
            values, _ = self._graph.forward(list(inputs))
            stats = []
            for node, relu in zip(self._kernel_nodes, relu_flags):
                x = values[node.input_keys[0]]
                z = values[node.output_keys[0]]
                kernel = node.weights()[0][0]
                mask = ops.cast(ops.greater(z, 0), z.dtype) if relu else ops.ones_like(z)
                zm = z * mask
                channels = tuple(range(len(z.shape) - 1))
                stats.append(
                    [
                        ops.sum(mask, axis=channels),  # n per neuron
                        _kernel_correlation(node, x, kernel, mask),  # Σ x
                        ops.sum(zm, axis=channels),  # Σ y
                        _kernel_correlation(node, x, kernel, zm),  # Σ x y
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
        n_batches = 0
        for batch in tqdm(iterate_batches(X, batch_size), disable=not progress, desc="fit patterns", unit="batch"):
            xs = self._as_input_list(batch)
            if xs is None:
                raise TypeError(f"fit() got a batch of type {type(batch).__name__}; batches must be arrays.")
            stats = [[np.asarray(to_np(s), dtype=np.float64) for s in layer] for layer in compiled(list(xs))]
            totals = stats if totals is None else [[a + b for a, b in zip(t, s)] for t, s in zip(totals, stats)]
            n_batches += 1
        if totals is None:
            raise ValueError("fit() got no data.")
        patterns = []
        for node, (n, sum_x, sum_y, sum_xy) in zip(self._kernel_nodes, totals):
            kernels, _ = node.weights()
            w = np.asarray(to_np(kernels[0]), dtype=np.float64)
            shape = w.shape
            w = w.reshape(-1, shape[-1])
            sum_x = sum_x.reshape(w.shape)
            sum_xy = sum_xy.reshape(w.shape)
            with np.errstate(divide="ignore", invalid="ignore"):
                mean_x = sum_x / n
                mean_y = sum_y / n
                cov = sum_xy / n - mean_x * mean_y
                denominator = np.sum(w * cov, axis=0)
                a = cov / denominator
            a[:, ~np.isfinite(denominator) | (denominator == 0) | (n == 0)] = 0.0
            a[~np.isfinite(a)] = 0.0
            patterns.append(a.reshape(shape).astype(keras.backend.standardize_dtype(node.kernel_variables[0].dtype)))
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
            (lambda layer, state: checks.is_max_pooling(layer) or checks.is_shape_only(layer) or checks.is_linear_without_kernel(layer), lambda xs, ys, rs, s: s.gradient(rs)),
            (lambda layer, state: checks.is_activation_layer(layer) and checks.activation_name(layer) == "linear", lambda xs, ys, rs, s: s.gradient(rs)),
        ]

    def _default_mapping(self):
        return None

    def _unsupported_layers(self, graph, mappings):
        bad = []
        for node, m in zip(graph.nodes, mappings):
            if m is None or (node.has_kernel and not isinstance(node.layer, _PATTERN_LAYERS)):
                bad.append(node.name)
        return bad, "PatternNet/PatternAttribution need ReLU networks of Dense/Conv, pooling and reshaping layers"

    def _analyze_batch(self, xs, indices):
        if self.patterns_ is None:
            raise RuntimeError(f"{type(self).__name__} has no patterns: call fit(X) or pass patterns=... first.")

        def fn(inputs, indices, patterns):
            self._traced_patterns = list(patterns)
            return self._postprocess(list(inputs), self._reverse(inputs, indices))

        return self._compiled_function("reverse_with_patterns", fn)(list(xs), indices, list(self.patterns_))

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
