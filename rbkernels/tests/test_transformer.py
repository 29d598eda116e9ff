"""BasisFeatures: the scikit-learn contract and agreement with RBFSampler."""

import pickle

import numpy as np
import pytest
from sklearn.kernel_approximation import RBFSampler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbkernels import (
    ArcCosBasis,
    BasisFeatures,
    basis_features,
    kernel_approximation_error,
    kernel_target_alignment,
)


@parametrize_with_checks(
    [
        BasisFeatures(n_components=20, random_state=0),
        BasisFeatures("arccos", n_components=20, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.backend
def test_kae_comparable_with_rbfsampler_at_equal_width(rng):
    X = rng.normal(size=(150, 10))
    ours = BasisFeatures(n_components=400, random_state=0).fit(X)
    gamma = 1 / (2 * ours.sigma_**2)
    theirs = RBFSampler(gamma=gamma, n_components=400, random_state=0).fit(X)
    assert ours.transform(X).shape == theirs.transform(X).shape == (150, 400)
    kae_ours = kernel_approximation_error(ours, X, "gaussian")
    kae_theirs = kernel_approximation_error(theirs, X, "gaussian")
    # Same kernel, same width: errors of the same order; ORF beats i.i.d. cosines.
    assert kae_ours < kae_theirs
    assert kae_theirs < 20 * kae_ours


@pytest.mark.backend
def test_uab_transformer_lowers_kae_and_sab_raises_alignment(digits):
    Xt, yt, Xs, ys = digits
    kw = dict(n_components=20, max_epochs=8, train_batches=30, random_state=0)
    rb = BasisFeatures(**kw).fit(Xt)
    uab = BasisFeatures(adapt="uab", **kw).fit(Xt)
    sab = BasisFeatures(adapt="sab", **kw).fit(Xt, yt)
    assert rb.sigma_ == uab.sigma_ == sab.sigma_
    assert kernel_approximation_error(uab, Xs[:300], "gaussian") < 0.8 * kernel_approximation_error(
        rb, Xs[:300], "gaussian"
    )

    def align(f):
        F = f.transform(Xs[:300])
        return kernel_target_alignment(F @ F.T, ys[:300])

    assert align(sab) > align(rb) + 0.05


@pytest.mark.backend
def test_pickle_round_trip_keeps_features(rng):
    X = rng.normal(size=(30, 4))
    f = BasisFeatures("gaussian", 16, basis="hadamard", n_blocks=2, random_state=0).fit(X)
    g = pickle.loads(pickle.dumps(f))
    np.testing.assert_allclose(g.transform(X), f.transform(X), rtol=1e-6)


@pytest.mark.backend
@pytest.mark.parametrize("kernel,n_layers", [("arccos", 1), ("arccos2", 2), ("arccos3", 3)])
def test_arccos_transformer_is_the_seeded_arccos_basis(rng, kernel, n_layers):
    """The deep ArcCos features are the last layer of ArcCosBasis(n_components, n_layers)."""
    X = rng.normal(size=(10, 4))
    f = BasisFeatures(kernel, n_components=30, random_state=5).fit(X)
    layer = ArcCosBasis(30, n_layers=n_layers, seed=5)
    expected = basis_features(layer, X.astype("float32"))
    np.testing.assert_allclose(f.transform(X), expected, rtol=1e-5, atol=1e-6)
    # and that layer is relu(x W) / sqrt(width), layer after layer, in float64
    h = X
    for W in layer.get_weights():
        h = np.maximum(h @ W.astype(np.float64), 0) / np.sqrt(W.shape[1])
    np.testing.assert_allclose(f.transform(X), h, rtol=1e-5, atol=1e-6)
    names = f.get_feature_names_out()
    assert list(names) == [f"basisfeatures{i}" for i in range(h.shape[1])]


def test_transformer_bad_input(rng):
    X = rng.normal(size=(30, 4))
    with pytest.raises(ValueError, match="unknown kernel"):
        BasisFeatures("poly").fit(X)
    with pytest.raises(ValueError, match="n_components"):
        BasisFeatures(n_components=0).fit(X)
    with pytest.raises(ValueError, match="sigma"):
        BasisFeatures(sigma=-1.0).fit(X)
    with pytest.raises(ValueError, match="adapt"):
        BasisFeatures(adapt="dab").fit(X)
    with pytest.raises(ValueError, match="pass y"):
        BasisFeatures(adapt="sab").fit(X)
    with pytest.raises(ValueError, match="Hadamard"):
        BasisFeatures("arccos", basis="hadamard").fit(X)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"infinity|NaN"):
        BasisFeatures().fit(bad)
    f = BasisFeatures(random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        f.transform(X[:, :3])
    with pytest.raises(TypeError):
        kernel_approximation_error(object(), X, "gaussian")
