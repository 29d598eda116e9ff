"""The planted tasks: the planted token/patch is exactly where the returned position says,
decides the label, and is the only class evidence in the input."""

import numpy as np
import pytest

from shared_datasets import InvalidParameterError, make_planted_patches, make_planted_tokens
from shared_datasets.planted import class_phrases, planted_textures


@pytest.mark.parametrize("phrase_length", [1, 3])
def test_planted_phrase_sits_at_its_position_and_is_the_only_class_token(phrase_length):
    n, L, V, K = 500, 12, 40, 5
    X, y, pos = make_planted_tokens(n, L, V, K, phrase_length=phrase_length, random_state=3)
    assert (
        X.dtype == np.int32 and X.shape == (n, L) and y.dtype == np.int64 and pos.dtype == np.int64
    )
    phrases = class_phrases(K, phrase_length)
    n_class_ids = K * phrase_length
    for i in range(n):
        np.testing.assert_array_equal(X[i, pos[i] : pos[i] + phrase_length], phrases[y[i]])
        rest = np.delete(X[i], np.arange(pos[i], pos[i] + phrase_length))
        # filler only: no padding, no token of any class phrase outside the planted one
        assert rest.min() >= n_class_ids + 1 and rest.max() <= V - 1
    # the label is a function of the planted tokens alone: decode it back
    decoded = (X[np.arange(n), pos] - 1) // phrase_length
    np.testing.assert_array_equal(decoded, y)
    # every class, every start position and every filler id occur
    assert set(y.tolist()) == set(range(K))
    assert set(pos.tolist()) == set(range(L - phrase_length + 1))
    assert set(np.unique(X).tolist()) == set(range(1, V))


def test_tokens_deterministic_with_random_state():
    a = make_planted_tokens(50, 8, 20, 3, random_state=7)
    b = make_planted_tokens(50, 8, 20, 3, random_state=np.random.default_rng(7))
    c = make_planted_tokens(50, 8, 20, 3, random_state=8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": 6, "n_classes": 5}, "vocab_size >= 7"),
        ({"seq_len": 2, "phrase_length": 3}, "does not fit"),
        ({"n_classes": 1}, "n_classes must be an integer >= 2"),
        ({"pad_id": 3}, "pad_id must be 0"),
        ({"n_samples": 2.0}, "n_samples must be an integer"),
    ],
)
def test_tokens_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_planted_tokens(**kwargs)


def test_textures_are_distinct_binary_patterns():
    for patch in (4, 7, 16):
        t = planted_textures(8, patch)
        assert t.shape == (8, patch, patch) and set(np.unique(t)) <= {0.0, 1.0}
        flat = t.reshape(8, -1)
        assert len({row.tobytes() for row in flat}) == 8
    np.testing.assert_array_equal(planted_textures(1, 4)[0], [[1] * 4, [0] * 4, [1] * 4, [0] * 4])


@pytest.mark.parametrize("channels", [None, 3])
def test_planted_patch_is_the_texture_of_the_label_and_the_rest_is_untouched(channels):
    rng = np.random.default_rng(0)
    shape = (300, 28, 28) if channels is None else (300, 28, 28, channels)
    images = rng.uniform(size=shape)
    original = images.copy()
    X, y, idx = make_planted_patches(
        images, n_classes=4, patch=7, value_range=(-1.0, 2.0), random_state=1
    )
    assert X.dtype == np.float32 and X.shape == shape and y.dtype == np.int64
    textures = -1.0 + 3.0 * planted_textures(4, 7)
    for i in range(len(X)):
        row, col = divmod(int(idx[i]), 4)
        inside = np.zeros((28, 28), bool)
        inside[7 * row : 7 * row + 7, 7 * col : 7 * col + 7] = True
        cell = X[i][inside].reshape(7, 7, -1)
        np.testing.assert_array_equal(cell, np.broadcast_to(textures[y[i]][..., None], cell.shape))
        np.testing.assert_array_equal(X[i][~inside], images[i][~inside].astype(np.float32))
    assert set(y.tolist()) == set(range(4)) and set(idx.tolist()) == set(range(16))
    np.testing.assert_array_equal(images, original)  # the backgrounds are not modified


def test_patches_deterministic_with_random_state():
    images = np.zeros((20, 14, 14))
    a = make_planted_patches(images, 3, patch=7, random_state=5)
    b = make_planted_patches(images, 3, patch=7, random_state=5)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    "images, kwargs, message",
    [
        (np.zeros((2, 28 * 28)), {}, "reshape flat rows"),
        (np.zeros((2, 30, 28)), {}, "not a multiple of patch=7"),
        (np.zeros((2, 28, 28)), {"n_classes": 9}, "at most 8"),
        (np.zeros((2, 28, 28)), {"patch": 3}, "patch must be an integer >= 4"),
        (np.zeros((2, 28, 28)), {"value_range": (1.0, 1.0)}, "value_range"),
        (np.array([[["a"] * 28] * 28]), {}, "real numbers"),
    ],
)
def test_patches_bad_input_is_refused(images, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_planted_patches(images, **kwargs)


def test_blank_label_has_no_class_token_and_no_texture():
    X, y, pos = make_planted_tokens(400, 10, 30, 3, include_blank=True, random_state=2)
    blank = y == 3
    assert set(y.tolist()) == {0, 1, 2, 3} and np.all(pos[blank] == -1) and np.all(pos[~blank] >= 0)
    assert X[blank].min() >= 4  # filler only
    np.testing.assert_array_equal(X[~blank][np.arange((~blank).sum()), pos[~blank]], y[~blank] + 1)
    assert (X[~blank] <= 3).sum(1).tolist() == [1] * int((~blank).sum())  # exactly one class token
    images = np.random.default_rng(0).uniform(size=(200, 14, 14))
    Xi, yi, idx = make_planted_patches(images, 2, patch=7, include_blank=True, random_state=3)
    blank = yi == 2
    assert blank.any() and np.all(idx[blank] == -1) and np.all(idx[~blank] >= 0)
    np.testing.assert_array_equal(Xi[blank], images[blank].astype(np.float32))
    textures = planted_textures(2, 7)
    for i in np.flatnonzero(~blank):
        r, c = divmod(int(idx[i]), 2)
        np.testing.assert_array_equal(Xi[i, 7 * r : 7 * r + 7, 7 * c : 7 * c + 7], textures[yi[i]])
