"""Trivial analyzers: the input itself and random noise (baselines for comparisons)."""

from __future__ import annotations

import numpy as np

from innvestigate.analyzer.base import AnalyzerBase

__all__ = ["Input", "Random"]


class Input(AnalyzerBase):
    """Returns the input unchanged (a baseline "explanation").

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> innvestigate.create_analyzer("input", model).analyze(np.ones((1, 2), "float32"))
    array([[1., 1.]], dtype=float32)
    """

    _explains_output = False

    def _analyze_batch(self, xs, indices):
        return [x.copy() for x in xs]


class Random(AnalyzerBase):
    """Gaussian noise shaped like the input (a baseline for perturbation analysis).

    Parameters
    ----------
    stddev : float
        Standard deviation of the noise.
    random_state : int, optional

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> innvestigate.create_analyzer("random", model, random_state=0).analyze(np.ones((4, 2), "float32")).shape
    (4, 2)
    """

    _explains_output = False

    def __init__(self, model, stddev: float = 1.0, random_state=None, **kwargs):
        super().__init__(model, **kwargs)
        if not np.isfinite(stddev) or stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {stddev!r}.")
        self._stddev = float(stddev)
        self._rng = np.random.default_rng(random_state)
        self._store(stddev=self._stddev, random_state=random_state)

    def _analyze_batch(self, xs, indices):
        return [self._rng.normal(0.0, self._stddev, size=x.shape).astype(x.dtype) for x in xs]
