"""Evaluation tools for explanations: perturbation analysis (Samek et al. 2017) and the
bounding-box relevance ratio (thesis Chapter V §4.5).

Import the submodules directly: ``from innvestigate.tools.perturbation import PerturbationAnalysis``,
``from innvestigate.tools.bounding_box import bounding_box_relevance_ratio``.
"""
