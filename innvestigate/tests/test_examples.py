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
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
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
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr
