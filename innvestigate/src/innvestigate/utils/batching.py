"""Feeding data to an analyzer in batches: arrays, generators, ``tf.data`` and Keras datasets.

An explanation of a whole data set (the systematic evaluation of thesis Chapter V
§4.5, the perturbation analysis of §3.4.2, fitting PatternNet over a generator) needs
the same thing: walk over the data batch by batch, whatever container it comes in,
and show progress. :func:`iterate_batches` does the walking, :func:`analyze_in_batches`
applies an analysis function to every batch and stitches the results together.

Accepted containers
-------------------
* a numpy array (or anything with ``__array__``, e.g. a ``np.memmap``): cut into
  batches of ``batch_size`` samples along axis 0;
* a list of arrays with the same number of samples (a model with several inputs);
* a ``tf.data.Dataset`` whose elements are batches, ``x`` or ``(x, y[, w])``;
* a ``keras.utils.PyDataset`` (indexable batches);
* any other Python iterable or generator of batches, ``x`` or ``(x, y[, w])``;
  as in Keras, a *tuple* is read as ``(x, y, ...)`` and a *list* as the inputs of a
  multi-input model.

Datasets and generators define their own batches; ``batch_size`` applies to arrays only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from tqdm.auto import tqdm

__all__ = ["iterate_batches", "analyze_in_batches", "count_batches"]


def _to_numpy(value: Any) -> Any:
    """Converts a backend tensor (TensorFlow, JAX, PyTorch) or nested list of them to numpy."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, list):
        return [_to_numpy(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and callable(value.numpy):  # tf.Tensor
        return value.numpy()
    return np.asarray(value)


def _is_tf_dataset(data: Any) -> bool:
    # Checked by duck type so that importing this module never imports TensorFlow.
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "as_numpy_iterator")


def _is_py_dataset(data: Any) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover - keras is a dependency
        return False
    return isinstance(data, keras.utils.PyDataset)


def _is_array(data: Any) -> bool:
    return isinstance(data, np.ndarray) or (
        hasattr(data, "__array__") and hasattr(data, "shape") and not _is_tf_dataset(data)
    )


def _is_array_list(data: Any) -> bool:
    return isinstance(data, list) and len(data) > 0 and all(_is_array(d) for d in data)


def _n_samples(x: Any) -> int:
    if isinstance(x, list):
        return int(np.shape(x[0])[0])
    if isinstance(x, dict):
        return int(np.shape(next(iter(x.values())))[0])
    return int(np.shape(x)[0])


def _check_batch_size(batch_size: Any) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return int(batch_size)


def count_batches(data: Any, batch_size: int = 32) -> int | None:
    """Number of batches :func:`iterate_batches` will yield, or ``None`` if unknown.

    Parameters
    ----------
    data : array, list of arrays, tf.data.Dataset, keras.utils.PyDataset or iterable
        The data, as accepted by :func:`iterate_batches`.
    batch_size : int, default=32
        Samples per batch for arrays.

    Returns
    -------
    int or None
        The number of batches; ``None`` for generators without ``__len__`` and
        datasets of unknown cardinality.

    Examples
    --------
    >>> import numpy as np
    >>> count_batches(np.zeros((10, 3)), batch_size=4)
    3
    """
    batch_size = _check_batch_size(batch_size)
    if _is_array(data):
        return math.ceil(np.shape(data)[0] / batch_size)
    if _is_array_list(data):
        return math.ceil(_n_samples(data) / batch_size)
    if _is_tf_dataset(data):
        cardinality = int(data.cardinality())
        return cardinality if cardinality >= 0 else None
    if hasattr(data, "__len__"):
        try:
            return len(data)
        except TypeError:
            return None
    return None


def _split_element(element: Any) -> tuple[Any, Any]:
    """Splits one batch of a generator or dataset into ``(x, y)`` following Keras' convention."""
    if isinstance(element, tuple):
        if len(element) not in (1, 2, 3):
            raise ValueError(
                "A batch given as a tuple must be (x,), (x, y) or (x, y, sample_weight); "
                f"got a tuple of {len(element)} elements. Give the inputs of a multi-input "
                "model as a list, not a tuple."
            )
        x = element[0]
        y = element[1] if len(element) > 1 else None
        return _to_numpy(x), _to_numpy(y)
    if isinstance(element, (list, dict)) or _is_array(element) or hasattr(element, "numpy"):
        return _to_numpy(element), None
    raise TypeError(
        f"A batch must be an array, a list of arrays (several inputs) or a tuple (x, y); "
        f"got {type(element).__name__}."
    )


def iterate_batches(data: Any, batch_size: int = 32, return_targets: bool = False) -> Iterator[Any]:
    """Walks over ``data`` batch by batch, yielding numpy arrays.

    Parameters
    ----------
    data : array, list of arrays, tf.data.Dataset, keras.utils.PyDataset or iterable
        Arrays are cut into batches along axis 0. A list of arrays is the input of a
        multi-input model and is cut the same way. Datasets and other iterables yield
        their own batches, ``x`` or ``(x, y[, sample_weight])``.
    batch_size : int, default=32
        Samples per batch for arrays; ignored for datasets and generators.
    return_targets : bool, default=False
        If True, yield ``(x, y)`` pairs; ``y`` is None where the data has no targets.

    Yields
    ------
    x or (x, y)
        A numpy array (or list of arrays for several inputs) with the batch's samples.

    Raises
    ------
    TypeError
        If ``data`` is none of the accepted containers.
    ValueError
        If ``batch_size`` is not a positive integer or a list of arrays disagrees
        in its number of samples.

    Examples
    --------
    >>> import numpy as np
    >>> [b.shape for b in iterate_batches(np.zeros((5, 2)), batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> gen = ((np.ones((3, 2)), np.arange(3)) for _ in range(2))
    >>> [y.tolist() for _, y in iterate_batches(gen, return_targets=True)]
    [[0, 1, 2], [0, 1, 2]]
    """
    batch_size = _check_batch_size(batch_size)
    if isinstance(data, (str, bytes, dict)):
        raise TypeError(
            f"Cannot iterate batches over a {type(data).__name__}; give a numpy array, a list of "
            "arrays, a tf.data.Dataset, a keras.utils.PyDataset or a generator of batches."
        )
    if _is_array(data) or _is_array_list(data):
        arrays = data if isinstance(data, list) else None
        n = _n_samples(data)
        if arrays is not None and any(np.shape(a)[0] != n for a in arrays):
            raise ValueError(
                "The arrays of a multi-input list must have the same number of samples; got "
                f"{[np.shape(a)[0] for a in arrays]}."
            )
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            if arrays is None:
                x = np.asarray(data[start:stop])
            else:
                x = [np.asarray(a[start:stop]) for a in arrays]
            yield (x, None) if return_targets else x
        return
    if _is_tf_dataset(data):
        source: Iterable[Any] = data.as_numpy_iterator()
    elif _is_py_dataset(data):
        source = (data[i] for i in range(len(data)))
    elif isinstance(data, Iterable):
        source = data
    else:
        raise TypeError(
            f"Cannot iterate batches over {type(data).__name__}; give a numpy array, a list of "
            "arrays, a tf.data.Dataset, a keras.utils.PyDataset or a generator of batches."
        )
    for element in source:
        x, y = _split_element(element)
        yield (x, y) if return_targets else x


def _concatenate(parts: list[Any]) -> Any:
    first = parts[0]
    if isinstance(first, list):
        return [np.concatenate([p[i] for p in parts], axis=0) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([p[k] for p in parts], axis=0) for k in first}
    return np.concatenate(parts, axis=0)


def _labels_from_targets(y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot or scores
        return np.argmax(y, axis=1)
    return y.reshape(-1).astype(np.int64)


def analyze_in_batches(
    analyze_fn: Callable[..., Any],
    data: Any,
    batch_size: int = 32,
    progress: bool = True,
    neuron_selection: Any = None,
) -> Any:
    """Applies an analysis function batch by batch and concatenates the results.

    Parameters
    ----------
    analyze_fn : callable
        ``analyze_fn(x)`` or ``analyze_fn(x, neuron_selection=...)`` mapping a batch
        to its explanation (an array with the batch's samples on axis 0, or a list /
        dict of such arrays). Usually ``analyzer.analyze``.
    data : array, list of arrays, tf.data.Dataset, keras.utils.PyDataset or iterable
        See :func:`iterate_batches`.
    batch_size : int, default=32
        Samples per batch for arrays.
    progress : bool, default=True
        Show a tqdm progress bar.
    neuron_selection : None, int, array of int or "targets", default=None
        Passed on to ``analyze_fn`` (not passed at all when None). An int is passed
        to every batch; an array with one entry per sample is cut into the batches'
        slices; ``"targets"`` uses each batch's labels ``y`` (argmax of one-hot rows),
        e.g. to explain the true class over a whole data set.

    Returns
    -------
    numpy.ndarray (or list / dict of them)
        The explanations of all samples, in the order of the data.

    Raises
    ------
    ValueError
        If the data yields no batch, a per-sample ``neuron_selection`` does not match
        the number of samples, or ``"targets"`` is used on data without labels.

    Examples
    --------
    >>> import numpy as np
    >>> def grad_of_sum_of_squares(x):
    ...     return 2 * x
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> analyze_in_batches(grad_of_sum_of_squares, X, batch_size=2, progress=False).shape
    (5, 2)
    """
    if not callable(analyze_fn):
        raise TypeError(f"analyze_fn must be callable, got {type(analyze_fn).__name__}.")
    use_targets = isinstance(neuron_selection, str)
    if use_targets and neuron_selection != "targets":
        raise ValueError(
            f"neuron_selection={neuron_selection!r} is not understood here; give None, an int, "
            "one int per sample, or 'targets' to explain each sample's label."
        )
    per_sample = None
    if neuron_selection is not None and not use_targets and np.ndim(neuron_selection) > 0:
        per_sample = np.asarray(neuron_selection).reshape(-1)
        n_known = _n_samples(data) if (_is_array(data) or _is_array_list(data)) else None
        if n_known is not None and per_sample.shape[0] != n_known:
            raise ValueError(
                f"neuron_selection has {per_sample.shape[0]} entries but the data has {n_known} "
                "samples; give one output index per sample or a single int."
            )

    parts = []
    offset = 0
    total = count_batches(data, batch_size)
    batches = iterate_batches(data, batch_size, return_targets=True)
    for x, y in tqdm(batches, total=total, disable=not progress, desc="analyze", unit="batch"):
        n = _n_samples(x)
        if neuron_selection is None:
            out = analyze_fn(x)
        else:
            if use_targets:
                if y is None:
                    raise ValueError(
                        "neuron_selection='targets' needs batches (x, y) with labels; this "
                        "data yields inputs only."
                    )
                selection = _labels_from_targets(y)
            elif per_sample is not None:
                if offset + n > per_sample.shape[0]:
                    raise ValueError(
                        f"neuron_selection has {per_sample.shape[0]} entries but the data has "
                        f"more samples (at least {offset + n})."
                    )
                selection = per_sample[offset : offset + n]
            else:
                selection = neuron_selection
            out = analyze_fn(x, neuron_selection=selection)
        parts.append(_to_numpy(out))
        offset += n
    if not parts:
        raise ValueError("The data yielded no batch; nothing to analyze.")
    if per_sample is not None and offset != per_sample.shape[0]:
        raise ValueError(
            f"neuron_selection has {per_sample.shape[0]} entries but the data has {offset} samples."
        )
    return _concatenate(parts)
