"""Imported first by every example, before Keras: the backend starts without TensorFlow's
lines about a missing GPU on a CPU-only machine (``shared_datasets.startup``; every other
line, errors included, is written as usual)."""

from shared_datasets.startup import quiet_backend_startup

quiet_backend_startup()
