"""The contract of the backend modules (innvestigate.backend): VJPs, compilation, to_numpy."""

import keras
import numpy as np
import pytest

from innvestigate import backend

pytestmark = pytest.mark.backend


def _np(t):
    return np.asarray(backend.get().to_numpy(t))


def test_get_returns_the_module_of_the_active_backend():
    assert keras.backend.backend() in backend.SUPPORTED_BACKENDS
    assert backend.get().__name__ == f"innvestigate.backend.{keras.backend.backend()}"


def test_unsupported_backend_names_the_supported_ones(monkeypatch):
    monkeypatch.setattr(backend, "name", lambda: "numpy")
    with pytest.raises(NotImplementedError, match=r"'numpy'.*KERAS_BACKEND"):
        backend.get()


def test_vjp_is_reusable_and_exact(float64, rng):
    # y = x W (two outputs: y and y²): each call of vjp gives W c for its own cotangents.
    W = rng.normal(size=(4, 3))
    x = rng.normal(size=(5, 4))
    Wt = keras.ops.convert_to_tensor(W)

    def fn(a):
        y = keras.ops.matmul(a, Wt)
        return [y, y * y]

    ys, vjp = backend.get().forward_with_vjp(fn, [keras.ops.convert_to_tensor(x)])
    np.testing.assert_allclose(_np(ys[0]), x @ W, rtol=1e-12)
    y = x @ W
    for _ in range(2):
        c1, c2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
        (g,) = vjp([keras.ops.convert_to_tensor(c1), keras.ops.convert_to_tensor(c2)])
        np.testing.assert_allclose(_np(g), (c1 + 2 * y * c2) @ W.T, rtol=1e-10, atol=1e-12)
    # The one-shot form agrees.
    (g,) = backend.get().vjp(
        fn,
        [keras.ops.convert_to_tensor(x)],
        [keras.ops.convert_to_tensor(c1), keras.ops.convert_to_tensor(c2)],
    )
    np.testing.assert_allclose(_np(g), (c1 + 2 * y * c2) @ W.T, rtol=1e-10, atol=1e-12)


def test_unconnected_input_gets_zeros(float64, rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 5))
    c = rng.normal(size=(2, 3))
    ga, gb = backend.get().vjp(
        lambda p, q: [3.0 * p],
        [keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)],
        [keras.ops.convert_to_tensor(c)],
    )
    np.testing.assert_allclose(_np(ga), 3.0 * c, rtol=1e-12)
    np.testing.assert_array_equal(_np(gb), np.zeros((2, 5)))


def test_compiled_function_reads_current_variable_values(float64, rng):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    x = rng.normal(size=(3, 4))
    fn = backend.get().compile_function(lambda a: model(a), model.variables)
    for _ in range(2):
        W, b = rng.normal(size=(4, 2)), rng.normal(size=(2,))
        model.layers[0].set_weights([W, b])
        out = _np(fn(x))
        assert isinstance(out, np.ndarray)
        np.testing.assert_allclose(out, x @ W + b, rtol=1e-12)
