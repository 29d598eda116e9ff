"""The adapter to Keras internals: the only module that reaches them, and what it returns."""

import pathlib
import re

import keras
import numpy as np
import pytest

from innvestigate.engine import keras_internals

pytestmark = pytest.mark.backend

SRC = pathlib.Path(keras_internals.__file__).resolve().parents[1]
PRIVATE = re.compile(
    r"keras\.src|\._nodes_by_depth|\._functional\b|_keras_mask|_inbound_nodes|_outbound_nodes|_keras_history"
)


def test_no_module_but_the_adapter_reaches_keras_internals():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "keras_internals.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []


def shared_layer_model():
    inp = keras.Input((3,))
    shared = keras.layers.Dense(3, activation="tanh", name="shared")
    a = shared(inp)
    b = shared(a)  # the same layer called twice: one operation, two calls
    out = keras.layers.Dense(2, name="head")(a + b)
    return keras.Model(inp, out)


def run_calls(model, x):
    """Evaluates the model call by call through LayerCall.fill_in."""
    functional = keras_internals.functional_of(model)
    values = {id(functional.inputs[0]): keras.ops.convert_to_tensor(x)}
    for call in keras_internals.layer_calls(functional):
        args, kwargs = call.fill_in(values)
        for kt, y in zip(call.outputs, keras.tree.flatten(call.operation(*args, **kwargs))):
            values[id(kt)] = y
    return keras.ops.convert_to_numpy(values[id(keras.tree.flatten(functional.outputs)[0])])


def test_layer_calls_list_each_call_in_order_and_rebuild_the_output():
    model = shared_layer_model()
    calls = keras_internals.layer_calls(model)
    names = [c.operation.name for c in calls]
    assert names[:2] == ["shared", "shared"] and names[-1] == "head"
    assert [keras_internals.keras_operation_name(c.operation) for c in calls] == [
        None,
        None,
        "Add",
        None,
    ]
    add = calls[2]
    assert add.keras_tensors == [calls[0].outputs[0], calls[1].outputs[0]]
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(run_calls(model, x), keras.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_a_tensor_passed_twice_is_one_input_of_the_call():
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Multiply()([inp, inp]))
    (call,) = keras_internals.layer_calls(model)
    assert call.keras_tensors == [model.inputs[0]] and not call.single_tensor
    args, _ = call.fill_in({id(model.inputs[0]): 2.0})
    assert args == ([2.0, 2.0],)


def test_functional_of_a_sequential_model_is_public_and_computes_the_same():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)]
    )
    functional = keras_internals.functional_of(model)
    assert functional is not model and [layer.name for layer in functional.layers[1:]] == [
        layer.name for layer in model.layers
    ]
    assert all(
        a is b for a, b in zip(functional.layers[1:], model.layers)
    )  # same layers, same weights
    x = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(run_calls(model, x), keras.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_functional_of_unreadable_models_says_what_to_do():
    with pytest.raises(ValueError, match="not built"):
        keras_internals.functional_of(keras.Sequential([keras.layers.Dense(2)]))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.ones((1, 3), "float32"))
    with pytest.raises(TypeError, match="functional API"):
        keras_internals.functional_of(model)


def test_keras_operation_name_is_none_for_user_operations():
    class Double(keras.Operation):
        def call(self, x):
            return 2 * x

        def compute_output_spec(self, x):
            return keras.KerasTensor(x.shape, x.dtype)

    inp = keras.Input((3,))
    model = keras.Model(inp, Double()(keras.ops.reshape(inp, (-1, 3))))
    kinds = [
        keras_internals.keras_operation_name(c.operation)
        for c in keras_internals.layer_calls(model)
    ]
    assert kinds == ["Reshape", None]
