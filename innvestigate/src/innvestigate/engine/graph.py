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
import numpy as np
from keras import ops

from innvestigate.engine import batchnorm, checks, keras_internals
from innvestigate.exceptions import NotAnalyzeableModelException

__all__ = [
    "GraphNode",
    "AnalysisGraph",
    "ForwardValues",
    "build_graph",
    "substituted_weights",
    "weights_cached",
]

_KERNEL_VARIABLE_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")


@contextlib.contextmanager
def substituted_weights(pairs: Sequence[tuple[Any, Any]]):
    """Reads ``variable`` as ``value`` for each pair inside the block, without assigning.

    Nested in an outer scope (the JAX compiled function substitutes all model variables),
    the outer substitutions stay visible for the variables not named here.
    """
    outer = keras_internals.current_stateless_scope()
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
_NONNEGATIVE_ACTIVATIONS = frozenset(
    {"relu", "relu6", "sigmoid", "hard_sigmoid", "softmax", "softplus", "exponential"}
)

# Layers whose outputs are non-negative when all their inputs are.
_MONOTONE_MERGES = (keras.layers.Add, keras.layers.Average, keras.layers.Multiply)


def _output_is_nonnegative(node, inputs_nonnegative: bool) -> bool:
    layer = node.layer
    if node.kind != "linear" and checks.activation_name(layer) in _NONNEGATIVE_ACTIVATIONS:
        return True
    if not inputs_nonnegative or node.kind == "linear" or checks.is_kernel_layer(layer):
        return False
    if isinstance(
        layer,
        (
            keras.layers.AveragePooling1D,
            keras.layers.AveragePooling2D,
            keras.layers.AveragePooling3D,
            keras.layers.GlobalAveragePooling1D,
            keras.layers.GlobalAveragePooling2D,
            keras.layers.GlobalAveragePooling3D,
        )
        + _MONOTONE_MERGES,
    ):
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

    def __init__(
        self,
        layer,
        input_keys,
        output_keys,
        call: Callable,
        kind: str = "layer",
        output_dtypes=None,
    ):
        self.layer = layer
        #: whether every output is an integer or boolean tensor (masks, ids): nothing flows back
        self.non_float_outputs = bool(output_dtypes) and not any(
            keras.backend.standardize_dtype(d).startswith(("float", "bfloat"))
            for d in output_dtypes
        )
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
        self.name = layer.name

    def __repr__(self):
        return f"GraphNode({self.name!r}, kind={self.kind!r}, position={self.position})"

    # -- canonical forms (new nodes; a graph's nodes are never modified) --------------------
    def linear_part(self, output_keys):
        """This Dense/Conv call without its activation, writing ``output_keys``."""
        node = GraphNode(self.layer, self.input_keys, output_keys, self._raw_call, kind="linear")
        node.fused = list(self.fused)
        return node

    def with_batch_normalization(self, bn, output_keys):
        """This Dense/Conv call (without activation) followed by ``bn``, as one linear node."""
        node = GraphNode(self.layer, self.input_keys, output_keys, self._raw_call, kind="linear")
        node.fused = list(self.fused) + [bn]
        return node

    # -- call arguments and masks ----------------------------------------------------------
    def bind(self, xs):
        """The layer call's arguments filled in with the tensors ``xs`` (one per input key).

        Returns ``(args, kwargs)`` as the layer was called in the model, e.g. for
        ``mha(q, v, attention_mask=m)``: ``([q, v], {"attention_mask": m})``. Rules use it to
        tell a sequence from an initial state, or a query from a value.
        """
        bind = getattr(self._raw_call, "bind", None)
        if bind is None:
            return list(xs), {}
        return bind(xs)

    def output_masks(self, xs, input_masks):
        """The Keras masks of the node's outputs, as ``Layer.__call__`` would attach them.

        ``input_masks`` holds one mask (or None) per input. A layer that supports masking
        computes its output mask from the mask of its first argument (``compute_mask``);
        ``Embedding(mask_zero=True)`` and ``Masking`` make a mask from their input values.
        """
        layer = self.layer
        n_out = len(self.output_keys)
        if not isinstance(layer, keras.layers.Layer) or not getattr(
            layer, "supports_masking", False
        ):
            return [None] * n_out
        has_own = type(layer).compute_mask is not keras.layers.Layer.compute_mask
        if not has_own and all(m is None for m in input_masks):
            return [None] * n_out
        args, kwargs = self.bind(xs)
        first = args[0] if args else next(iter(kwargs.values()), None)
        by_id = {id(x): m for x, m in zip(xs, input_masks)}
        previous = (
            keras.tree.map_structure(lambda t: by_id.get(id(t)), first)
            if first is not None
            else None
        )
        masks = layer.compute_mask(first, previous)
        masks = (
            [None] * n_out
            if masks is None
            else list(keras.tree.flatten(masks))
            if isinstance(masks, (list, tuple))
            else [masks]
        )
        return (masks + [None] * n_out)[:n_out]

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
            kernels, bias = batchnorm.fold_into_kernel(kernels, bias, bn)
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
            raise TypeError(
                f"Layer {self.name} has no kernel; linear() applies to Dense/Conv nodes."
            )
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
                pairs.append(
                    (bias_variable, ops.zeros(bias_variable.shape, dtype=bias_variable.dtype))
                )
        with substituted_weights(pairs), activation_removed(self.layer):
            ys = (
                _direct_call(self.layer, xs[0])
                if getattr(self._raw_call, "single_tensor", False)
                else None
            )
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


def _node_call(layer_call):
    """``layer_call`` (a :class:`keras_internals.LayerCall`) as a function of its distinct tensor inputs."""
    operation, keras_tensors = layer_call.operation, layer_call.keras_tensors

    def call(*xs):
        args, kwargs = layer_call.fill_in({id(kt): x for kt, x in zip(keras_tensors, xs)})
        return keras.tree.flatten(operation(*args, **kwargs))

    def bind(xs):
        args, kwargs = layer_call.fill_in({id(kt): x for kt, x in zip(keras_tensors, xs)})
        return list(args), dict(kwargs)

    call.bind = bind
    call.single_tensor = layer_call.single_tensor
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
    if (
        policy.compute_dtype != policy.variable_dtype
        or getattr(layer, "quantization_mode", None) is not None
    ):
        return None
    dtype = keras.backend.standardize_dtype(x.dtype)
    if not dtype.startswith(("float", "bfloat")):
        return None
    if dtype != policy.compute_dtype:
        x = ops.cast(x, policy.compute_dtype)
    return keras.tree.flatten(layer.call(x))


class ForwardValues(dict):
    """Tensors of one forward pass by key, with their Keras masks in ``masks`` (key -> mask)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.masks: dict = {}


def _is_integer_dtype(dtype) -> bool:
    name = keras.backend.standardize_dtype(dtype)
    return name.startswith(("int", "uint")) or name == "bool"


class AnalysisGraph:
    """The layers of a model between its inputs and one output, in topological order.

    Integer model inputs (token ids) are read through the ``Embedding`` layers that consume
    them: those layers form the *embedding stage* and their outputs are the graph's
    analysis inputs, where relevance and gradients are taken (:meth:`embed`).

    Attributes
    ----------
    model : keras.Model
    nodes : list of GraphNode
        The nodes after the embedding stage, in topological order.
    input_keys : list
        The analysis inputs: one key per float model input, one per Embedding layer
        reading an integer model input.
    input_groups : list of list of int
        For each model input, the positions in ``input_keys`` of its analysis inputs.
    model_input_keys : list
        One key per model input.
    embedding_nodes : list of GraphNode
        The Embedding layers reading integer model inputs.
    embedding_at : dict
        Position in ``input_keys`` -> the Embedding layer that makes that analysis input.
    prestage_nodes : list of GraphNode
        The Embedding layers and the integer/boolean operations on token ids (masks).
    side_keys : list of (kind, key)
        What :meth:`embed` passes to :meth:`forward` besides the analysis inputs:
        ("mask", key) for the Keras mask of an analysis input, ("value", key) for a value
        computed from token ids.
    output_key
        The key of the analysed output.
    """

    def __init__(self, model, nodes, input_keys, output_key, input_dtypes=None):
        self.model = model
        self.model_input_keys = list(input_keys)
        self.output_key = output_key
        self._input_dtypes = (
            list(input_dtypes) if input_dtypes is not None else ["float32"] * len(input_keys)
        )
        self.embedding_nodes: list = []
        self.prestage_nodes: list = []
        self.side_keys: list = []
        self.embedding_at: dict = {}
        self.input_keys = list(input_keys)
        self.input_groups = [[i] for i in range(len(input_keys))]
        self.nodes = list(nodes)
        self._prune()
        self._split_embedding_stage()
        self._index()

    # -- construction ------------------------------------------------------------------------
    def replace_nodes(self, nodes):
        """Replaces the node list (a canonizer's rewrite) and recomputes positions, depths,
        kernel positions, consumers and sign information. The embedding stage is kept."""
        self.nodes = list(nodes)
        self._prune()
        self._index()
        return self

    def _prune(self):
        # Keep only the nodes the analysed output depends on.
        needed = {self.output_key}
        kept = []
        for node in reversed(self.nodes):
            if any(k in needed for k in node.output_keys):
                kept.append(node)
                needed.update(node.input_keys)
        self.nodes = kept[::-1]

    def _split_embedding_stage(self):
        consumers: dict = {}
        for node in self.nodes:
            for k in node.input_keys:
                consumers.setdefault(k, []).append(node)
        float_inputs = {
            k for k, d in zip(self.model_input_keys, self._input_dtypes) if not _is_integer_dtype(d)
        }
        for node in self.nodes:
            if isinstance(node.layer, keras.layers.Embedding):
                source = node.input_keys[0] if len(node.input_keys) == 1 else None
                if source in float_inputs:
                    raise NotAnalyzeableModelException(
                        "innvestigate",
                        [node.name],
                        f"Embedding layer {node.name!r} reads a float model input; token ids have no "
                        "gradient or relevance of their own. Declare that input as integer ids, "
                        "keras.Input(shape, dtype='int32'), and pass integer arrays",
                    )
                if source not in self.model_input_keys:
                    raise NotAnalyzeableModelException(
                        "innvestigate",
                        [node.name],
                        f"Embedding layer {node.name!r} does not read a model input directly; innvestigate "
                        "explains token ids through Embedding layers that read integer model inputs "
                        "(keras.Input(shape, dtype='int32') -> Embedding)",
                    )
        # The pre-stage: Embedding layers reading integer inputs, and the operations that
        # compute integer/boolean values (padding masks) from the ids; no relevance or
        # gradient flows through either.
        integer_keys = {
            k for k, d in zip(self.model_input_keys, self._input_dtypes) if _is_integer_dtype(d)
        }
        stage, embedding_readers = [], {}
        for node in self.nodes:
            if not node.input_keys or not all(k in integer_keys for k in node.input_keys):
                continue
            if isinstance(node.layer, keras.layers.Embedding):
                embedding_readers.setdefault(node.input_keys[0], []).append(node)
                stage.append(node)
            elif node.non_float_outputs:
                stage.append(node)
                integer_keys.update(node.output_keys)
            else:
                raise NotAnalyzeableModelException(
                    "innvestigate",
                    [node.name],
                    f"an integer model input feeds {type(node.layer).__name__} {node.name!r}; integer inputs "
                    "(token ids) are explained through the Embedding layers that read them. Feed the ids to "
                    "keras.layers.Embedding, or give the model float inputs",
                )
        input_keys, groups = [], []
        self.embedding_at = {}
        for key, dtype in zip(self.model_input_keys, self._input_dtypes):
            if not _is_integer_dtype(dtype):
                groups.append([len(input_keys)])
                input_keys.append(key)
                continue
            group = []
            for node in embedding_readers.get(key, []):
                self.embedding_at[len(input_keys)] = node.layer
                group.append(len(input_keys))
                input_keys.append(node.output_keys[0])
            groups.append(group)
        stage_ids = {id(n) for n in stage}
        self.embedding_nodes = [n for n in stage if isinstance(n.layer, keras.layers.Embedding)]
        self.prestage_nodes = stage
        self.nodes = [n for n in self.nodes if id(n) not in stage_ids]
        self.input_keys = input_keys
        self.input_groups = groups
        # Values the main graph reads from the pre-stage besides the analysis inputs: masks
        # of the embeddings (mask_zero) and the integer/boolean outputs of pre-stage operations.
        read = {k for n in self.nodes for k in n.input_keys} | {self.output_key}
        self.side_keys = [
            ("mask", input_keys[i])
            for i, layer in sorted(self.embedding_at.items())
            if getattr(layer, "mask_zero", False)
        ]
        self.side_keys += [
            ("value", k) for n in stage if n.non_float_outputs for k in n.output_keys if k in read
        ]
        # Integer or boolean model inputs read as they are (an attention mask input).
        self.side_keys += [
            ("value", k)
            for k, d in zip(self.model_input_keys, self._input_dtypes)
            if _is_integer_dtype(d) and k in read
        ]

    def _index(self):
        producers = {k: n for n in self.nodes for k in n.output_keys}
        input_set = set(self.input_keys)
        kernel_index = 0
        for i, node in enumerate(self.nodes):
            node.position = i
            node.is_input_layer = all(k in input_set for k in node.input_keys)
            if node.has_kernel:
                node.kernel_position = kernel_index
                kernel_index += 1
            else:
                node.kernel_position = None
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
        self._producers = producers
        nonnegative: set = set()
        for node in self.nodes:
            inputs_nonnegative = all(k in nonnegative for k in node.input_keys)
            node.nonnegative_inputs = bool(node.input_keys) and inputs_nonnegative
            if _output_is_nonnegative(node, inputs_nonnegative):
                nonnegative.update(node.output_keys)

    # -- queries -----------------------------------------------------------------------------
    @property
    def has_embeddings(self) -> bool:
        """Whether some model input is read through Embedding layers (token ids)."""
        return bool(self.embedding_nodes)

    def consumers(self, key) -> list:
        """The nodes that read the tensor ``key``."""
        return self._consumers.get(key, [])

    def producer(self, key):
        """The node that writes the tensor ``key`` (None for analysis inputs)."""
        return self._producers.get(key)

    # -- evaluation --------------------------------------------------------------------------
    def embed(self, model_inputs):
        """The analysis inputs for the model inputs, and the side values the graph needs.

        Float inputs pass unchanged; integer ids are looked up by their Embedding layers,
        and the pre-stage computes what else the ids determine (padding masks).

        Returns
        -------
        inputs : list of tensors
            One per entry of ``input_keys``.
        side : list of tensors
            One per entry of ``side_keys`` (pass to :meth:`forward`).
        """
        if not self.side_keys and not self.prestage_nodes:
            return list(model_inputs), []
        values = dict(zip(self.model_input_keys, model_inputs))
        masks = {}
        for node in self.prestage_nodes:
            xs = [values[k] for k in node.input_keys]
            for k, y, m in zip(
                node.output_keys, node(*xs), node.output_masks(xs, [None] * len(xs))
            ):
                values[k] = y
                if m is not None:
                    masks[k] = m
        side = [masks[k] if kind == "mask" else values[k] for kind, k in self.side_keys]
        return [values[k] for k in self.input_keys], side

    def forward(self, inputs, record_vjp: bool = False, side=None):
        """Evaluates the graph from the analysis inputs.

        Parameters
        ----------
        inputs : list of tensors
            One per entry of ``input_keys`` (see :meth:`embed` for integer model inputs).
        record_vjp : bool
            Also record each node's vector–Jacobian product (with respect to its floating
            point inputs; integer and boolean inputs get zeros).
        side : list of tensors, optional
            The side values from :meth:`embed` (masks, values computed from token ids).

        Returns
        -------
        values : ForwardValues
            Tensor by key; ``values.masks`` holds the Keras mask of each masked tensor.
        vjps : dict
            Per node position, the recorded vector–Jacobian product (if ``record_vjp``).
        """
        from innvestigate import backend

        values = ForwardValues(zip(self.input_keys, inputs))
        masks = values.masks
        for (kind, key), v in zip(self.side_keys, side or []):
            if kind == "mask":
                masks[key] = v
            else:
                values[key] = v
        vjps = {}
        bk = backend.get() if record_vjp else None
        for node in self.nodes:
            xs = [values[k] for k in node.input_keys]
            in_masks = [masks.get(k) for k in node.input_keys]
            call = node if all(m is None for m in in_masks) else _masked_call(node, in_masks)
            if record_vjp and not node.non_float_outputs:
                ys, vjp_fn = _forward_with_vjp_of_floats(bk, call, xs)
                vjps[node.position] = vjp_fn
            else:
                ys = call(*xs)
            for k, y, m in zip(node.output_keys, ys, node.output_masks(xs, in_masks)):
                values[k] = y
                if m is not None:
                    masks[k] = m
        return values, vjps

    def run(self, model_inputs):
        """:meth:`embed` then :meth:`forward` (no VJPs): the values of one forward pass."""
        inputs, side = self.embed(model_inputs)
        return self.forward(inputs, side=side)[0]


def _is_float(x) -> bool:
    return keras.backend.standardize_dtype(x.dtype).startswith(("float", "bfloat"))


def _forward_with_vjp_of_floats(bk, call, xs):
    """``bk.forward_with_vjp`` over the floating point ``xs`` only; the others (ids, masks)
    are held fixed and get zero cotangents."""
    floats = [i for i, x in enumerate(xs) if _is_float(x)]
    if len(floats) == len(xs):
        return bk.forward_with_vjp(call, xs)

    def partial(*fs):
        full = list(xs)
        for i, f in zip(floats, fs):
            full[i] = f
        return call(*full)

    ys, vjp = bk.forward_with_vjp(partial, [xs[i] for i in floats])

    def vjp_fn(cotangents):
        grads = vjp(cotangents)
        out = [ops.zeros_like(x) for x in xs]
        for i, g in zip(floats, grads):
            out[i] = g
        return out

    return ys, vjp_fn


def _masked_call(node, masks):
    """``node`` called with the Keras masks attached to its inputs, as ``Layer.__call__`` expects."""

    def call(*xs):
        for x, m in zip(xs, masks):
            if m is not None:
                keras_internals.set_mask(x, m)
        return node(*xs)

    return call


def _expand(model, input_keys, prefix, nodes, call_counter):
    functional = keras_internals.functional_of(model)
    alias = {}
    inner_inputs = keras.tree.flatten(functional.inputs)
    if len(inner_inputs) != len(input_keys):
        raise ValueError(
            f"Nested model {model.name!r} expects {len(inner_inputs)} inputs, got {len(input_keys)}."
        )
    for kt, key in zip(inner_inputs, input_keys):
        alias[id(kt)] = key
    for layer_call in keras_internals.layer_calls(functional):
        operation = layer_call.operation
        call, keras_tensors = _node_call(layer_call)
        in_keys = [alias[id(kt)] for kt in keras_tensors]
        if isinstance(operation, keras.Model):
            call_counter[0] += 1
            out_keys = _expand(
                operation,
                in_keys,
                prefix + ((operation.name, call_counter[0]),),
                nodes,
                call_counter,
            )
            for kt, key in zip(layer_call.outputs, out_keys):
                alias[id(kt)] = key
            continue
        out_keys = [(prefix, id(kt)) for kt in layer_call.outputs]
        for kt, key in zip(layer_call.outputs, out_keys):
            alias[id(kt)] = key
        nodes.append(
            GraphNode(
                operation,
                in_keys,
                out_keys,
                call,
                output_dtypes=[kt.dtype for kt in layer_call.outputs],
            )
        )
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
    functional = keras_internals.functional_of(model)
    model_inputs = keras.tree.flatten(functional.inputs)
    input_keys = [("input", i) for i in range(len(model_inputs))]
    nodes: list = []
    output_keys = _expand(model, input_keys, (), nodes, [0])
    if output_index is None:
        if len(output_keys) > 1:
            names = [
                getattr(t, "name", str(i))
                for i, t in enumerate(keras.tree.flatten(functional.outputs))
            ]
            raise ValueError(
                f"The model has {len(output_keys)} outputs ({', '.join(names)}); choose one with "
                "output_index=..."
            )
        output_index = 0
    if isinstance(output_index, bool) or not isinstance(output_index, (int, np.integer)):
        raise TypeError(f"output_index must be an int, got {output_index!r}.")
    if not 0 <= output_index < len(output_keys):
        raise ValueError(
            f"output_index={output_index} is out of range for {len(output_keys)} outputs."
        )
    dtypes = [t.dtype for t in model_inputs]
    return AnalysisGraph(
        model, nodes, input_keys, output_keys[int(output_index)], input_dtypes=dtypes
    )
