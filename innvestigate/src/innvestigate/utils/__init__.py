"""Utilities around the analyzers: batching over data sets and visualisation.

Import the submodules directly, e.g. ``from innvestigate.utils.batching import analyze_in_batches``
or ``import innvestigate.utils.visualizations as ivis``; nothing is imported eagerly here so that
the utilities load without a deep-learning backend.
"""
