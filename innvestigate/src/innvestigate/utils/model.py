"""Model helpers: removing the softmax from a model's output."""

from __future__ import annotations

import keras

from innvestigate.engine import checks, keras_internals

__all__ = ["model_wo_softmax", "model_wo_output_activation"]


def _output_call(functional, output):
    for layer_call in keras_internals.layer_calls(functional):
        if any(o is output for o in layer_call.outputs):
            return layer_call
    raise ValueError("Could not find the layer producing the model output.")


def model_wo_output_activation(model, activation: str = "softmax"):
    """A copy of ``model`` whose outputs skip a final ``activation`` (other layers are shared).

    Outputs produced by an ``Activation``/``Softmax`` layer are replaced by that layer's
    input; outputs of a Dense/Conv layer with the activation get a twin layer without it
    with a copy of the original weights. Other outputs are kept.
    """
    functional = keras_internals.functional_of(model)
    outputs = keras.tree.flatten(functional.outputs)
    new_outputs = []
    changed = False
    for output in outputs:
        layer_call = _output_call(functional, output)
        layer = layer_call.operation
        if checks.is_activation_layer(layer) and checks.activation_name(layer) == activation:
            new_outputs.append(layer_call.keras_tensors[0])
            changed = True
        elif hasattr(layer, "activation") and checks.activation_name(layer) == activation:
            twin = layer.__class__.from_config(
                {
                    **layer.get_config(),
                    "activation": "linear",
                    "name": f"{layer.name}_wo_{activation}",
                }
            )
            args, kwargs = layer_call.args, layer_call.kwargs
            twin.build(keras.tree.map_structure(lambda t: t.shape, args[0]))
            twin.set_weights(layer.get_weights())
            new_outputs.append(twin(*args, **kwargs))
            changed = True
        else:
            new_outputs.append(output)
    if not changed:
        return model
    out = new_outputs if len(new_outputs) > 1 else new_outputs[0]
    inputs = functional.inputs
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    return keras.Model(inputs, out, name=f"{model.name}_wo_{activation}")


def model_wo_softmax(model):
    """The model without the softmax on its output(s), as explanation methods expect.

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model.

    Returns
    -------
    keras.Model
        The same model if no output passes through a softmax; otherwise a model sharing
        its layers whose outputs are the pre-softmax values.

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    >>> logits = innvestigate.model_wo_softmax(model)
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(keras.ops.softmax(logits(x)), model(x), atol=1e-6))
    True
    """
    return model_wo_output_activation(model, "softmax")
