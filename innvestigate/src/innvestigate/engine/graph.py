"""A Keras model read as a DAG of layers: nodes in topological order, tensors by key.

Nested models are expanded into their layers, shared layers appear once per call, merges
(Add, Concatenate, ...) have several input keys and a model with several outputs is read
for one chosen output. Nothing in the model is modified: canonical forms (a layer split
from its activation, BatchNormalization fused into the preceding layer) are views made of
graph nodes whose weights are substituted inside the analysis (see ``canonizers``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import keras
from keras import ops

from innvestigate.engine import checks

__all__ = ["GraphNode", "AnalysisGraph", "build_graph", "substituted_weights", "weights_cached"]

_KERNEL_VARIABLE_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")


def _current_stateless_scope():
    # Keras keeps the active StatelessScope in its global state; there is no public getter.
    from keras.src.backend.common.stateless_scope import get_stateless_scope

    return get_stateless_scope()


@contextlib.contextmanager
def substituted_weights(pairs: Sequence[tuple[Any, Any]]):
    """Reads ``variable`` as ``value`` for each pair inside the block, without assigning.

    Nested in an outer scope (the JAX compiled function substitutes all model variables),
    the outer substitutions stay visible for the variables not named here.
    """
    outer = _current_stateless_scope()
    scope = keras.StatelessScope(state_mapping=list(pairs), initialize_variables=False)
    if outer is not None:
        merged = dict(outer.state_mapping)
        merged.update(scope.state_mapping)
        scope.state_mapping = merged
    with scope:
        yield


_weights_store = threading.local()


@contextlib.contextmanager
def weights_cached():
    """Inside the block, each node computes :meth:`GraphNode.weights` once.

    One analysis reads a node's (BatchNorm-folded) weights in its forward pass and again
    in its rule; in a traced function each read adds the folding ops to the graph, which
    costs tracing and graph-optimisation time at the first call. The cached tensors
    belong to the trace that made them, so the cache lives only as long as the block.
    """
    previous = getattr(_weights_store, "cache", None)
    _weights_store.cache = {} if previous is None else previous
    try:
        yield
    finally:
        _weights_store.cache = previous


@contextlib.contextmanager
def activation_removed(layer):
    """Calls of ``layer`` inside the block skip its activation (Dense, Conv, ...)."""
    if not hasattr(layer, "activation") or checks.is_activation_layer(layer):
        yield
        return
    saved = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = saved


# Activations whose outputs are never negative.
_NONNEGATIVE_ACTIVATIONS = frozenset({"relu", "relu6", "sigmoid", "hard_sigmoid", "softmax", "softplus", "exponential"})

# Layers whose outputs are non-negative when all their inputs are.
_MONOTONE_MERGES = (keras.layers.Add, keras.layers.Average, keras.layers.Multiply)


def _output_is_nonnegative(node, inputs_nonnegative: bool) -> bool:
    layer = node.layer
    if node.kind != "linear" and checks.activation_name(layer) in _NONNEGATIVE_ACTIVATIONS:
        return True
    if not inputs_nonnegative or node.kind == "linear" or checks.is_kernel_layer(layer):
        return False
    if isinstance(layer, (keras.layers.AveragePooling1D, keras.layers.AveragePooling2D, keras.layers.AveragePooling3D,
                          keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
                          keras.layers.GlobalAveragePooling3D) + _MONOTONE_MERGES):
        return True
    return checks.is_max_pooling(layer) or checks.is_shape_only(layer)


def _bias_shape_for(layer, ndim: int):
    data_format = getattr(layer, "data_format", "channels_last")
    if data_format == "channels_first" and ndim > 2:
        return (-1,) + (1,) * (ndim - 2)
    return None


class GraphNode:
    """One call of one layer in the analysis graph.

    Attributes
    ----------
    layer : keras.layers.Layer
        The layer; for the linear part of a split layer the original layer, for the split
        activation a ``keras.layers.Activation``.
    kind : {"layer", "linear", "activation"}
    input_keys, output_keys : list
        Keys of the tensors the node reads and writes.
    position : int
        Index in topological order (0 = first node after the inputs).
    depth : int
        Length of the longest path from this node to the analysed output (0 = output node).
    kernel_position : int or None
        Index among the nodes with a kernel (Dense, Conv, ...), in topological order.
    is_input_layer : bool
        Whether all the node's inputs are model inputs.
    fused : list of keras.layers.Layer
        BatchNormalization layers folded into this node.
    nonnegative_inputs : bool
        Whether every input of the node is known to be ≥ 0 from the graph alone (it comes
        from a ReLU-like activation, possibly through pooling, reshaping or merges of such
        tensors). Rules use it to skip the terms of negative inputs, which are then zero.
    """

    def __init__(self, layer, input_keys, output_keys, call: Callable, kind: str = "layer"):
        self.layer = layer
        self.input_keys = list(input_keys)
        self.output_keys = list(output_keys)
        self._raw_call = call
        self.kind = kind
        self.position = -1
        self.depth = -1
        self.kernel_position = None
        self.is_input_layer = False
        self.fused: list = []
        self.nonnegative_inputs = False
        self.name = layer.name if kind != "activation" else layer.name

    def __repr__(self):
        return f"GraphNode({self.name!r}, kind={self.kind!r}, position={self.position})"

    # -- kernels -------------------------------------------------------------------------
    @property
    def has_kernel(self) -> bool:
        return self.kind in ("linear", "layer") and checks.is_kernel_layer(self.layer)

    @property
    def kernel_variables(self) -> list:
        return [v for v in self.layer.weights if v.name in _KERNEL_VARIABLE_NAMES]

    @property
    def bias_variable(self):
        for v in self.layer.weights:
            if v.name == "bias":
                return v
        return None

    def weights(self):
        """The kernels and bias this node computes with (BatchNorm folded in where fused).

        Returns
        -------
        kernels : list of tensors
        bias : tensor or None
        """
        cache = getattr(_weights_store, "cache", None)
        if cache is not None and self in cache:
            kernels, bias = cache[self]
            return list(kernels), bias
        kernels = [ops.convert_to_tensor(v) for v in self.kernel_variables]
        bias = self.bias_variable
        bias = None if bias is None else ops.convert_to_tensor(bias)
        for bn in self.fused:
            kernels, bias = _fold_batch_normalization(kernels, bias, bn)
        if cache is not None:
            cache[self] = (list(kernels), bias)
        return kernels, bias

    def linear(self, xs, kernels=None, bias=None, use_bias: bool = True):
        """The node's linear map with substituted kernels and bias (no activation).

        Parameters
        ----------
        xs : list of tensors
        kernels : list of tensors, optional
            Defaults to the node's (possibly fused) kernels.
        bias : tensor, optional
            Defaults to the node's bias; ignored when ``use_bias`` is False.
        use_bias : bool
            False evaluates ``x W`` without any bias.
        """
        if not self.has_kernel:
            raise TypeError(f"Layer {self.name} has no kernel; linear() applies to Dense/Conv nodes.")
        if kernels is None or (use_bias and bias is None):
            own_kernels, own_bias = self.weights()
            kernels = own_kernels if kernels is None else kernels
            if bias is None:
                bias = own_bias
        pairs = list(zip(self.kernel_variables, kernels))
        bias_variable = self.bias_variable
        if bias_variable is not None:
            if use_bias and bias is not None and tuple(bias.shape) == tuple(bias_variable.shape):
                # The layer adds the substituted bias itself (y + b, the same numbers as
                # adding it afterwards to y + 0, one elementwise pass fewer).
                pairs.append((bias_variable, bias))
                bias = None
            else:
                pairs.append((bias_variable, ops.zeros(bias_variable.shape, dtype=bias_variable.dtype)))
        with substituted_weights(pairs), activation_removed(self.layer):
            ys = _direct_call(self.layer, xs[0]) if getattr(self._raw_call, "single_tensor", False) else None
            if ys is None:
                ys = self._raw_call(*xs)
        if use_bias and bias is not None:
            y = ys[0]
            shape = _bias_shape_for(self.layer, len(y.shape))
            ys = [y + (ops.reshape(bias, shape) if shape else bias)] + list(ys[1:])
        return ys

    def __call__(self, *xs):
        if self.kind == "linear" or (self.has_kernel and self.fused):
            return self.linear(list(xs))
        return self._raw_call(*xs)


def _fold_batch_normalization(kernels, bias, bn):
    """Folds y = γ (z − μ)/√(σ² + ε) + β into the kernel's output channels."""
    gamma = ops.convert_to_tensor(bn.gamma) if bn.scale else 1.0
    beta = ops.convert_to_tensor(bn.beta) if bn.center else 0.0
    mean = ops.convert_to_tensor(bn.moving_mean)
    variance = ops.convert_to_tensor(bn.moving_variance)
    scale = gamma / ops.sqrt(variance + bn.epsilon)
    new_kernels = list(kernels)
    # The output channels are the last axis of Dense/Conv kernels (the pointwise kernel
    # for separable convolutions).
    new_kernels[-1] = kernels[-1] * scale
    if bias is None:
        bias = ops.zeros_like(mean)
    new_bias = (bias - mean) * scale + beta
    return new_kernels, new_bias


def _node_call(operation, node):
    keras_tensors = _unique(node.arguments.keras_tensors)

    def call(*xs):
        tensor_dict = {id(kt): x for kt, x in zip(keras_tensors, xs)}
        args, kwargs = node.arguments.fill_in(tensor_dict)
        return keras.tree.flatten(operation(*args, **kwargs))

    arguments = node.arguments
    call.single_tensor = (
        not arguments.kwargs and len(arguments.args) == 1 and isinstance(arguments.args[0], keras.KerasTensor)
    )
    return call, keras_tensors


def _direct_call(layer, x):
    """``layer.call(x)`` where it computes what ``layer(x)`` does, else None.

    ``Layer.__call__`` wraps ``call`` in Python bookkeeping (building, name scopes, dtype
    checks) that costs about a millisecond per call while a function is traced; an analysis
    calls each Dense/Conv layer's linear map several times. For a layer whose variables
    and computations share one dtype (no mixed precision, not quantized) the wrapper's
    only effect on the numbers is casting a floating input to the compute dtype, done here.
    """
    policy = layer.dtype_policy
    if policy.compute_dtype != policy.variable_dtype or getattr(layer, "quantization_mode", None) is not None:
        return None
    dtype = keras.backend.standardize_dtype(x.dtype)
    if not dtype.startswith(("float", "bfloat")):
        return None
    if dtype != policy.compute_dtype:
        x = ops.cast(x, policy.compute_dtype)
    return keras.tree.flatten(layer.call(x))


def _unique(tensors):
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _functional(model):
    if isinstance(model, keras.Sequential):
        functional = getattr(model, "_functional", None)
        if functional is None:
            raise ValueError(
                f"Sequential model {model.name!r} is not built; give it an Input or call "
                "model.build(input_shape) before analysing it."
            )
        return functional
    if not hasattr(model, "_nodes_by_depth"):
        raise TypeError(
            f"Model {model.name!r} is a subclassed model; innvestigate reads functional and "
            "Sequential models only (their layer graph is known)."
        )
    return model


class AnalysisGraph:
    """The layers of a model between its inputs and one output, in topological order.

    Attributes
    ----------
    model : keras.Model
    nodes : list of GraphNode
    input_keys : list
        One key per model input.
    output_key
        The key of the analysed output.
    """

    def __init__(self, model, nodes, input_keys, output_key):
        self.model = model
        self.nodes = nodes
        self.input_keys = input_keys
        self.output_key = output_key
        self._finalize()

    def _finalize(self):
        # Keep only the nodes the analysed output depends on.
        needed = {self.output_key}
        kept = []
        for node in reversed(self.nodes):
            if any(k in needed for k in node.output_keys):
                kept.append(node)
                needed.update(node.input_keys)
        self.nodes = kept[::-1]
        producers = {k: n for n in self.nodes for k in n.output_keys}
        input_set = set(self.input_keys)
        kernel_index = 0
        for i, node in enumerate(self.nodes):
            node.position = i
            node.is_input_layer = all(k in input_set for k in node.input_keys)
            if node.has_kernel:
                node.kernel_position = kernel_index
                kernel_index += 1
        self.n_kernel_nodes = kernel_index
        depth = {self.output_key: 0}
        for node in reversed(self.nodes):
            d = max(depth.get(k, 0) for k in node.output_keys)
            node.depth = d
            for k in node.input_keys:
                if k in producers:
                    depth[k] = max(depth.get(k, 0), d + 1)
        self._consumers: dict = {}
        for node in self.nodes:
            for k in node.input_keys:
                self._consumers.setdefault(k, []).append(node)
        nonnegative: set = set()
        for node in self.nodes:
            inputs_nonnegative = all(k in nonnegative for k in node.input_keys)
            node.nonnegative_inputs = bool(node.input_keys) and inputs_nonnegative
            if _output_is_nonnegative(node, inputs_nonnegative):
                nonnegative.update(node.output_keys)

    def consumers(self, key) -> list:
        """The nodes that read the tensor ``key``."""
        return self._consumers.get(key, [])

    def producer(self, key):
        for node in self.nodes:
            if key in node.output_keys:
                return node
        return None

    def forward(self, inputs, record_vjp: bool = False):
        """Evaluates the graph; returns ``values`` (key -> tensor) and, if asked, one VJP per node."""
        from innvestigate import backend

        values = dict(zip(self.input_keys, inputs))
        vjps = {}
        bk = backend.get() if record_vjp else None
        for node in self.nodes:
            xs = [values[k] for k in node.input_keys]
            if record_vjp:
                ys, vjp_fn = bk.forward_with_vjp(node, xs)
                vjps[node.position] = vjp_fn
            else:
                ys = node(*xs)
            for k, y in zip(node.output_keys, ys):
                values[k] = y
        return values, vjps


def _expand(model, input_keys, prefix, nodes, call_counter):
    functional = _functional(model)
    alias = {}
    inner_inputs = keras.tree.flatten(functional.inputs)
    if len(inner_inputs) != len(input_keys):
        raise ValueError(
            f"Nested model {model.name!r} expects {len(inner_inputs)} inputs, got {len(input_keys)}."
        )
    for kt, key in zip(inner_inputs, input_keys):
        alias[id(kt)] = key
    for depth in sorted(functional._nodes_by_depth.keys(), reverse=True):
        for node in functional._nodes_by_depth[depth]:
            operation = node.operation
            if node.is_input or isinstance(operation, keras.layers.InputLayer):
                continue
            call, keras_tensors = _node_call(operation, node)
            in_keys = [alias[id(kt)] for kt in keras_tensors]
            if isinstance(operation, keras.Model):
                call_counter[0] += 1
                out_keys = _expand(
                    operation, in_keys, prefix + ((operation.name, call_counter[0]),), nodes, call_counter
                )
                for kt, key in zip(node.outputs, out_keys):
                    alias[id(kt)] = key
                continue
            out_keys = [(prefix, id(kt)) for kt in node.outputs]
            for kt, key in zip(node.outputs, out_keys):
                alias[id(kt)] = key
            nodes.append(GraphNode(operation, in_keys, out_keys, call))
    return [alias[id(kt)] for kt in keras.tree.flatten(functional.outputs)]


def build_graph(model, output_index: int | None = None) -> AnalysisGraph:
    """Reads a functional or Sequential Keras model as an :class:`AnalysisGraph`.

    Parameters
    ----------
    model : keras.Model
    output_index : int, optional
        Which output to analyse; required if the model has several outputs.

    Examples
    --------
    >>> import keras
    >>> inp = keras.Input((3,))
    >>> model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(4, activation="relu")(inp)))
    >>> [n.layer.__class__.__name__ for n in build_graph(model).nodes]
    ['Dense', 'Dense']
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"Expected a keras.Model, got {type(model).__name__}.")
    functional = _functional(model)
    model_inputs = keras.tree.flatten(functional.inputs)
    input_keys = [("input", i) for i in range(len(model_inputs))]
    nodes: list = []
    output_keys = _expand(model, input_keys, (), nodes, [0])
    if output_index is None:
        if len(output_keys) > 1:
            names = [getattr(t, "name", str(i)) for i, t in enumerate(keras.tree.flatten(functional.outputs))]
            raise ValueError(
                f"The model has {len(output_keys)} outputs ({', '.join(names)}); choose one with "
                "output_index=..."
            )
        output_index = 0
    if not 0 <= output_index < len(output_keys):
        raise ValueError(f"output_index={output_index} is out of range for {len(output_keys)} outputs.")
    return AnalysisGraph(model, nodes, input_keys, output_keys[output_index])
