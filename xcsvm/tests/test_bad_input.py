"""Bad input: clear, typed errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from conftest import blobs
from xcsvm import CSClassifier, LLWClassifier, WWClassifier

ALL = [WWClassifier, LLWClassifier, CSClassifier]


@pytest.fixture
def data():
    return blobs(60, 4, 3, seed=0)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_values(cls, data, value):
    X, y = data
    X = X.copy()
    X[3, 1] = value
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        cls().fit(X, y)


@pytest.mark.parametrize("cls", ALL)
def test_no_samples_and_one_class(cls, data):
    X, y = data
    with pytest.raises(ValueError, match="0 sample"):
        cls().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="at least two classes"):
        cls().fit(X, np.zeros(len(y)))


@pytest.mark.parametrize("cls", ALL)
def test_empty_rows_without_intercept(cls, data):
    X, y = data
    X = sp.csr_matrix(X)
    X = sp.vstack([X, sp.csr_matrix((1, X.shape[1]))]).tocsr()
    y = np.append(y, 0)
    with pytest.raises(ValueError, match=r"all-zero row.*row 60.*fit_intercept=True"):
        cls(fit_intercept=False).fit(X, y)
    cls(fit_intercept=True).fit(X, y)  # the constant feature makes the row usable


@pytest.mark.parametrize("cls", ALL)
def test_shape_mismatch(cls, data):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cls().fit(X, y[:-1])
    model = cls().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :-1])
    with pytest.raises(NotFittedError):
        cls().predict(X)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("C", [0.0, -1.0])
def test_non_positive_C(cls, data, C):
    X, y = data
    with pytest.raises(InvalidParameterError, match="'C' parameter"):
        cls(C=C).fit(X, y)


@pytest.mark.parametrize("cls", ALL)
def test_negative_and_zero_weights(cls, data):
    X, y = data
    weights = np.ones(len(y))
    weights[5] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        cls().fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match="at least one non-zero"):
        cls().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="n_jobs == 0"):
        cls(n_jobs=0).fit(X, y)
