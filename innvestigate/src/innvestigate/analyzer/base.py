"""Analyzer base classes: input handling, neuron selection, compiled reverse analysis, saving."""

from __future__ import annotations

import json
from typing import Any

import keras
import numpy as np
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.files import FORMAT, read_analyzer_dir, write_analyzer_dir
from innvestigate.engine import checks
from innvestigate.engine.canonizers import FuseBatchNormalization, SplitActivation
from innvestigate.engine.graph import build_graph, weights_cached
from innvestigate.engine.keras_internals import functional_of
from innvestigate.engine.reverse import resolve_mappings, reverse_propagate
from innvestigate.exceptions import (
    NeuronSelectionError,
    NotAnalyzeableModelException,
    SoftmaxOutputError,
)

__all__ = ["AnalyzerBase", "ReverseAnalyzerBase", "gradient_mapping", "NEURON_SELECTION_MODES"]

NEURON_SELECTION_MODES = ("max_activation", "index", "all")


def _finite_input(i, spec, x, dtype):
    """``x`` cast to ``dtype``; NaN, infinite values and values beyond ``dtype``'s range are refused."""
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.flatnonzero(~finite.reshape(x.shape[0], -1).all(axis=1))
        raise ValueError(
            f"Model input {i} ({spec.name!r}) contains NaN or infinite values, first in sample {bad[0]} "
            f"({len(bad)} of {x.shape[0]} samples affected); explanations need finite inputs: remove "
            "or impute those samples."
        )
    with np.errstate(over="ignore"):  # overflow is reported below, with the sample
        cast = x.astype(dtype, copy=False)
    if cast is not x and not np.isfinite(cast).all():
        bad = np.flatnonzero(~np.isfinite(cast).reshape(x.shape[0], -1).all(axis=1))
        raise ValueError(
            f"Model input {i} ({spec.name!r}) has values beyond the {dtype} range of the model "
            f"(largest magnitude {np.abs(x).max():.3g}, first in sample {bad[0]}); rescale the input or "
            "analyse a float64 model."
        )
    return cast


def gradient_mapping(inputs, outputs, reversed_outputs, state):
    """The default mapping: the layer's vector–Jacobian product (plain back-propagation)."""
    return state.gradient(reversed_outputs)


def _is_array_like(x) -> bool:
    return isinstance(x, np.ndarray) or (
        hasattr(x, "__array__") and hasattr(x, "shape") and not hasattr(x, "as_numpy_iterator")
    )


def _is_nested_number_list(X) -> bool:
    """A nested Python list whose first leaf is a number, e.g. ``x.tolist()``."""
    if not isinstance(X, list) or not X:
        return False
    leaf = X
    while isinstance(leaf, list) and leaf:
        leaf = leaf[0]
    return isinstance(leaf, (bool, int, float, np.number, np.bool_))


def _nested_list_as_array(X) -> np.ndarray:
    """A nested list of numbers as one array; ragged or non-numeric lists are refused."""
    try:
        array = np.asarray(X)
    except ValueError as err:
        raise ValueError(
            f"X is a nested list that is not rectangular ({err}); give a numpy array of shape "
            "(n_samples, ...) or a nested list with the same length at every level."
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"X is a nested list holding non-numbers (numpy reads it as {array.dtype}); a nested "
            "list must hold only numbers."
        )
    return array


class AnalyzerBase:
    """Base class of all analyzers.

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model (without softmax on the analysed output; see
        :func:`innvestigate.model_wo_softmax`).
    neuron_selection_mode : {"max_activation", "index", "all"}
        Which output neuron is explained: each sample's largest output, the index given
        to :meth:`analyze`, or all outputs at once.
    output_index : int, optional
        For models with several outputs, the output to analyse.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> analyzer = innvestigate.create_analyzer("gradient", model)
    >>> analyzer.analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    #: the name this class is registered under (set by the registry)
    name: str = ""
    #: whether the analysis explains an output neuron (False for "input"/"random")
    _explains_output = True
    #: whether integer token inputs are analysed at their embeddings (False: on the ids)
    _explains_embeddings = True
    #: how an embedding-level map becomes one value per token: "sum" over the embedding
    #: dimensions (attributions, which add up), or the Euclidean "norm" (gradients, signals)
    _token_reduction = "sum"

    def __init__(
        self, model, neuron_selection_mode: str = "max_activation", output_index: int | None = None
    ):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
        functional_of(model)  # unbuilt Sequential / subclassed models: the engine's errors, now
        if neuron_selection_mode not in NEURON_SELECTION_MODES:
            raise ValueError(
                f"neuron_selection_mode={neuron_selection_mode!r} is not one of {NEURON_SELECTION_MODES}."
            )
        self._model = model
        self._neuron_selection_mode = neuron_selection_mode
        self._output_index = output_index
        self._params: dict[str, Any] = {}
        self._compiled: dict = {}
        self._n_inputs = len(keras.tree.flatten(model.inputs)) if model.inputs is not None else 1

    # -- parameters -------------------------------------------------------------------------
    def _store(self, **params):
        self._params.update(params)

    def get_params(self) -> dict:
        """All constructor parameters except the model (used by :meth:`save`)."""
        return {
            "neuron_selection_mode": self._neuron_selection_mode,
            "output_index": self._output_index,
            **self._params,
        }

    # -- checks -----------------------------------------------------------------------------
    def _check_softmax(self, graph):
        if not self._explains_output:
            return
        for node in graph.nodes:
            if (
                graph.output_key in node.output_keys
                and checks.activation_name(node.layer) == "softmax"
            ):
                raise SoftmaxOutputError(
                    f"The analysed output of model {self._model.name!r} passes through a softmax "
                    f"(layer {getattr(node, 'source_layer', node.layer).name!r}). Explanations are "
                    "taken on the pre-softmax output: analyse innvestigate.model_wo_softmax(model) instead."
                )

    # -- inputs -----------------------------------------------------------------------------
    def _as_input_list(self, X):
        if self._n_inputs == 1 and _is_nested_number_list(X):
            X = _nested_list_as_array(X)
        elif isinstance(X, (list, tuple)) and any(_is_nested_number_list(x) for x in X):
            raise TypeError(
                f"The model has {self._n_inputs} inputs; give one numpy array per input (a list of "
                "arrays), not nested Python lists."
            )
        if isinstance(X, (list, tuple)) and X and all(_is_array_like(x) for x in X):
            xs = [np.asarray(x) for x in X]
        elif _is_array_like(X):
            xs = [np.asarray(X)]
        else:
            return None
        if len(xs) != self._n_inputs:
            raise ValueError(f"The model has {self._n_inputs} inputs; got {len(xs)} arrays.")
        n = xs[0].shape[0] if xs[0].ndim else None
        if n == 0:
            raise ValueError(
                "X has 0 samples; analyze needs at least one sample (the first axis is the batch)."
            )
        specs = keras.tree.flatten(self._model.inputs)
        out = []
        for i, (x, spec) in enumerate(zip(xs, specs)):
            if x.ndim != len(spec.shape) or any(
                s is not None and s != d for s, d in zip(spec.shape[1:], x.shape[1:])
            ):
                raise ValueError(
                    f"Input of shape {x.shape} does not fit the model input {tuple(spec.shape)} "
                    "(the first axis is the batch)."
                )
            if x.shape[0] != n:
                raise ValueError("All inputs must have the same number of samples.")
            dtype = keras.backend.standardize_dtype(spec.dtype)
            if dtype.startswith(("int", "uint")):
                if not np.issubdtype(x.dtype, np.integer):
                    raise TypeError(
                        f"Model input {i} ({spec.name!r}) takes integer token ids ({dtype}); got an array of "
                        f"dtype {x.dtype}. Pass integer ids, e.g. x.astype('{dtype}')."
                    )
                self._check_token_ids(i, x)
            elif dtype == "bool":
                if x.dtype != np.bool_:
                    raise TypeError(
                        f"Model input {i} ({spec.name!r}) is boolean (a mask); got an array of dtype {x.dtype}. "
                        "Pass a boolean array."
                    )
            elif not np.issubdtype(x.dtype, np.floating):
                raise TypeError(
                    f"Model input {i} ({spec.name!r}) is {dtype}; inputs must be floating point arrays, got "
                    f"dtype {x.dtype}."
                )
            else:
                x = _finite_input(i, spec, x, dtype)
            out.append(x.astype(dtype, copy=False))
        return out

    def _check_token_ids(self, i, x):
        """Token ids outside an Embedding's vocabulary are refused (JAX would clamp them silently)."""
        graph = getattr(self, "_graph", None) or self._embedding_graph()
        if graph is None:  # built once, not at every analyze call
            if getattr(self, "_token_id_graph", None) is None:
                self._token_id_graph = build_graph(self._model, self._output_index)
            graph = self._token_id_graph
        for position in graph.input_groups[i]:
            layer = graph.embedding_at[position]
            if x.size and (x.min() < 0 or x.max() >= layer.input_dim):
                raise ValueError(
                    f"Token ids of model input {i} must lie in [0, {layer.input_dim}) for Embedding layer "
                    f"{layer.name!r}; got ids from {x.min()} to {x.max()}."
                )

    def _selection_indices(self, neuron_selection, n_samples: int):
        mode = self._neuron_selection_mode
        if mode == "index":
            if neuron_selection is None:
                raise ValueError(
                    "neuron_selection_mode='index' needs neuron_selection: an output index, or one per sample."
                )
            indices = np.asarray(neuron_selection)
            if not np.issubdtype(indices.dtype, np.integer):
                raise TypeError(f"neuron_selection must be integers, got {indices.dtype}.")
            if indices.ndim == 0:
                indices = np.full(n_samples, int(indices))
            if indices.shape != (n_samples,):
                raise ValueError(
                    f"neuron_selection has shape {indices.shape}; give one int or one per sample ({n_samples})."
                )
            n_outputs = self._n_output_neurons()
            if (
                n_outputs is not None
                and indices.size
                and (indices.min() < 0 or indices.max() >= n_outputs)
            ):
                bad = np.flatnonzero((indices < 0) | (indices >= n_outputs))
                raise NeuronSelectionError(
                    f"neuron_selection={int(indices[bad[0]])} (sample {bad[0]}) is out of range: the analysed "
                    f"output has {n_outputs} neurons, valid indices are [0, {n_outputs}) (negative indices "
                    "do not count from the end)."
                )
            return indices.astype("int32")
        if neuron_selection is not None:
            raise ValueError(
                f"neuron_selection is only used with neuron_selection_mode='index' (this analyzer has "
                f"{mode!r}); create the analyzer with neuron_selection_mode='index'."
            )
        return np.zeros(n_samples, dtype="int32")

    def _n_output_neurons(self) -> int | None:
        """Neurons of the analysed output per sample (None where its shape is not static)."""
        try:
            outputs = keras.tree.flatten(functional_of(self._model).outputs)
            shape = outputs[self._output_index or 0].shape[1:]
        except (IndexError, TypeError, ValueError, AttributeError):
            return None
        if any(d is None for d in shape):
            return None
        return int(np.prod(shape, dtype=np.int64))

    # -- public API ---------------------------------------------------------------------------
    def analyze(
        self,
        X,
        neuron_selection=None,
        batch_size: int = 32,
        progress: bool = False,
        per_token: bool = True,
    ):
        """Explains the model's output for the inputs ``X``.

        Parameters
        ----------
        X : array, list of arrays, generator, keras.utils.PyDataset or tf.data.Dataset
            One batch (an array, or one array per model input), or data to go through
            in batches. For a model with one input, a nested Python list of numbers (e.g.
            ``x.tolist()``) is read as ``np.asarray(X)`` when it is rectangular (Python floats
            become float64, then the model's float type, like any float array); ragged or
            non-numeric lists are refused. Float inputs must be finite: NaN or infinite
            values raise ``ValueError`` naming the input and the first bad sample. A batch
            needs at least one sample.
        neuron_selection : int or array of int, optional
            With ``neuron_selection_mode="index"``: the output neuron to explain, one for
            all samples or one per sample, in ``[0, n_outputs)``; others raise
            :class:`~innvestigate.exceptions.NeuronSelectionError` (an ``IndexError`` and a
            ``ValueError``).
        batch_size : int
            Samples per batch when ``X`` is not a single in-memory batch.
        progress : bool
            Progress bar when going through data in batches.
        per_token : bool
            For integer token inputs (read through ``Embedding`` layers): True gives one
            value per token, shape ``(n, L)`` - the embedding-level map summed over the
            embedding dimensions (its Euclidean norm for ``gradient``, ``smoothgrad`` and the
            signal methods); False gives the embedding-level map ``(n, L, d)``, one array
            per Embedding layer.

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            The explanation, shaped like the input (a list for several inputs).
        """
        xs = self._as_input_list(X)
        if xs is None:
            try:
                from innvestigate.utils.batching import analyze_in_batches
            except ImportError as err:  # pragma: no cover - the module ships with the package
                raise TypeError(
                    f"analyze() got {type(X).__name__}; give a numpy array or a list of arrays."
                ) from err
            return analyze_in_batches(
                lambda x, **kw: self.analyze(x, per_token=per_token, **kw),
                X,
                batch_size=batch_size,
                progress=progress,
                neuron_selection=neuron_selection,
            )
        indices = self._selection_indices(neuron_selection, xs[0].shape[0])
        results = self._analyze_batch(xs, indices)
        results = [np.asarray(backend.get().to_numpy(r)) for r in results]
        results = self._per_model_input(results, xs, per_token)
        return results if len(results) > 1 else results[0]

    def _embedding_graph(self):
        """The graph whose analysis inputs ``_analyze_batch`` explains (None: the model inputs)."""
        if not self._explains_embeddings:
            return None
        return getattr(self, "_graph", None)

    def _per_model_input(self, results, xs, per_token: bool):
        """Embedding-level results (one per analysis input) as one map per model input."""
        graph = self._embedding_graph()
        if graph is None or (not graph.has_embeddings and len(results) == len(xs)):
            return results
        if not per_token and graph.has_embeddings:
            return results
        out = []
        for group, x in zip(graph.input_groups, xs):
            if np.issubdtype(x.dtype, np.floating):
                out.append(results[group[0]])
                continue
            maps = [results[i] for i in group]
            if not maps:
                out.append(np.zeros(x.shape, dtype=keras.backend.floatx()))
            elif self._token_reduction == "norm":
                out.append(np.sqrt(sum(np.sum(np.square(m), axis=-1) for m in maps)))
            else:
                out.append(sum(np.sum(m, axis=-1) for m in maps))
        return out

    def _analyze_batch(self, xs, indices):  # pragma: no cover - interface
        raise NotImplementedError

    # -- output selection -----------------------------------------------------------------------
    def _head_mask(self, y, indices):
        """One-hot mask of the selected neurons, shaped like ``y``."""
        batch = ops.shape(y)[0]
        flat = ops.reshape(y, (batch, -1))
        n = flat.shape[-1]
        if self._neuron_selection_mode == "all":
            return ops.ones_like(y)
        if self._neuron_selection_mode == "max_activation":
            indices = ops.argmax(flat, axis=1)
        mask = ops.one_hot(indices, n, dtype=y.dtype)
        return ops.reshape(mask, ops.shape(y))

    def _compiled_function(self, key, fn):
        if key not in self._compiled:
            self._compiled[key] = backend.get().compile_function(fn, self._model.variables)
        return self._compiled[key]

    def _model_output(self, xs):
        """The analysed output (no gradient)."""
        if not hasattr(self, "_graph"):
            self._graph = build_graph(self._model, self._output_index)

        def fn(*inputs):
            return self._graph.run(list(inputs))[self._graph.output_key]

        return self._compiled_function("output", fn)(*xs)

    # -- saving -----------------------------------------------------------------------------------
    def _array_state(self) -> dict:
        """Arrays (patterns, references) to store in the npz; keys become parameter names."""
        return {}

    def _set_array_state(self, arrays: dict):
        del arrays

    def save(self, path: str, save_model: bool = True):
        """Saves the analyzer: ``analyzer.json`` (class and parameters), ``arrays.npz`` and the model.

        Written into a new directory next to ``path`` and swapped with an older analyzer
        directory at ``path`` in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere
        two renames, between which ``path`` is briefly absent): ``path`` never holds a partial
        analyzer. A ``path`` that exists and is not an analyzer directory is not replaced
        (``FileExistsError``). Files get the mode the umask gives; temporary directories of an
        interrupted save into the same folder are removed. No pickle is used; the model is
        stored in the ``.keras`` format. See :mod:`innvestigate.analyzer.files`.

        Examples
        --------
        >>> import numpy as np, keras, innvestigate, tempfile, os
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> a = innvestigate.create_analyzer("lrp.epsilon", model, epsilon=0.1)
        >>> d = os.path.join(tempfile.mkdtemp(), "a")
        >>> a.save(d)
        >>> innvestigate.load_analyzer(d, model).get_params()["epsilon"]
        0.1
        """
        params = self.get_params()
        arrays = {}
        json_params = {}
        for k, v in params.items():
            if isinstance(v, np.ndarray):
                arrays[f"param:{k}"] = v
            else:
                json_params[k] = v
        for k, v in self._array_state().items():
            arrays[f"state:{k}"] = np.asarray(v)
        try:
            text = json.dumps(
                {
                    "format": FORMAT,
                    "analyzer": self.name,
                    "class": type(self).__name__,
                    "params": json_params,
                },
                indent=1,
                allow_nan=False,
            )
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"Parameters of {type(self).__name__} cannot be stored as JSON: {err}"
            ) from err
        write_analyzer_dir(path, text, arrays, self._model.save if save_model else None)

    @classmethod
    def load(cls, path: str, model=None):
        """Loads an analyzer written by :meth:`save` (``model`` overrides the stored model).

        Raises
        ------
        AnalyzerFileError
            For a missing path, a path that is a file, and damaged or edited files: every
            field is checked before anything is constructed (see :mod:`innvestigate.analyzer.files`).
        """
        from innvestigate.analyzer import ANALYZERS

        return read_analyzer_dir(path, model, ANALYZERS)


class ReverseAnalyzerBase(AnalyzerBase):
    """Analyzers that propagate a value from the output back to the inputs layer by layer.

    Subclasses declare their conditional mappings in :meth:`_conditional_mappings`: an
    ordered list of ``(condition, mapping)`` pairs; for each layer the first pair whose
    condition holds is used, the gradient otherwise. Add pairs with
    :meth:`add_conditional_mapping` to build a new method (thesis §3.2.2).

    Parameters
    ----------
    model : keras.Model
    neuron_selection_mode, output_index : see :class:`AnalyzerBase`
    fuse_batch_normalization : bool
        Fold BatchNormalization layers into the preceding Dense/Conv layer where possible.

    Examples
    --------
    Guided Backprop in a few lines (thesis §3.2.2):

    >>> import keras, numpy as np
    >>> from keras import ops
    >>> from innvestigate.engine import checks
    >>> class MyGuidedBackprop(ReverseAnalyzerBase):
    ...     def _conditional_mappings(self):
    ...         def mapping(inputs, outputs, reversed_outputs, state):
    ...             return state.gradient([ops.relu(r) for r in reversed_outputs])
    ...         return [(lambda layer: checks.activation_name(layer) == "relu", mapping)]
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> MyGuidedBackprop(model).analyze(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    #: the reversed value at the output: the selected output itself ("output") or ones ("ones")
    _head = "ones"
    _split_activations = True

    def __init__(
        self,
        model,
        neuron_selection_mode="max_activation",
        output_index=None,
        fuse_batch_normalization=False,
    ):
        super().__init__(model, neuron_selection_mode, output_index)
        self._fuse_batch_normalization = bool(fuse_batch_normalization)
        self._extra_mappings: list = []
        self._graph = None

    def add_conditional_mapping(self, condition, mapping, name: str | None = None):
        """Adds a ``(condition, mapping)`` pair ahead of the analyzer's own pairs.

        ``condition(layer)`` or ``condition(layer, state)`` decides whether ``mapping``
        reverses a layer; ``mapping(inputs, outputs, reversed_outputs, state)`` returns
        the reversed values of the layer's inputs.
        """
        del name
        self._extra_mappings.append((condition, mapping))
        self._graph = None
        self._compiled.clear()

    def _conditional_mappings(self) -> list:
        return []

    def _default_mapping(self):
        return gradient_mapping

    def _unsupported_layers(self, graph, mappings) -> tuple[list, str]:
        """Names of layers the method cannot handle, and why (checked before any work)."""
        return [], ""

    def _canonizers(self):
        canonizers = []
        if self._split_activations:
            canonizers.append(SplitActivation())
        if self._fuse_batch_normalization:
            canonizers.append(FuseBatchNormalization())
        return canonizers

    def _build(self):
        graph = build_graph(self._model, self._output_index)
        for canonizer in self._canonizers():
            graph = canonizer.apply(graph)
        self._check_softmax(graph)
        mappings = resolve_mappings(
            graph, self._extra_mappings + self._conditional_mappings(), self._default_mapping()
        )
        bad, reason = self._unsupported_layers(graph, mappings)
        if bad:
            raise NotAnalyzeableModelException(type(self).__name__, bad, reason)
        self._graph, self._mappings = graph, mappings

    def _ensure_built(self):
        if self._graph is None:
            self._build()

    def _head_value(self, y, indices):
        mask = self._head_mask(y, indices)
        return mask * y if self._head == "output" else mask

    def _reverse(self, inputs, indices, keep_all=False, side=None):
        """Forward pass from the analysis inputs, then the reverse pass from the selected output."""
        with weights_cached():
            values, vjps = self._graph.forward(list(inputs), record_vjp=True, side=side)
            y = values[self._graph.output_key]
            head = self._head_value(y, indices)
            return reverse_propagate(
                self._graph, values, vjps, self._mappings, head, keep_all=keep_all
            )

    def _postprocess(self, inputs, results):
        return results

    def _analyze_batch(self, xs, indices):
        self._ensure_built()
        graph = self._graph

        def fn(inputs, indices):
            inputs, side = graph.embed(list(inputs))
            return self._postprocess(inputs, self._reverse(inputs, indices, side=side))

        return self._compiled_function("reverse", fn)(list(xs), indices)

    def _embed(self, xs):
        """The analysis inputs (embeddings of token ids) and side values, as numpy arrays."""
        self._ensure_built()
        graph = self._graph
        if not graph.prestage_nodes and not graph.side_keys:
            return list(xs), []

        def fn(inputs):
            return graph.embed(list(inputs))

        es, side = self._compiled_function("embed", fn)(list(xs))
        to_np = backend.get().to_numpy
        return [np.asarray(to_np(e)) for e in es], [np.asarray(to_np(v)) for v in side]

    def _analyze_embedded(self, inputs, side, indices):
        """Like ``_analyze_batch`` but from given analysis inputs (e.g. scaled embeddings)."""
        self._ensure_built()

        def fn(inputs, side, indices):
            return self._postprocess(list(inputs), self._reverse(inputs, indices, side=list(side)))

        return self._compiled_function("embedded", fn)(list(inputs), list(side), indices)

    def analyze_with_intermediates(self, X, neuron_selection=None):
        """Like :meth:`analyze` but also returns the reversed value of every tensor (uncompiled).

        Returns
        -------
        analysis : numpy.ndarray or list
        intermediates : dict
            Node name -> list of reversed values of its inputs (numpy arrays).
        """
        xs = self._as_input_list(X)
        if xs is None:
            raise TypeError("analyze_with_intermediates needs an array or a list of arrays.")
        self._ensure_built()
        indices = self._selection_indices(neuron_selection, xs[0].shape[0])
        inputs, side = self._graph.embed([ops.convert_to_tensor(x) for x in xs])
        results, kept = self._reverse(
            inputs, ops.convert_to_tensor(indices), keep_all=True, side=side
        )
        results = self._postprocess(inputs, results)
        to_np = backend.get().to_numpy
        per_layer = {}
        for node in self._graph.nodes:
            per_layer[node.name if node.kind != "activation" else node.layer.name] = [
                np.asarray(to_np(kept[k])) for k in node.input_keys if k in kept
            ]
        out = self._per_model_input([np.asarray(to_np(r)) for r in results], xs, True)
        return (out if len(out) > 1 else out[0]), per_layer
