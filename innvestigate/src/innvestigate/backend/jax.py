"""JAX: vector–Jacobian products with ``jax.vjp``, compilation with ``jax.jit``."""

from __future__ import annotations

import jax
import keras
import numpy as np

__all__ = ["forward_with_vjp", "vjp", "compile_function"]


def forward_with_vjp(fn, xs):
    ys, vjp_fn = jax.vjp(lambda *a: list(fn(*a)), *xs)
    return ys, lambda cotangents: list(vjp_fn(list(cotangents)))


def vjp(fn, xs, cotangents):
    return forward_with_vjp(fn, xs)[1](cotangents)


def compile_function(fn, variables):
    variables = list(variables)

    # The variables are passed as arguments (not baked into the program as constants) and
    # substituted through a StatelessScope, as Keras' own JAX trainer does.
    def stateless(values, args):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn(*args)

    jitted = jax.jit(stateless)

    def run(*args):
        return jitted([v.value for v in variables], list(args))

    return run


def to_numpy(x):
    return np.asarray(x)
