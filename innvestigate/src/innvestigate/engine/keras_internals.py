"""The one place innvestigate reaches past Keras' public API, and why.

Everything else in innvestigate uses Keras' public API only (``keras.Model.inputs`` and
``outputs``, ``keras.StatelessScope``, ``keras.tree``, ``keras.ops``, ``keras.layers``).
Checked against Keras 3.15, four things have no public form; each is wrapped here, so that a
change in Keras breaks one module:

* **The active ``StatelessScope``** (``keras.src.backend.common.stateless_scope``): the
  engine substitutes weights (folded batch norm, the modified weights of LRP rules) inside
  an outer scope that the JAX backend opens for the model's variables, and must merge the
  two. ``keras.StatelessScope`` is public, but the scope in force is not: the getter is
  exported neither by ``keras.backend`` nor ``keras.config``, and a nested scope does not
  fall back to the outer one.
* **Keras masks attached to tensors** (``keras.src.backend.common.masking``): layers such as
  ``Embedding(mask_zero=True)`` and ``Masking`` attach a mask to their output, and the next
  layer's ``__call__`` reads it. Inside a vector–Jacobian product the tensors are new
  objects (JAX tracers, PyTorch views), so the engine carries masks itself and re-attaches
  them before each layer call. Keras exports no setter, and passing ``mask=`` to each call
  instead would need, per layer class, the structure of its mask argument (``Attention``
  takes a list of query and value masks).
* **The layer calls of a functional model** (``Functional._nodes_by_depth`` and its
  ``Node``/``SymbolicArguments`` objects): which operation was called on which tensors,
  with what other arguments, in what order. The public ``Model.layers`` and
  ``Model.operations`` list operations, not calls: a layer shared by two branches is one
  operation and two calls, and neither list gives a call's arguments. :func:`layer_calls`
  turns the nodes into plain :class:`LayerCall` records, so no other module sees a Node.
  (A built Sequential model is read through the public ``inputs`` and ``outputs``:
  ``keras.Model(model.inputs, model.outputs)`` is a functional model over its layer calls;
  its private ``_functional`` is not needed.)
* **Which class of Keras' own ops a recorded ``keras.ops`` call is** (the ``keras.src.ops``
  module of its class): ``x + y`` or ``keras.ops.reshape`` inside a functional model is
  recorded as an ``Add``/``Reshape`` Operation, whose classes Keras does not export
  (``keras.ops`` exports the functions). :func:`keras_operation_name` gives the class name
  for Keras' own operations and None for user-defined ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

__all__ = [
    "current_stateless_scope",
    "set_mask",
    "functional_of",
    "LayerCall",
    "layer_calls",
    "keras_operation_name",
]


def current_stateless_scope():
    """The active ``keras.StatelessScope`` or None."""
    from keras.src.backend.common.stateless_scope import get_stateless_scope

    return get_stateless_scope()


def set_mask(x, mask):
    """Attaches ``mask`` to ``x`` as Keras layers do (None removes it)."""
    from keras.src.backend.common.masking import set_keras_mask

    set_keras_mask(x, mask)


def functional_of(model):
    """A functional model over the layer calls of ``model`` (functional, or a built Sequential).

    Public API only: a functional model is returned as it is; a built Sequential model
    becomes ``keras.Model(model.inputs, model.outputs)``, the same layers and calls.

    Raises
    ------
    ValueError
        For a Sequential model that is not built.
    TypeError
        For a subclassed model (its layer graph is not known).
    """
    try:
        inputs, outputs = model.inputs, model.outputs
    except AttributeError:
        if isinstance(model, keras.Sequential):
            raise ValueError(
                f"Sequential model {model.name!r} is not built; give it an Input (keras.Input(shape)) "
                "or call model.build(input_shape) before analysing it."
            ) from None
        raise TypeError(
            f"Model {model.name!r} is a subclassed keras.Model; innvestigate reads functional and "
            "Sequential models only (their layer graph is known). Rebuild it with the functional API: "
            "inputs = keras.Input(...); outputs = ...; keras.Model(inputs, outputs)."
        ) from None
    if isinstance(model, keras.Sequential):
        return keras.Model(inputs, outputs, name=model.name)
    return model


@dataclass(frozen=True)
class LayerCall:
    """One call of an operation (layer or ``keras.ops`` function) recorded in a functional model.

    Attributes
    ----------
    operation : keras.Operation
        The layer (or op) that was called.
    args, kwargs : tuple, dict
        The call's arguments as recorded: ``keras.KerasTensor`` where a tensor was passed.
    keras_tensors : list of keras.KerasTensor
        The distinct tensor arguments, in the order of their first appearance.
    outputs : list of keras.KerasTensor
        The call's outputs, flattened.
    """

    operation: Any
    args: tuple
    kwargs: dict
    keras_tensors: list
    outputs: list

    def fill_in(self, values: dict):
        """``(args, kwargs)`` with each KerasTensor ``t`` replaced by ``values[id(t)]``."""

        def switch(x):
            return values[id(x)] if isinstance(x, keras.KerasTensor) else x

        return keras.tree.map_structure(switch, self.args), keras.tree.map_structure(
            switch, self.kwargs
        )

    @property
    def single_tensor(self) -> bool:
        """Whether the call took exactly one positional tensor and nothing else."""
        return (
            not self.kwargs and len(self.args) == 1 and isinstance(self.args[0], keras.KerasTensor)
        )


def layer_calls(functional) -> list[LayerCall]:
    """The layer calls of a functional model from the inputs to the outputs (input layers left out)."""
    by_depth = functional._nodes_by_depth
    calls = []
    for depth in sorted(by_depth.keys(), reverse=True):
        for node in by_depth[depth]:
            if node.is_input or isinstance(node.operation, keras.layers.InputLayer):
                continue
            arguments = node.arguments
            distinct = list({id(kt): kt for kt in arguments.keras_tensors}.values())
            calls.append(
                LayerCall(
                    node.operation,
                    tuple(arguments.args),
                    dict(arguments.kwargs),
                    distinct,
                    list(node.outputs),
                )
            )
    return calls


def keras_operation_name(op) -> str | None:
    """The class name of ``op`` if it is one of Keras' own ``keras.ops`` operations, else None."""
    if isinstance(op, keras.layers.Layer) or not type(op).__module__.startswith("keras.src.ops"):
        return None
    return type(op).__name__
