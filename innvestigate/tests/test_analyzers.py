"""Analyzer-level oracles: identities from the theory and direct re-implementations."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases

pytestmark = pytest.mark.backend


def relu_conv_net(use_bias, rng, pool=True):
    # Kernels drawn from the test's rng: with Keras' unseeded initializers the weights (and so
    # whether a test's preconditions hold) would change from process to process.
    keras.utils.set_random_seed(int(rng.integers(2**31)))
    layers = [
        keras.Input((8, 8, 2)),
        keras.layers.Conv2D(4, 3, activation="relu", use_bias=use_bias),
    ]
    if pool:
        layers.append(keras.layers.MaxPooling2D())
    layers += [
        keras.layers.Conv2D(3, 2, activation="relu", use_bias=use_bias, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(6, activation="relu", use_bias=use_bias),
        keras.layers.Dense(3, use_bias=use_bias),
    ]
    model = keras.Sequential(layers)
    if use_bias:
        randomize_biases(model, rng, scale=0.1)
    return model


def mlp(rng, activation="relu"):
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(7, activation=activation),
            keras.layers.Dense(6, activation=activation),
            keras.layers.Dense(3),
        ]
    )
    randomize_biases(model, rng)
    return model


def test_lrp_z_equals_input_times_gradient_on_bias_free_relu_net(float64, rng):
    # Kindermans et al. (2016): exact for Dense, Conv and MaxPool networks without biases.
    model = relu_conv_net(False, rng)
    x = rng.normal(size=(3, 8, 8, 2))
    lrp = innvestigate.create_analyzer("lrp.z", model).analyze(x)
    ixg = innvestigate.create_analyzer("input_t_gradient", model).analyze(x)
    np.testing.assert_allclose(lrp, ixg, rtol=1e-8, atol=1e-12)
    # With biases in z (ReLU outputs equal z where active) LRP-Z still equals x·∇f, but
    # the ignore-bias variant and LRP-ε do not (and relevance is no longer conserved).
    biased = relu_conv_net(True, rng)
    ixg_b = innvestigate.create_analyzer("input_t_gradient", biased).analyze(x)
    np.testing.assert_allclose(
        innvestigate.create_analyzer("lrp.z", biased).analyze(x), ixg_b, rtol=1e-8, atol=1e-12
    )
    assert np.abs(innvestigate.create_analyzer("lrp.z_IB", biased).analyze(x) - ixg_b).max() > 1e-4
    assert (
        np.abs(
            innvestigate.create_analyzer("lrp.epsilon", biased, epsilon=0.1).analyze(x) - ixg_b
        ).max()
        > 1e-4
    )


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("lrp.z", {}),
        ("lrp.alpha_1_beta_0_IB", {}),
        ("lrp.z_plus", {}),
        ("lrp.w_square", {}),
        ("lrp.flat", {}),
        ("deep_taylor", {}),
        ("lrp.sequential_preset_a_flat", {"epsilon": 0.0}),
    ],
)
def test_relevance_is_conserved(float64, rng, name, kwargs):
    # On bias-free ReLU networks these rules conserve relevance layer by layer, so the
    # input relevance sums to the explained output. Deep Taylor included: Z⁺ above the
    # input layer reaches only active units, whose z⁺ > 0 without biases, and W² at the
    # input layer conserves exactly.
    model = relu_conv_net(False, rng)
    x = np.abs(rng.normal(size=(4, 8, 8, 2)))
    y = keras.ops.convert_to_numpy(model(x))
    keep = y.max(1) > 1e-3  # a selected neuron with value 0 carries no relevance
    expected = y.max(1)
    rel = innvestigate.create_analyzer(name, model, **kwargs).analyze(x)
    total = rel.reshape(4, -1).sum(1)
    np.testing.assert_allclose(total[keep], expected[keep], rtol=1e-7)


@pytest.mark.backend
@pytest.mark.parametrize("bounded", [False, True])
def test_deep_taylor_chooses_rules_by_input_domain(float64, rng, bounded):
    # Eqs. II.35-II.37 by hand on a biased two-layer ReLU net: the input layer reads the
    # network input (W², or Z^B on [low, high]), the output layer reads ReLU outputs (Z⁺).
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3)]
    )
    randomize_biases(model, rng, scale=0.1)
    (W1, b1), (W2, _) = model.layers[0].get_weights(), model.layers[1].get_weights()
    x = rng.uniform(-1.0, 1.0, size=(4, 6))
    h = np.maximum(x @ W1 + b1, 0)
    y = keras.ops.convert_to_numpy(model(x))
    j = y.argmax(1)
    out = np.zeros_like(y)
    out[np.arange(4), j] = y[np.arange(4), j]
    Wp2 = np.maximum(W2, 0)
    zp = h @ Wp2
    r_hidden = h * (np.divide(out, zp, out=np.zeros_like(out), where=out != 0) @ Wp2.T)
    if bounded:
        low, high = -1.0, 1.0
        Wp1, Wn1 = np.maximum(W1, 0), np.minimum(W1, 0)
        # Montavon et al. (2017): the input term uses the full weights, z = x·w − l·w⁺ − h·w⁻.
        z = x @ W1 - low * Wp1.sum(0) - high * Wn1.sum(0)
        s = r_hidden / z
        expected = x * (s @ W1.T) - low * (s @ Wp1.T) - high * (s @ Wn1.T)
        analyzer = innvestigate.create_analyzer("deep_taylor.bounded", model, low=low, high=high)
    else:
        expected = (r_hidden / (W1**2).sum(0)) @ (W1**2).T * np.ones_like(x)
        analyzer = innvestigate.create_analyzer("deep_taylor", model)
    np.testing.assert_allclose(analyzer.analyze(x), expected, rtol=1e-6, atol=1e-10)


def test_epsilon_absorbs_relevance(float64, rng):
    model = relu_conv_net(False, rng)
    x = np.abs(rng.normal(size=(2, 8, 8, 2))) + 0.5
    y = keras.ops.convert_to_numpy(model(x)).max(1)
    rel = (
        innvestigate.create_analyzer("lrp.epsilon", model, epsilon=1.0)
        .analyze(x)
        .reshape(2, -1)
        .sum(1)
    )
    assert np.all(np.abs(rel[y > 0]) < np.abs(y[y > 0]))


def manual_backprop(model, x, index, relu_backward):
    """Back-propagation through Dense layers with a custom ReLU backward rule (numpy)."""
    layers = model.layers
    acts, pre = [x], []
    h = x
    for layer in layers:
        W, b = layer.get_weights()
        z = h @ W + b
        pre.append(z)
        h = np.maximum(z, 0) if layer.activation.__name__ == "relu" else z
        acts.append(h)
    r = np.zeros_like(h)
    r[np.arange(len(r)), index] = 1.0
    for i in reversed(range(len(layers))):
        if layers[i].activation.__name__ == "relu":
            r = relu_backward(r, pre[i])
        r = r @ layers[i].get_weights()[0].T
    return r


def test_guided_backprop_and_deconvnet_match_definitions(float64, rng):
    model = mlp(rng)
    x = rng.normal(size=(5, 5))
    index = keras.ops.convert_to_numpy(model(x)).argmax(1)
    gb = innvestigate.create_analyzer("guided_backprop", model).analyze(x)
    dc = innvestigate.create_analyzer("deconvnet", model).analyze(x)
    g = innvestigate.create_analyzer("gradient", model).analyze(x)
    # Springenberg et al.: gradient mask and rectified signal; Zeiler & Fergus: rectified signal only.
    np.testing.assert_allclose(
        gb, manual_backprop(model, x, index, lambda r, z: np.maximum(r, 0) * (z > 0)), rtol=1e-10
    )
    np.testing.assert_allclose(
        dc, manual_backprop(model, x, index, lambda r, z: np.maximum(r, 0)), rtol=1e-10
    )
    np.testing.assert_allclose(
        g, manual_backprop(model, x, index, lambda r, z: r * (z > 0)), rtol=1e-10
    )
    assert not np.allclose(gb, g) and not np.allclose(dc, gb)


def test_integrated_gradients_is_complete(float64, rng):
    model = mlp(rng, activation="tanh")
    x = rng.normal(size=(3, 5))
    reference = rng.normal(size=(1, 5)) * 0.1
    index = keras.ops.convert_to_numpy(model(x)).argmax(1)
    f = lambda a: keras.ops.convert_to_numpy(model(a))[np.arange(3), index]  # noqa: E731
    gap = f(x) - f(np.broadcast_to(reference, x.shape))
    errors = []
    for steps in (4, 16, 64):
        ig = innvestigate.create_analyzer(
            "integrated_gradients", model, steps=steps, reference_inputs=reference
        ).analyze(x)
        errors.append(np.abs(ig.sum(1) - gap).max())
    assert errors[-1] < 1e-3 * np.abs(gap).max()
    # The midpoint rule's error falls about 16x per 4x steps.
    assert errors[2] < errors[1] / 8 and errors[1] < errors[0] / 8


def test_smoothgrad_honours_noise_scale(float64, rng):
    model = mlp(rng)
    x = rng.normal(size=(2, 5))
    g = innvestigate.create_analyzer("gradient", model).analyze(x)
    sg0 = innvestigate.create_analyzer(
        "smoothgrad", model, augment_by_n=3, noise_scale=0.0
    ).analyze(x)
    np.testing.assert_allclose(sg0, g, rtol=1e-10)
    # With noise, SmoothGrad is the average of gradients at the same noisy inputs.
    sg = innvestigate.create_analyzer(
        "smoothgrad", model, augment_by_n=5, noise_scale=0.7, random_state=3
    ).analyze(x)
    noise_rng = np.random.default_rng(3)
    grad = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    index = keras.ops.convert_to_numpy(model(x)).argmax(1)
    expected = np.mean(
        [
            grad.analyze(x + noise_rng.normal(0, 0.7, size=x.shape), neuron_selection=index)
            for _ in range(5)
        ],
        axis=0,
    )
    np.testing.assert_allclose(sg, expected, rtol=1e-10)
    sq = innvestigate.create_analyzer(
        "smoothgrad", model, augment_by_n=5, noise_scale=0.7, random_state=3, postprocess="square"
    ).analyze(x)
    assert np.all(sq >= 0) and not np.allclose(sq, sg**2)


def test_occlusion_matches_direct_loop(float64, rng):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, activation="tanh"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    randomize_biases(model, rng)
    x = rng.normal(size=(2, 6, 6, 2))
    got = innvestigate.create_analyzer(
        "occlusion", model, patch_size=2, reference_value=0.5, batch_size=7
    ).analyze(x)
    y = keras.ops.convert_to_numpy(model(x))
    index = y.argmax(1)
    expected = np.zeros_like(x)
    for n in range(2):
        for i in range(0, 6, 2):
            for j in range(0, 6, 2):
                occluded = x[n : n + 1].copy()
                occluded[:, i : i + 2, j : j + 2, :] = 0.5
                expected[n, i : i + 2, j : j + 2, :] = (
                    y[n, index[n]] - keras.ops.convert_to_numpy(model(occluded))[0, index[n]]
                )
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # Overlapping patches (stride 1) average the values of the patches covering a pixel.
    over = innvestigate.create_analyzer("occlusion", model, patch_size=3, strides=1).analyze(x[:1])
    direct = np.zeros((6, 6))
    counts = np.zeros((6, 6))
    for i in range(4):
        for j in range(4):
            occluded = x[:1].copy()
            occluded[:, i : i + 3, j : j + 3, :] = 0.0
            direct[i : i + 3, j : j + 3] += (
                y[0, index[0]] - keras.ops.convert_to_numpy(model(occluded))[0, index[0]]
            )
            counts[i : i + 3, j : j + 3] += 1
    np.testing.assert_allclose(over[0, :, :, 0], direct / counts, rtol=1e-10)


def test_lime_recovers_segment_contributions_of_a_linear_model(float64, rng):
    # For f(x) = wᵀx + b and reference 0, f of a masked image is linear in the segment
    # switches with coefficients Σ_{pixels of s} w x: the weighted ridge recovers them.
    model = keras.Sequential(
        [keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    randomize_biases(model, rng)
    x = rng.normal(size=(1, 6, 6, 1))
    labels = (np.arange(6)[:, None] // 3) * 2 + (np.arange(6)[None, :] // 3)  # 4 quadrants
    a = innvestigate.create_analyzer(
        "lime",
        model,
        segmentation=lambda img: labels,
        n_samples=200,
        ridge_alpha=1e-9,
        random_state=0,
    )
    got = a.analyze(x)
    W = model.layers[-1].get_weights()[0]
    k = keras.ops.convert_to_numpy(model(x)).argmax(1)[0]
    contrib = x[0, :, :, 0] * W[:, k].reshape(6, 6)
    expected = np.array([contrib[labels == s].sum() for s in range(4)])[labels]
    np.testing.assert_allclose(got[0, :, :, 0], expected, rtol=1e-6, atol=1e-8)


def test_lime_with_skimage_segments(rng):
    model = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    x = rng.random((1, 12, 12, 3)).astype("float32")
    a = innvestigate.create_analyzer(
        "lime", model, n_samples=40, random_state=0, segmentation_params={"n_segments": 4}
    )
    labels = a.segments(x[0])
    out = a.analyze(x)
    # Constant within each segment, one value per segment.
    for s in np.unique(labels):
        assert np.ptp(out[0][labels == s]) == 0


def test_analyzers_reject_bad_parameters():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="steps"):
        innvestigate.create_analyzer("integrated_gradients", model, steps=0)
    with pytest.raises(ValueError, match="noise_scale"):
        innvestigate.create_analyzer("smoothgrad", model, noise_scale=-1.0)
    with pytest.raises(ValueError, match="postprocess"):
        innvestigate.create_analyzer("gradient", model, postprocess="cube")
    with pytest.raises(ValueError, match="bn_layer_rule"):
        innvestigate.create_analyzer("lrp.epsilon", model, bn_layer_rule="nope")
    with pytest.raises(ValueError, match=r"low=\.\.\. and high"):
        innvestigate.create_analyzer("deep_taylor.bounded", model)


def test_fused_batchnorm_equals_manually_folded_model(float64, rng):
    # bn_layer_rule="fuse" must explain conv→BN→ReLU exactly like a conv whose weights
    # already contain the BatchNorm (W γ/√(σ²+ε), (b − μ) γ/√(σ²+ε) + β).
    inp = keras.Input((6, 6, 2))
    conv = keras.layers.Conv2D(3, 3)
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    h = keras.layers.Activation("relu")(bn(conv(inp)))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    randomize_biases(model, rng)
    K, b = conv.get_weights()
    gamma, beta, mean, var = bn.get_weights()
    scale = gamma / np.sqrt(var + 1e-3)
    folded = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    folded.layers[0].set_weights([K * scale, (b - mean) * scale + beta])
    folded.layers[2].set_weights(model.layers[-1].get_weights())
    x = rng.normal(size=(3, 6, 6, 2))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(folded(x)),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-6,
        atol=1e-7,
    )
    for name in ("lrp.epsilon", "lrp.alpha_2_beta_1", "lrp.z_plus"):
        got = innvestigate.create_analyzer(name, model, bn_layer_rule="fuse").analyze(x)
        expected = innvestigate.create_analyzer(name, folded).analyze(x)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # The other choices keep BatchNorm as a layer of its own and give other relevances.
    others = [
        innvestigate.create_analyzer("lrp.epsilon", model, bn_layer_rule=c).analyze(x)
        for c in ("one_linear", "two_linear", "hui_binder")
    ]
    fused = innvestigate.create_analyzer("lrp.epsilon", model).analyze(x)
    for o in others:
        assert np.all(np.isfinite(o)) and not np.allclose(o, fused)
