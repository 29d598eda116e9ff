"""The only backend-specific code: vector–Jacobian products and compilation.

Everything else in innvestigate is written with ``keras.ops``. Each supported Keras
backend (TensorFlow, JAX, PyTorch) has one small module here exposing four functions:

``forward_with_vjp(fn, xs)``
    Evaluates ``ys = fn(*xs)`` (a list of tensors) and returns ``(ys, vjp)`` where
    ``vjp(cotangents)`` gives the list of vector–Jacobian products, one per ``x``.
    ``vjp`` may be called several times (a rule pulls several cotangents through one
    forward pass); an ``x`` that the outputs do not depend on gets zeros.
``vjp(fn, xs, cotangents)``
    Shortcut for ``forward_with_vjp(fn, xs)[1](cotangents)``.
``compile_function(fn, variables)``
    Returns a callable equivalent to ``fn``, compiled where that pays (``tf.function`` /
    ``jax.jit``; PyTorch runs eagerly, see ``innvestigate.backend.torch``); the values of
    ``variables`` (the model's Keras variables) are read at each call.
``to_numpy(x)``
    A backend tensor as a numpy array (on the host, without autodiff history).

Examples
--------
>>> from innvestigate import backend
>>> ops = backend.get()
>>> callable(ops.vjp)
True
"""

from __future__ import annotations

import importlib

import keras

__all__ = ["get", "name", "SUPPORTED_BACKENDS"]

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")


def name() -> str:
    """The name of the active Keras backend."""
    return keras.backend.backend()


def get():
    """The backend module for the active Keras backend.

    Raises
    ------
    NotImplementedError
        If the active Keras backend is not supported (``numpy``, ``openvino``).
    """
    backend_name = name()
    if backend_name not in SUPPORTED_BACKENDS:
        raise NotImplementedError(
            f"innvestigate supports the Keras backends {SUPPORTED_BACKENDS}; the active backend is "
            f"{backend_name!r}. Set KERAS_BACKEND to one of them before importing keras."
        )
    return importlib.import_module(f"innvestigate.backend.{backend_name}")
