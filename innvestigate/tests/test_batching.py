"""Tests of innvestigate.utils.batching: every container gives the same result as one big call."""

import numpy as np
import pytest

from innvestigate.utils.batching import analyze_in_batches, count_batches, iterate_batches

RNG = np.random.default_rng(0)
W = RNG.normal(size=(6, 4))


def logits(x):
    return x.reshape(len(x), -1) @ W


def gradient_of_logit(x, neuron_selection=None):
    """Exact gradient of the linear model's selected logit (the max logit when None)."""
    x = np.asarray(x)
    if neuron_selection is None:
        neuron_selection = np.argmax(logits(x), axis=1)
    idx = np.broadcast_to(np.asarray(neuron_selection), (len(x),))
    return W[:, idx].T.reshape(x.shape)


X = RNG.normal(size=(23, 6))
Y = RNG.integers(0, 4, size=23)


def test_array_batches_cover_all_samples_in_order():
    batches = list(iterate_batches(X, batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(batches), X)
    assert count_batches(X, 5) == 5


def test_multi_input_list_is_cut_together():
    X2 = RNG.normal(size=(23, 2))
    batches = list(iterate_batches([X, X2], batch_size=10))
    assert len(batches) == 3
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), X2)
    with pytest.raises(ValueError, match="same number of samples"):
        list(iterate_batches([X, X2[:5]], batch_size=4))


def test_array_generator_and_per_sample_selection_agree_with_one_call():
    expected = gradient_of_logit(X, Y)
    got = analyze_in_batches(gradient_of_logit, X, batch_size=4, progress=False, neuron_selection=Y)
    np.testing.assert_array_equal(got, expected)
    gen = ((X[i : i + 7], Y[i : i + 7]) for i in range(0, 23, 7))
    got = analyze_in_batches(gradient_of_logit, gen, progress=False, neuron_selection="targets")
    np.testing.assert_array_equal(got, expected)
    # a generator of inputs only, per-sample indices sliced by running offset
    gen = (X[i : i + 6] for i in range(0, 23, 6))
    got = analyze_in_batches(gradient_of_logit, gen, progress=False, neuron_selection=Y)
    np.testing.assert_array_equal(got, expected)


def test_one_hot_targets_and_int_selection():
    one_hot = np.eye(4)[Y]
    got = analyze_in_batches(
        gradient_of_logit, [(X, one_hot)], progress=False, neuron_selection="targets"
    )
    np.testing.assert_array_equal(got, gradient_of_logit(X, Y))
    got = analyze_in_batches(gradient_of_logit, X, batch_size=8, progress=False, neuron_selection=2)
    np.testing.assert_array_equal(got, np.tile(W[:, 2], (23, 1)))


def test_default_selection_passes_no_keyword():
    calls = []

    def fn(x):
        calls.append(len(x))
        return x * 2

    np.testing.assert_array_equal(analyze_in_batches(fn, X, batch_size=10, progress=False), 2 * X)
    assert calls == [10, 10, 3]


def test_tf_dataset_batches():
    tf = pytest.importorskip("tensorflow")
    ds = tf.data.Dataset.from_tensor_slices((X.astype("float32"), Y)).batch(5)
    assert count_batches(ds) == 5
    got = analyze_in_batches(gradient_of_logit, ds, progress=False, neuron_selection="targets")
    np.testing.assert_allclose(got, gradient_of_logit(X, Y))
    ds_x = tf.data.Dataset.from_tensor_slices(X).batch(9)
    np.testing.assert_array_equal(np.concatenate(list(iterate_batches(ds_x))), X)


def test_keras_py_dataset():
    keras = pytest.importorskip("keras")

    class Seq(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return X[i * 8 : (i + 1) * 8], Y[i * 8 : (i + 1) * 8]

    got = analyze_in_batches(gradient_of_logit, Seq(), progress=False, neuron_selection="targets")
    np.testing.assert_array_equal(got, gradient_of_logit(X, Y))


def test_bad_input_errors():
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_batches(X, batch_size=0))
    with pytest.raises(TypeError, match="Cannot iterate"):
        list(iterate_batches(3.0))
    with pytest.raises(ValueError, match="no batch"):
        analyze_in_batches(gradient_of_logit, iter([]), progress=False)
    with pytest.raises(ValueError, match="23 samples"):
        analyze_in_batches(gradient_of_logit, X, progress=False, neuron_selection=Y[:5])
    with pytest.raises(ValueError, match="labels"):
        analyze_in_batches(gradient_of_logit, X, progress=False, neuron_selection="targets")
    with pytest.raises(ValueError, match="tuple"):
        list(iterate_batches([(X, Y, Y, Y)]))


def test_progress_bar_reports_total(capsys):
    analyze_in_batches(lambda x: x, X, batch_size=5, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err


@pytest.mark.backend
def test_analyzer_over_generator_dataset_and_large_array_equals_one_call():
    keras = pytest.importorskip("keras")
    import innvestigate

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(4),
        ]
    )
    Xf = X.astype("float32")
    analyzer = innvestigate.create_analyzer("lrp.epsilon", model, neuron_selection_mode="index")
    expected = analyzer.analyze(Xf, neuron_selection=Y)
    # a large array in batches (with a progress bar), per-sample neuron indices sliced along
    got = analyze_in_batches(analyzer.analyze, Xf, batch_size=5, progress=False, neuron_selection=Y)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # a generator of (x, y) batches through analyzer.analyze itself, explaining the labels
    gen = ((Xf[i : i + 6], Y[i : i + 6]) for i in range(0, 23, 6))
    got = analyze_in_batches(analyzer.analyze, gen, progress=False, neuron_selection="targets")
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # and analyze() accepts the generator directly (it hands non-array input to analyze_in_batches)
    default = innvestigate.create_analyzer("lrp.epsilon", model)
    got = default.analyze(Xf[i : i + 7] for i in range(0, 23, 7))
    np.testing.assert_allclose(got, default.analyze(Xf), rtol=1e-6, atol=1e-7)
