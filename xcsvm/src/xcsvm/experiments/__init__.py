"""Reproductions of the thesis' experiments (``python -m xcsvm.experiments.reproduce``)."""
