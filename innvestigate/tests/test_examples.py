"""The examples' own building blocks: synthetic bounding boxes, batch-norm recalibration, driver."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))


def test_placed_digits_lie_inside_their_boxes_and_cue_outside():
    import bounding_box_analysis as bba

    rng = np.random.default_rng(0)
    X = np.zeros((3, 28, 28, 1), "float32")
    X[0, 5:20, 10:15] = 1.0
    X[1, 0:28, 3:4] = 0.5
    X[2, 12:13, 12:13] = 0.9
    y = np.array([bba.CUE_CLASS, 1, 2])
    placed, boxes = bba.place(X, y, rng)
    for i in range(3):
        t, l, b, r = boxes[i]
        inside = np.zeros(placed.shape[1:3], bool)
        inside[t:b, l:r] = True
        digit = placed[i, ..., 0] > 0.1
        digit[0:3, 0:3] = False  # the cue
        assert digit[~inside].sum() == 0 and digit[inside].sum() == (X[i] > 0.1).sum()
        # tight: every border row / column of the box touches the digit
        assert digit[t].any() and digit[b - 1].any() and digit[:, l].any() and digit[:, r - 1].any()
    assert np.all(placed[0, 0:3, 0:3] == 1.0) and np.all(placed[1:, 0:3, 0:3] == 0.0)
    assert np.all(boxes[:, :2] >= 4)  # the cue corner never overlaps a box


def test_batch_norm_recalibration_stores_the_batch_statistics():
    keras = pytest.importorskip("keras")
    import _common

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4), keras.layers.BatchNormalization()]
    )
    X = np.random.default_rng(0).normal(2.0, 3.0, size=(64, 5)).astype("float32")
    _common.recalibrate_batch_norm(model, X)
    bn = model.layers[-1]
    z = np.asarray(model.layers[0](X))
    np.testing.assert_allclose(np.asarray(bn.moving_mean), z.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), z.var(0), rtol=1e-3, atol=1e-4)
    assert bn.momentum == 0.99  # restored


def test_run_all_rejects_unknown_example(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "run_all.py"), "--out", str(tmp_path), "--only", "nope"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_planted_scores_and_patch_relevance_of_the_sequence_example():
    import _sequence_models as sm

    R = np.array([[0.5, 2.0, -1.0, 1.5], [3.0, -2.0, 1.0, 0.0], [-1.0, -2.0, -3.0, -4.0]])
    top1, share = sm.planted_scores(R, np.array([1, 1, 0]))
    np.testing.assert_array_equal(top1, [True, False, True])
    np.testing.assert_allclose(share, [2.0 / 4.0, 0.0, 0.0])  # no positive relevance: share 0
    image = np.arange(16.0).reshape(1, 4, 4, 1)
    # 2x2 cells, row by row: [0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15]
    np.testing.assert_array_equal(sm.patch_relevance(image, 2), [[10.0, 18.0, 42.0, 50.0]])
    P = sm.sinusoidal_positions(3, 4)
    np.testing.assert_allclose(P[:, 0], np.sin([0.0, 1.0, 2.0]), rtol=1e-6)
    np.testing.assert_allclose(P[:, 3], np.cos(np.arange(3) / 100.0), rtol=1e-6)


def test_token_heatmap_colours_words_by_relevance_and_frames_the_planted_token():
    import matplotlib

    matplotlib.use("Agg")
    import explain_sequences as es
    import matplotlib.pyplot as plt

    assert es.token_words([0, 1, 4, 9]) == ["<pad>", "alpha", "delta", "w9"]
    fig, ax = plt.subplots()
    es.draw_token_heatmap(ax, ["a", "b", "c"], np.array([2.0, -1.0, 0.0]), planted=0, label="x")
    boxes = ax.patches
    red, blue, white = (c.get_facecolor() for c in boxes)
    assert red[0] > 0.9 and red[2] < 0.1  # +max: full red
    assert blue[2] > 0.9 and blue[0] < blue[2]  # negative: blue
    assert np.allclose(white[:3], 1.0, atol=0.01)  # zero: white
    assert boxes[0].get_linewidth() == 2.0 and boxes[0].get_edgecolor()[:3] == (0.0, 0.0, 0.0)
    assert boxes[1].get_edgecolor()[3] == 0.0  # only the planted token is framed
    plt.close(fig)
