"""innvestigate: explanation methods for neural networks on Keras 3.

Examples
--------
>>> import numpy as np, keras, innvestigate
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
>>> analyzer = innvestigate.create_analyzer("lrp.epsilon", model)
>>> analyzer.analyze(np.ones((5, 4), "float32")).shape
(5, 4)
"""

from innvestigate import analyzer
from innvestigate.analyzer import ANALYZERS, create_analyzer, load_analyzer
from innvestigate.exceptions import (
    AnalyzerFileError,
    NeuronSelectionError,
    NotAnalyzeableModelException,
    SignalOverflowError,
    SoftmaxOutputError,
)
from innvestigate.utils.model import model_wo_softmax

__version__ = "3.0.0a1"

__all__ = [
    "analyzer",
    "ANALYZERS",
    "create_analyzer",
    "load_analyzer",
    "model_wo_softmax",
    "AnalyzerFileError",
    "NeuronSelectionError",
    "NotAnalyzeableModelException",
    "SignalOverflowError",
    "SoftmaxOutputError",
]
