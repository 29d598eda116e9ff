"""The bases: ORF, unbiasedness, convergence, the fast Hadamard transform, saving."""

import keras
import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from keras import ops

from rbkernels import (
    ArcCosBasis,
    GaussianBasis,
    HadamardBasis,
    OrthogonalRandomFeatures,
    fast_walsh_hadamard,
    kernel_approximation_error,
    kernel_matrix,
)

pytestmark = pytest.mark.backend


def _np(t):
    return np.asarray(ops.convert_to_numpy(t), dtype=np.float64)


def test_orf_blocks_are_orthogonal_with_chi_scales():
    d, m = 8, 400  # 50 stacked d x d blocks
    G = _np(OrthogonalRandomFeatures(seed=3)((d, m)))
    norms = np.linalg.norm(G, axis=0)
    for b in range(m // d):
        Q = G[:, b * d : (b + 1) * d] / norms[b * d : (b + 1) * d]
        np.testing.assert_allclose(Q.T @ Q, np.eye(d), atol=1e-5)
    # Scales are chi(d): a KS test, and the moments E[s^2] = d.
    assert scipy.stats.kstest(norms, scipy.stats.chi(d).cdf).pvalue > 0.01
    assert abs(np.mean(norms**2) - d) < 4 * np.sqrt(2 * d / m)
    # Different blocks are independent draws, not copies.
    assert not np.allclose(G[:, :d], G[:, d : 2 * d])


def test_orf_truncates_to_requested_columns():
    G = _np(OrthogonalRandomFeatures(seed=0)((5, 7)))
    # the same two 5 x 5 blocks as a (5, 10) draw with that seed, cut after 7 columns
    np.testing.assert_array_equal(G, _np(OrthogonalRandomFeatures(seed=0)((5, 10)))[:, :7])
    Q = G[:, :5] / np.linalg.norm(G[:, :5], axis=0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(5), atol=1e-5)


def _mean_over_seeds(make, X, n_seeds):
    vals = []
    for seed in range(n_seeds):
        phi = _np(make(seed)(X.astype("float32")))
        vals.append(phi @ phi.T)
    vals = np.array(vals)
    return vals.mean(0), vals.std(0) / np.sqrt(n_seeds)


@pytest.mark.parametrize("orthogonal", [True, False])
def test_gaussian_estimator_is_unbiased(rng, orthogonal):
    X = rng.normal(size=(4, 6))
    sigma = 2.5
    mean, se = _mean_over_seeds(
        lambda s: GaussianBasis(8, sigma, orthogonal=orthogonal, seed=s), X, 150
    )
    exact = _np(kernel_matrix("gaussian", X, sigma=sigma))
    np.testing.assert_allclose(np.diag(mean), 1.0, atol=1e-5)  # sin^2 + cos^2
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-3), (mean, exact, se)


def test_arccos_estimator_is_unbiased(rng):
    X = rng.normal(size=(4, 6))
    mean, se = _mean_over_seeds(lambda s: ArcCosBasis(8, seed=s), X, 150)
    exact = _np(kernel_matrix("arccos", X))
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-3), (mean, exact, se)
    # A factor-2 slip in the normalisation would be far outside the error bars.
    assert np.all(np.abs(2 * mean - exact)[np.eye(4, dtype=bool)] > 8 * se[np.eye(4, dtype=bool)])


@pytest.mark.parametrize(
    "kernel,make",
    [
        ("gaussian", lambda D: GaussianBasis(D, 3.0, seed=0)),
        ("arccos", lambda D: ArcCosBasis(D, seed=0)),
        ("arccos2", lambda D: ArcCosBasis(D, n_layers=2, seed=0)),
        ("gaussian", lambda D: HadamardBasis(D, 3.0, n_blocks=3, seed=0)),
    ],
)
def test_kae_of_random_basis_falls_with_D(rng, kernel, make):
    X = rng.normal(size=(60, 10))
    kaes = [kernel_approximation_error(make(D), X, kernel, sigma=3.0) for D in (16, 64, 512)]
    assert kaes[0] > kaes[1] > kaes[2]
    assert kaes[0] / kaes[2] > 8  # roughly 1/D: 32 expected


def test_fwht_equals_dense_hadamard(rng):
    for d in (1, 8, 64):
        x = rng.normal(size=(3, d))
        np.testing.assert_allclose(
            _np(fast_walsh_hadamard(x)), x @ scipy.linalg.hadamard(d), rtol=1e-4, atol=1e-4
        )
    x = rng.normal(size=(2, 5, 16))
    np.testing.assert_allclose(
        _np(fast_walsh_hadamard(x, normalize=True)), x @ scipy.linalg.hadamard(16) / 4, atol=1e-5
    )
    with pytest.raises(ValueError, match="power of two"):
        fast_walsh_hadamard(np.ones((2, 6)))


@pytest.mark.parametrize("n_blocks", [1, 3])
def test_hadamard_projection_equals_dense_structured_matrix(rng, n_blocks):
    d, sigma = 5, 1.3
    layer = HadamardBasis(40, sigma, n_blocks=n_blocks, seed=1)  # 20 frequencies: 3 stacks of 8
    X = rng.normal(size=(7, d)).astype("float32")
    layer(X)
    p = layer.padded_dim
    assert p == 8 and layer.n_stacks == 3
    H = scipy.linalg.hadamard(p) / np.sqrt(p)
    diags = _np(layer.diagonals)
    assert set(np.unique(diags)) == {-1.0, 1.0}
    Xp = np.pad(X.astype(np.float64), [(0, 0), (0, p - d)])
    cols = []
    for s in range(layer.n_stacks):
        W = np.eye(p)
        for i in range(n_blocks):  # W = H D_1 H D_2 ... H D_k
            W = W @ H @ np.diag(diags[s, i])
        cols.append(Xp @ W.T * np.sqrt(p) / sigma)
    z = np.concatenate(cols, axis=1)[:, :20]
    np.testing.assert_allclose(_np(layer.projection(X)), z, rtol=1e-4, atol=1e-4)
    phi = _np(layer(X))
    np.testing.assert_allclose(
        phi, np.sqrt(1 / 20) * np.concatenate([np.sin(z), np.cos(z)], 1), atol=1e-4
    )


def test_more_hadamard_blocks_approximate_better(rng):
    X = rng.normal(size=(80, 16))
    kae = {
        k: np.mean(
            [
                kernel_approximation_error(
                    HadamardBasis(512, 4.0, n_blocks=k, seed=s), X, "gaussian", sigma=4.0
                )
                for s in range(3)
            ]
        )
        for k in (1, 3)
    }
    assert kae[3] < kae[1]


@pytest.mark.parametrize(
    "layer",
    [
        lambda: GaussianBasis(16, 2.0, seed=0, name="g"),
        lambda: ArcCosBasis(30, n_layers=3, seed=0),
        lambda: HadamardBasis(24, 2.0, n_blocks=2, seed=0),
    ],
)
def test_saving_round_trip(tmp_path, rng, layer):
    X = rng.normal(size=(5, 7)).astype("float32")
    model = keras.Sequential([keras.Input((7,)), layer()])
    # Move the weights away from the seeded initialisation so the file must carry them.
    model.set_weights([w + 0.1 for w in model.get_weights()])
    path = tmp_path / "basis.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(_np(loaded(X)), _np(model(X)), rtol=1e-5, atol=1e-6)
    assert type(loaded.layers[0]) is type(model.layers[0])
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


@pytest.mark.parametrize("cls", [GaussianBasis, HadamardBasis])
def test_odd_width_drops_last_sine(rng, cls):
    X = rng.normal(size=(3, 5)).astype("float32")
    odd, even = cls(7, 1.5, seed=2), cls(8, 1.5, seed=2)
    a, b = _np(odd(X)), _np(even(X))
    z = _np(even.projection(X)) if cls is HadamardBasis else None
    assert a.shape == (3, 7)
    np.testing.assert_allclose(
        a[:, :3] * np.sqrt(7 / 2), b[:, :3] * np.sqrt(8 / 2), atol=1e-5
    )  # sines
    np.testing.assert_allclose(
        a[:, 3:] * np.sqrt(7 / 2), b[:, 4:] * np.sqrt(8 / 2), atol=1e-5
    )  # cosines
    if z is not None:
        np.testing.assert_allclose(b[:, 4:], np.cos(z) / 2, atol=1e-5)


def test_width_mismatch_raises(rng):
    layer = GaussianBasis(8, 1.0, seed=0)
    layer(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"axis -1|incompatible"):
        layer(np.ones((2, 4), "float32"))


@pytest.mark.parametrize("cls", [GaussianBasis, HadamardBasis])
def test_bad_arguments_raise(cls):
    with pytest.raises(ValueError, match="units=0 is too small"):
        cls(0, 1.0)
    with pytest.raises(ValueError, match="units"):
        cls(-3, 1.0)
    with pytest.raises(ValueError, match="sigma"):
        cls(8, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        cls(8, -2.0)
    with pytest.raises(TypeError, match="units"):
        cls(8.5, 1.0)
    with pytest.raises(TypeError, match=r"pass units=\.\.\."):
        cls(sigma=1.0)


def test_arccos_bad_arguments_and_non_finite_inputs():
    with pytest.raises(ValueError, match="n_layers"):
        ArcCosBasis(10, n_layers=4)
    with pytest.raises(ValueError, match="units=2 is too small"):
        ArcCosBasis(2, n_layers=3)
    X = np.ones((2, 3), "float32")
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ArcCosBasis(10)(X)
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        GaussianBasis(10, 1.0)(X)


def test_deep_arccos_splits_features_evenly():
    layer = ArcCosBasis(10, n_layers=3, seed=0)
    layer(np.ones((1, 4), "float32"))
    assert [tuple(k.shape) for k in layer.kernels] == [(4, 4), (4, 3), (3, 3)]
    assert layer.output_dim == 3
    W = [_np(k) for k in layer.kernels]
    x = np.arange(4.0)[None]
    h = x
    for w in W:
        h = np.sqrt(1 / w.shape[1]) * np.maximum(h @ w, 0)
    np.testing.assert_allclose(_np(layer(x.astype("float32"))), h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda **w: GaussianBasis(sigma=1.5, seed=4, **w),
        lambda **w: HadamardBasis(sigma=1.5, n_blocks=2, seed=4, **w),
        lambda **w: ArcCosBasis(n_layers=2, seed=4, **w),
    ],
)
def test_n_features_is_a_deprecated_alias_of_units(rng, make):
    X = rng.normal(size=(3, 5)).astype("float32")
    new = make(units=12)
    with pytest.warns(
        DeprecationWarning, match=r"n_features=\.\.\.\) is deprecated.*units="
    ) as record:
        old = make(n_features=12)
    assert record[0].filename == __file__  # the warning points at the caller
    np.testing.assert_array_equal(_np(old(X)), _np(new(X)))
    old_config, new_config = old.get_config(), new.get_config()
    assert old_config.pop("name") != new_config.pop("name")  # only the automatic names differ
    assert old_config == new_config and new_config["units"] == 12 and "n_features" not in new_config
    with pytest.raises(TypeError, match="both units=12 and n_features=12"):
        make(units=12, n_features=12)


@pytest.mark.parametrize(
    "cls,extra",
    [
        (GaussianBasis, {"sigma": 2.0, "orthogonal": True}),
        (HadamardBasis, {"sigma": 2.0, "n_blocks": 2}),
        (ArcCosBasis, {"n_layers": 3}),
    ],
)
def test_configs_saved_with_n_features_still_load(rng, recwarn, cls, extra):
    """rbkernels 0.1 saved the width as n_features: from_config reads it as units, quietly."""
    config = {**cls(units=30, seed=1, name="b", **extra).get_config()}
    config["n_features"] = config.pop("units")
    old = cls.from_config(config)
    assert (
        old.units == 30
        and old.get_config() == cls(units=30, seed=1, name="b", **extra).get_config()
    )
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
    X = rng.normal(size=(2, 4)).astype("float32")
    np.testing.assert_array_equal(_np(old(X)), _np(cls(units=30, seed=1, **extra)(X)))
