"""PatternNet / PatternAttribution on the signal–distractor toy of Fig. II.2, fitting over
generators, and saving / loading analyzers."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases

pytestmark = pytest.mark.backend


def toy(n, rng):
    """x = a_s y + a_d ε (Eq. II.29, Fig. II.2); falls back to a local copy of the generator."""
    try:
        from shared_datasets import make_signal_distractor

        X, y, signal, _ = make_signal_distractor(n, return_components=True, random_state=rng)
    except ImportError:  # pragma: no cover
        y = rng.uniform(-1, 1, n)
        eps = rng.normal(0, 1, n)
        signal = y[:, None] * np.array([1.0, 0.0])
        X = signal + eps[:, None] * np.array([1.0, 1.0])
    return X, y, signal


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("pattern_type", ["linear", "relu"])
def test_patternnet_recovers_signal_direction(float64, rng, pattern_type):
    X, y, signal = toy(4000, rng)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].set_weights([np.array([[1.0], [-1.0]])])  # the filter w ⟂ a_d
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(X))[:, 0], y, atol=1e-10)
    a = innvestigate.create_analyzer(
        "pattern.net", model, pattern_type=pattern_type, neuron_selection_mode="all"
    )
    a.fit(X)
    pattern = a.patterns_[0][:, 0]
    # The filter is far from the signal direction a_s = (1, 0); the pattern is on it.
    assert abs(cosine(np.array([1.0, -1.0]), np.array([1.0, 0.0]))) < 0.75
    assert cosine(pattern, np.array([1.0, 0.0])) > 0.999
    # PatternNet's output for a sample is its signal component a_s y.
    signal_estimate = a.analyze(X[:200])
    np.testing.assert_allclose(signal_estimate, signal[:200], atol=0.05)
    gradient = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="all").analyze(
        X[:200]
    )
    assert np.abs(gradient - signal[:200]).max() > 0.5
    # PatternAttribution: weights ⊙ pattern (Eq. V.2), times the output.
    attribution = innvestigate.create_analyzer(
        "pattern.attribution", model, patterns=a.patterns_, neuron_selection_mode="all"
    ).analyze(X[:5])
    np.testing.assert_allclose(
        attribution, y[:5, None] * (np.array([1.0, -1.0]) * pattern), rtol=1e-8
    )


def relu_net(rng):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(2),
        ]
    )
    randomize_biases(model, rng, 0.1)
    return model


def naive_patterns(model, X, relu_layers):
    """Patterns by the formulas of Kindermans et al. (2018) on explicit patches (numpy)."""
    conv, _, _, dense1, dense2 = model.layers
    K, b = conv.get_weights()
    patches = np.stack(
        [X[:, i : i + 3, j : j + 3, :].reshape(len(X), -1) for i in range(4) for j in range(4)], 1
    ).reshape(-1, 9)
    out = []
    inputs = [patches]
    h = np.maximum(keras.ops.convert_to_numpy(conv(X)), 0)
    h = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D()(h)).reshape(len(X), -1)
    inputs.append(h)
    inputs.append(np.maximum(h @ dense1.get_weights()[0] + dense1.get_weights()[1], 0))
    for layer, x, relu in zip([conv, dense1, dense2], inputs, relu_layers):
        W, bias = layer.get_weights()
        W = W.reshape(-1, W.shape[-1])
        yv = x @ W + bias
        mask = (yv > 0) if relu else np.ones_like(yv, bool)
        pattern = np.zeros_like(W)
        for j in range(W.shape[1]):
            m = mask[:, j]
            if m.sum() < 2:
                continue  # y does not vary over < 2 samples: pattern 0/0, taken as 0 (no signal)
            xs, ys = x[m], yv[m, j]
            cov = (xs * ys[:, None]).mean(0) - xs.mean(0) * ys.mean()
            pattern[:, j] = cov / (W[:, j] @ cov)
        out.append(pattern)
    return out


def test_relu_patterns_match_formula_and_generator_fit(float64, rng):
    model = relu_net(rng)
    X = rng.normal(size=(300, 6, 6, 1))
    a = innvestigate.create_analyzer("pattern.net", model, pattern_type="relu")
    a.fit(X, batch_size=64)
    expected = naive_patterns(model, X, [True, True, False])
    for got, exp in zip(a.patterns_, expected):
        np.testing.assert_allclose(got.reshape(exp.shape), exp, rtol=1e-7, atol=1e-9)
    # Fitting over a generator of batches gives the same patterns.
    b = innvestigate.create_analyzer("pattern.net", model, pattern_type="relu")
    b.fit(X[i : i + 50] for i in range(0, 300, 50))
    for p, q in zip(a.patterns_, b.patterns_):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_pattern_analyzer_needs_patterns(rng):
    model = relu_net(rng)
    a = innvestigate.create_analyzer("pattern.attribution", model)
    with pytest.raises(RuntimeError, match="fit"):
        a.analyze(np.zeros((1, 6, 6, 1), "float32"))
