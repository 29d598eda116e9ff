"""The reverse-propagation engine: a Keras model as a DAG of layers, walked backwards."""

from innvestigate.engine.graph import AnalysisGraph, GraphNode, build_graph
from innvestigate.engine.reverse import ReverseState, reverse_propagate

__all__ = ["AnalysisGraph", "GraphNode", "build_graph", "ReverseState", "reverse_propagate"]
