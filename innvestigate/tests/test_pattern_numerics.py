"""PatternNet / PatternAttribution numerics: degenerate neurons, centred statistics, overflow."""

import keras
import numpy as np
import pytest

import innvestigate

pytestmark = pytest.mark.backend


def test_pattern_is_zero_for_neurons_without_variance(rng):
    """A neuron whose output does not vary over the counted samples has the pattern 0/0 → 0.

    Regression: the raw moments E[xy] − E[x]E[y] (float32 sums) left a covariance of pure
    round-off for a ReLU neuron seen once (or a constant one), and its pattern was round-off
    divided by round-off — a direction with wᵀa = 1 and any size (it overflowed InceptionV3).
    """
    d = 8
    X = rng.normal(size=(300, d)).astype("float32")
    W = rng.normal(size=(d, 4)).astype("float32")
    b = np.zeros(4, "float32")
    W[:, 1] = X[7] / np.linalg.norm(X[7])  # fires for sample 7 only
    top = np.sort(X @ W[:, 1])
    b[1] = -(top[-2] + top[-1]) / 2
    W[:, 2] = 0.0  # constant output 0.75 for every sample
    b[2] = 0.75
    model = keras.Sequential(
        [keras.Input((d,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    model.layers[0].set_weights([W, b])
    assert ((X @ W[:, 1] + b[1]) > 0).sum() == 1
    a = innvestigate.create_analyzer("pattern.net", model, pattern_type="relu")
    a.fit(X, batch_size=64)
    p = a.patterns_[0]
    np.testing.assert_array_equal(p[:, 1:3], 0.0)
    # The other neurons keep exact patterns: wᵀa = 1 and a = cov₊[x, y] / var₊[y] (float64 reference).
    Xd, Wd = X.astype(np.float64), W.astype(np.float64)
    for j in (0, 3):
        y = Xd @ Wd[:, j] + b[j]
        m = y > 0
        cov = (Xd[m] - Xd[m].mean(0)).T @ (y[m] - y[m].mean()) / m.sum()
        np.testing.assert_allclose(p[:, j], cov / (Wd[:, j] @ cov), rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(W[:, j] @ p[:, j], 1.0, rtol=1e-5)


def test_pattern_statistics_are_centred(rng):
    """Patterns of neurons with offset inputs and outputs (float32 model) match the float64 formula.

    The raw moments E[xy] − E[x]E[y] cancel catastrophically when |E[x]|, |E[y]| ≫ their
    spread; the statistics are centred per batch and merged over batches (Chan et al.).
    """
    d = 8
    X = (20.0 + rng.normal(size=(512, d))).astype("float32")
    W = rng.normal(size=(d, 2)).astype("float32")
    b = np.array([3e3, -3e3 / 7], "float32")
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(2)])
    model.layers[0].set_weights([W, b])
    Xd = X.astype(np.float64)
    y = Xd @ W.astype(np.float64) + b
    cov = (Xd - Xd.mean(0)).T @ (y - y.mean(0)) / len(Xd)
    exact = cov / (W * cov).sum(0)
    a = innvestigate.create_analyzer("pattern.net", model, pattern_type="linear")
    a.fit(X, batch_size=64)
    # Raw moments: 2e-3 of the largest entry (TensorFlow and JAX); centred: 6e-6.
    np.testing.assert_allclose(a.patterns_[0], exact, rtol=0, atol=5e-5 * np.abs(exact).max())


def _amplifying_chain(dtype):
    keras.utils.set_random_seed(0)
    inp = keras.Input((2,), dtype=dtype)
    h = keras.layers.Dense(2, activation="relu", name="d1", dtype=dtype)(inp)
    h = keras.layers.Dense(2, activation="relu", name="d2", dtype=dtype)(h)
    model = keras.Model(inp, keras.layers.Dense(1, name="d3", dtype=dtype)(h))
    for layer in model.layers[1:]:
        layer.set_weights([np.full(w.shape, 0.5, dtype) for w in layer.get_weights()])
    # Patterns 10²⁰ times the filters' scale: the exact signal at the input is ~10⁴⁰.
    patterns = [np.full((2, 2), 1e20), np.full((2, 2), 1e20), np.ones((2, 1))]
    return model, patterns


def test_signal_beyond_float32_raises_and_is_exact_in_float64(float64):
    """PatternNet's result is linear in the patterns: 4·10⁴⁰·y here (float64), which float32
    cannot hold — a typed error naming the layer, instead of inf/nan."""
    x = np.array([[1.0, 2.0]])
    model64, patterns = _amplifying_chain("float64")
    a64 = innvestigate.create_analyzer("pattern.net", model64, patterns=patterns)
    y = float(keras.ops.convert_to_numpy(model64(x))[0, 0])
    # r(d2 out) = y·1, r(d1 out) = 10²⁰·2y, r(x) = 10²⁰·2·(2·10²⁰·y) per input.
    np.testing.assert_allclose(a64.analyze(x), np.full((1, 2), 4e40 * y), rtol=1e-12)

    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")
    model32, patterns = _amplifying_chain("float32")
    a32 = innvestigate.create_analyzer(
        "pattern.net", model32, patterns=[p.astype("float32") for p in patterns]
    )
    with pytest.raises(
        innvestigate.SignalOverflowError, match="float32 range at layer 'd1', 3 Dense/Conv"
    ) as err:
        a32.analyze(x.astype("float32"))
    assert err.value.layer == "d1"
    # Largest finite reversed value 2·10²⁰·y, two Dense layers from the output.
    np.testing.assert_allclose(err.value.gain, (2e20) ** 0.5, rtol=1e-5)
