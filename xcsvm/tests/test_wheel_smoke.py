"""Smoke test of an installed xcsvm: cibuildwheel runs it on every wheel it builds.

It needs only numpy, scipy, scikit-learn and pytest (no conftest, no test helpers):
``pytest --noconftest -p no:cacheprovider xcsvm/tests/test_wheel_smoke.py``. It checks
that the compiled kernels load, that each formulation solves a tiny separable problem
(every training point right, decision values consistent with ``coef_``), that CSR and
dense input train the same model, and that a model survives a save/load round trip.
"""

import importlib
import importlib.machinery

import numpy as np
import pytest
import scipy.sparse as sp

from xcsvm import CSClassifier, LLWClassifier, WWClassifier, load_model, save_model

ESTIMATORS = [WWClassifier, LLWClassifier, CSClassifier]


def _separable(n_per_class=20, seed=0):
    """Three well separated clusters in 4-D (margin far larger than the noise)."""
    rng = np.random.default_rng(seed)
    centres = 4.0 * np.eye(3, 4)
    X = np.vstack([c + 0.3 * rng.standard_normal((n_per_class, 4)) for c in centres])
    y = np.repeat(np.array([10, 20, 30]), n_per_class)
    return X, y


@pytest.mark.parametrize("module", ["ww", "llw", "cs", "sparse_ops"])
def test_kernels_are_compiled_extensions(module):
    kernel = importlib.import_module(f"xcsvm.solvers.{module}")
    assert kernel.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fit_predict_separable(Estimator):
    X, y = _separable()
    model = Estimator(C=10.0, tol=1e-3, random_state=0).fit(X, y)
    assert model.classes_.tolist() == [10, 20, 30]
    assert np.array_equal(model.predict(X), y)
    # decision values are X W^T + b, and predict is their argmax
    scores = X @ model.coef_.T + model.intercept_
    np.testing.assert_allclose(model.decision_function(X), scores, rtol=1e-10, atol=1e-10)
    assert np.array_equal(model.classes_[np.argmax(scores, axis=1)], y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_csr_and_dense_input_train_the_same_model(Estimator):
    X, y = _separable()
    dense = Estimator(C=1.0, tol=1e-3, random_state=0).fit(X, y)
    sparse = Estimator(C=1.0, tol=1e-3, random_state=0).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_save_load_round_trip(Estimator, tmp_path):
    X, y = _separable()
    model = Estimator(C=1.0, tol=1e-3, random_state=0).fit(X, y)
    save_model(tmp_path / "model.npz", model)
    loaded = load_model(tmp_path / "model.npz")
    assert type(loaded) is Estimator
    assert np.array_equal(loaded.coef_, model.coef_)
    assert np.array_equal(loaded.intercept_, model.intercept_)
    assert np.array_equal(loaded.predict(X), model.predict(X))
