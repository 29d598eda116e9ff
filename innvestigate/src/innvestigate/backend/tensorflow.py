"""TensorFlow: vector–Jacobian products with ``tf.GradientTape``, compilation with ``tf.function``."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["forward_with_vjp", "vjp", "compile_function"]


def forward_with_vjp(fn, xs):
    xs = [tf.convert_to_tensor(x) for x in xs]
    # Persistent: a rule may pull several cotangents through the same forward pass.
    # Only the xs are watched: with the variables watched too, every traced VJP also built
    # the gradients with respect to the weights (back through a folded BatchNorm), pruned
    # before running but traced and optimised at the first call (LRP-ε on ResNet50: 3525
    # graph ops instead of 2358).
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        for x in xs:
            tape.watch(x)
        ys = list(fn(*xs))

    def vjp_fn(cotangents):
        return list(
            tape.gradient(
                ys,
                xs,
                output_gradients=list(cotangents),
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
        )

    return ys, vjp_fn


def vjp(fn, xs, cotangents):
    return forward_with_vjp(fn, xs)[1](cotangents)


class _AnalyzerFunction:
    """``fn`` behind a callable object of its own, so that TensorFlow counts its traces apart.

    TensorFlow warns ("triggered tf.function retracing") when one Python function is traced
    five times within ten calls, and it identifies functions by their code object when they
    have one. Every analyzer compiles a closure of the same code, so five analyzers of one
    model would count as one function retraced five times. A callable object has no code
    object and is identified by itself: the count is per analyzer, where a retrace is worth
    a warning.
    """

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, *args):
        return self._fn(*args)


def compile_function(fn, variables):
    # tf.function captures Keras variables by reference, so their current values are read
    # at every call; it keeps one concrete function per input signature. (Not
    # reduce_retracing: its graphs have an unknown batch size, which the analyzers' static
    # shape arithmetic, e.g. the width of a one-hot neuron selection, does not allow.)
    del variables
    compiled = tf.function(_AnalyzerFunction(fn), autograph=False)

    def run(*args):
        # numpy arguments become tensors first, so a new array of the same shape and dtype
        # reuses the traced graph instead of retracing.
        return compiled(*tf.nest.map_structure(tf.convert_to_tensor, args))

    return run


def to_numpy(x):
    return x.numpy() if hasattr(x, "numpy") else x
