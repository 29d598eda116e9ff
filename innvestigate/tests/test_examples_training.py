"""The examples' full-mode training: the cosine learning-rate decay ends at zero, the cache is used."""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))


def test_decay_runs_the_learning_rate_down_to_zero_over_the_epochs_and_caches(tmp_path):
    keras = pytest.importorskip("keras")
    import _common

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)).astype("float32")
    y = (X[:, 0] > 0).astype("int64")

    def build():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])

    cache = str(tmp_path / "m.keras")
    model, seconds = _common.train(
        build(), X, y, epochs=3, cache_path=cache, batch_size=16, decay=True
    )
    # 3 epochs of ceil(50 / 16) = 4 steps: the cosine schedule is at its end, 0, after 12 steps
    assert int(model.optimizer.iterations) == 12
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
    assert seconds > 0
    constant, _ = _common.train(build(), X, y, epochs=3, batch_size=16)
    assert float(constant.optimizer.learning_rate) == pytest.approx(1e-3)  # no decay: Adam's 1e-3
    again, seconds_again = _common.train(build(), X, y, epochs=3, cache_path=cache, decay=True)
    assert seconds_again == 0.0  # loaded from the cache, not trained
    np.testing.assert_array_equal(
        again.layers[-1].get_weights()[0], model.layers[-1].get_weights()[0]
    )
