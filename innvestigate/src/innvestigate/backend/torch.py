"""PyTorch: vector–Jacobian products with ``torch.autograd.grad``; functions run eagerly.

``compile_function`` does not use ``torch.compile``: measured on CPU
(``benchmarks/bench_torch_compile.py``, BENCHMARKS.md) each analyzer's first call took 22–39 s,
later calls were no faster than eager ones, and the compiled analyzers returned zeros or
failed (Dynamo breaks the graph at ``torch.autograd.grad``; donated buffers refuse
``retain_graph=True``). Eager calls start in under a second.
"""

from __future__ import annotations

import keras
import numpy as np
import torch

__all__ = ["forward_with_vjp", "vjp", "compile_function", "to_numpy"]


def _differentiable(x):
    """``x`` as a tensor that autograd tracks.

    A tensor already on the tape (the output of an earlier node) gets a new view, so
    gradients can still flow through it to earlier nodes and a tensor passed twice (``x + x``)
    gets one partial derivative per argument, as with ``jax.vjp``; anything else becomes a
    fresh leaf, leaving the caller's tensor untouched.
    """
    x = keras.ops.convert_to_tensor(x)
    if x.requires_grad:
        return x.view_as(x)
    if not (x.is_floating_point() or x.is_complex()):
        return x  # integer inputs (e.g. indices) have no gradient; they get zeros below
    return x.detach().requires_grad_(True)


def forward_with_vjp(fn, xs):
    # compile_function runs analyzers under torch.no_grad() (and so may a caller); the tape
    # is needed here, including for the views taken in _differentiable.
    with torch.enable_grad():
        xs = [_differentiable(x) for x in xs]
        ys = list(fn(*xs))

    def vjp_fn(cotangents):
        pairs = [
            (y, keras.ops.convert_to_tensor(c, dtype=y.dtype))
            for y, c in zip(ys, cotangents)
            if isinstance(y, torch.Tensor) and y.requires_grad
        ]
        wrt = [i for i, x in enumerate(xs) if x.requires_grad]
        grads = [None] * len(xs)
        if pairs and wrt:
            outputs, grad_outputs = zip(*pairs)
            with torch.enable_grad():
                found = torch.autograd.grad(
                    outputs,
                    [xs[i] for i in wrt],
                    grad_outputs=grad_outputs,
                    # Kept: a rule may pull several cotangents through the same forward pass.
                    retain_graph=True,
                    # Inputs the outputs do not depend on get zeros, as with TensorFlow's
                    # UnconnectedGradients.ZERO.
                    allow_unused=True,
                )
            for i, g in zip(wrt, found):
                grads[i] = g
        return [torch.zeros_like(x) if g is None else g for x, g in zip(xs, grads)]

    return ys, vjp_fn


def vjp(fn, xs, cotangents):
    return forward_with_vjp(fn, xs)[1](cotangents)


def compile_function(fn, variables):
    # Eager: Keras' torch variables are torch Parameters, read at every call anyway.
    del variables

    def run(*args):
        # Outside forward_with_vjp nothing needs the tape: without it, plain forward passes
        # do not record graphs through the model's parameters (which require gradients) and
        # the results come back free of autograd history, as from a compiled function.
        with torch.no_grad():
            return fn(*keras.tree.map_structure(keras.ops.convert_to_tensor, args))

    return run


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
