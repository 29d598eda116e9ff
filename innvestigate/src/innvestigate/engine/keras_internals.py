"""The one place innvestigate reaches past Keras' public API, and why.

Keras 3 offers no public way to do three things the engine needs; each is wrapped here so
that a change in Keras breaks one module, with one message:

* **The active ``StatelessScope``** (``keras.src.backend.common.stateless_scope``): the
  engine substitutes weights (folded batch norm, the modified weights of LRP rules) inside
  an outer scope that the JAX backend opens for the model's variables, and must merge the two.
* **Keras masks attached to tensors** (``keras.src.backend.common.masking``): layers such as
  ``Embedding(mask_zero=True)`` and ``Masking`` attach a mask to their output, and the next
  layer's ``__call__`` reads it. Inside a vector–Jacobian product the tensors are new
  objects (JAX tracers, PyTorch views), so the engine carries masks itself and re-attaches
  them before each layer call.
* **The node graph of a functional model** (``Functional._nodes_by_depth``,
  ``Sequential._functional``): the layer calls, their argument structure and their order.
  ``keras.Model.get_layer``/``layers`` give layers, not calls, and no argument structure.
"""

from __future__ import annotations

import keras

__all__ = ["current_stateless_scope", "set_mask", "functional_of", "nodes_by_depth"]


def current_stateless_scope():
    """The active ``keras.StatelessScope`` or None."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope

    return get_stateless_scope()


def set_mask(x, mask):
    """Attaches ``mask`` to ``x`` as Keras layers do (None removes it)."""
    from keras.src.backend.common.masking import set_keras_mask

    set_keras_mask(x, mask)


def functional_of(model):
    """The functional graph behind ``model`` (a functional model, or a built Sequential).

    Raises
    ------
    ValueError
        For a Sequential model that is not built.
    TypeError
        For a subclassed model (its layer graph is not known).
    """
    if isinstance(model, keras.Sequential):
        functional = getattr(model, "_functional", None)
        if functional is None:
            raise ValueError(
                f"Sequential model {model.name!r} is not built; give it an Input (keras.Input(shape)) "
                "or call model.build(input_shape) before analysing it."
            )
        return functional
    if not hasattr(model, "_nodes_by_depth"):
        raise TypeError(
            f"Model {model.name!r} is a subclassed keras.Model; innvestigate reads functional and "
            "Sequential models only (their layer graph is known). Rebuild it with the functional API: "
            "inputs = keras.Input(...); outputs = ...; keras.Model(inputs, outputs)."
        )
    return model


def nodes_by_depth(functional):
    """The functional model's nodes, from the inputs to the outputs (lists per depth)."""
    by_depth = functional._nodes_by_depth
    return [by_depth[depth] for depth in sorted(by_depth.keys(), reverse=True)]
