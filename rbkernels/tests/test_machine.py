"""KernelMachine: RB, UAB, SAB and DAB do what §4 says they do; the estimator contract."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbkernels import (
    ArcCosBasis,
    KernelMachine,
    TrainingProtocol,
    basis_features,
    kernel_target_alignment,
    paired_kernel,
)

SMALL = TrainingProtocol(
    max_epochs=8, train_batches=30, val_batches=5, test_batches=20, patience=3, learning_rate=0.005
)


def _alignment(machine, X, y):
    F = basis_features(machine.basis_, X).astype(np.float64)
    return np.mean(
        [
            kernel_target_alignment(F[i : i + 64] @ F[i : i + 64].T, y[i : i + 64])
            for i in range(0, len(X) - 63, 64)
        ]
    )


@pytest.mark.backend
@pytest.mark.parametrize("kernel", ["gaussian", "arccos"])
def test_uab_lowers_kae_below_its_initialisation(digits, kernel):
    Xt, yt, Xs, _ = digits
    rb = KernelMachine(kernel, 16, "uab", protocol=SMALL, random_state=0).init_basis(Xt)
    uab = KernelMachine(kernel, 16, "uab", protocol=SMALL, random_state=0).fit_basis(Xt)
    assert uab.sigma_ == rb.sigma_
    before = rb.pair_kernel_approximation_error(Xs)
    after = uab.pair_kernel_approximation_error(Xs)
    assert after < 0.8 * before, (before, after)
    hist = uab.history_["adaptation"]["val_loss"]
    assert min(hist) < hist[0]


@pytest.mark.backend
def test_sab_raises_alignment(digits):
    Xt, yt, Xs, ys = digits
    rb = KernelMachine("gaussian", 32, "rb", protocol=SMALL, random_state=1).init_basis(Xt)
    sab = KernelMachine("gaussian", 32, "sab", protocol=SMALL, random_state=1).fit_basis(Xt, yt)
    a0, a1 = _alignment(rb, Xs, ys), _alignment(sab, Xs, ys)
    assert a1 > a0 + 0.05, (a0, a1)


@pytest.mark.backend
def test_dab_trains_basis_and_beats_random_basis(digits):
    Xt, yt, Xs, ys = digits
    proto = TrainingProtocol(max_epochs=20, patience=3, learning_rate=0.01)
    rb = KernelMachine("arccos", 16, "rb", protocol=proto, random_state=0).fit(Xt, yt)
    dab = KernelMachine("arccos", 16, "dab", protocol=proto, random_state=0).fit(Xt, yt)
    # Same seed: same initial basis; DAB moved it, RB did not.
    init = KernelMachine("arccos", 16, "rb", protocol=proto, random_state=0).init_basis(Xt)
    np.testing.assert_allclose(rb.basis_.get_weights()[0], init.basis_.get_weights()[0])
    assert not np.allclose(dab.basis_.get_weights()[0], init.basis_.get_weights()[0])
    acc_rb, acc_dab = rb.score(Xs, ys), dab.score(Xs, ys)
    assert acc_dab > 0.85 and acc_dab > acc_rb + 0.03, (acc_rb, acc_dab)


@pytest.mark.backend
def test_transfer_keeps_basis_and_learns_new_classes(digits):
    Xt, yt, Xs, ys = digits
    t1, t2 = yt < 5, yt >= 5
    m = KernelMachine(
        "gaussian", 200, "rb", protocol=TrainingProtocol(max_epochs=10, patience=3), random_state=0
    ).fit(Xt[t1], yt[t1])
    other = m.transfer(Xt[t2], yt[t2])
    np.testing.assert_allclose(other.basis_.get_weights()[0], m.basis_.get_weights()[0])
    assert list(other.classes_) == [5, 6, 7, 8, 9]
    assert other.score(Xs[ys >= 5], ys[ys >= 5]) > 0.8


@pytest.mark.backend
@pytest.mark.parametrize("basis,patience", [("hadamard", 20), ("dense", 10)])
def test_early_stopping_waits_20_epochs_for_hadamard_10_otherwise(rng, basis, patience):
    """§5.1: with a learning rate too small to move float32 weights the validation loss never
    improves after epoch 1, so training stops after exactly 1 + patience epochs."""
    X, y = rng.normal(size=(40, 4)), np.arange(40) % 2
    proto = TrainingProtocol(max_epochs=60, learning_rate=1e-30)
    m = KernelMachine(
        "gaussian", 8, "rb", basis=basis, sigma=1.0, protocol=proto, random_state=0
    ).fit(X, y)
    hist = m.history_["classifier"]
    assert hist["epochs_run"] == 1 + patience and hist["best_epoch"] == 1
    assert len(set(hist["val_loss"])) == 1


def test_machine_bad_input():
    X, y = np.ones((20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match="regime"):
        KernelMachine("gaussian", 16, "xyz").fit(X, y)
    with pytest.raises(ValueError, match="unknown kernel"):
        KernelMachine("laplace", 16).fit(X, y)
    with pytest.raises(ValueError, match="Hadamard"):
        KernelMachine("arccos", 16, basis="hadamard").fit(np.ones((20, 3)), np.arange(20) % 2)
    X = np.ones((20, 3))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KernelMachine("arccos", 16).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="labels y"):
        KernelMachine("arccos", 16, "sab").fit_basis(np.ones((20, 3)))


# -- the scikit-learn estimator contract ------------------------------------------------
CHECK_PROTOCOL = TrainingProtocol(max_epochs=6, patience=2, learning_rate=0.1, batch_size=32)
# Checks that cannot apply, with the reason (scikit-learn runs them as expected failures).
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [KernelMachine("arccos", 64, "rb", protocol=CHECK_PROTOCOL, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_init_only_stores_and_fit_validates(rng):
    bad = KernelMachine("laplace", -1, "xyz", basis="sparse", n_blocks=7, sigma=-1.0, protocol=3)
    assert bad.get_params()["kernel"] == "laplace" and bad.get_params()["n_components"] == -1
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    m = KernelMachine("arccos", 8)
    for params, error, match in [
        (dict(kernel="laplace"), ValueError, "unknown kernel"),
        (dict(n_components=0), ValueError, "n_components=0 is too small"),
        (dict(n_components=2.5), TypeError, "n_components must be an integer"),
        (dict(regime="xyz"), ValueError, "valid regimes are rb, uab, sab, dab"),
        (dict(basis="sparse"), ValueError, "valid bases are dense, hadamard"),
        (dict(n_blocks=7), ValueError, "n_blocks"),
        (dict(kernel="gaussian", sigma=-1.0), ValueError, "sigma"),
        (dict(protocol=3), TypeError, "protocol must be a rbkernels.TrainingProtocol"),
    ]:
        with pytest.raises(error, match=match):
            m.set_params(**params).fit(X, y)
        m = KernelMachine("arccos", 8)


def test_batch_size_zero_says_positive_integer():
    with pytest.raises(
        ValueError, match=r"batch_size=0 is not a positive integer; pass batch_size>=1"
    ):
        TrainingProtocol(batch_size=0)
    with pytest.raises(TypeError, match="max_epochs must be a positive integer"):
        TrainingProtocol(max_epochs=2.0)


@pytest.mark.backend
@pytest.mark.parametrize("kernel,n_layers", [("arccos", 1), ("arccos2", 2), ("arccos3", 3)])
def test_init_basis_is_the_seeded_arccos_basis(rng, kernel, n_layers):
    X = rng.normal(size=(6, 5))
    m = KernelMachine(kernel, 24, random_state=3).init_basis(X)
    direct = ArcCosBasis(24, n_layers=n_layers, seed=3)
    np.testing.assert_allclose(
        m.transform(X), basis_features(direct, X.astype("float32")), rtol=1e-5, atol=1e-6
    )
    assert m.sigma_ is None and m.n_features_in_ == 5 and m.history_ == {}


@pytest.mark.backend
def test_predictions_are_the_softmax_of_the_keras_layers_and_survive_pickle(rng):
    X, y = rng.normal(size=(60, 4)), np.repeat(["a", "b", "c"], 20)
    m = KernelMachine(
        "gaussian",
        16,
        "dab",
        sigma=1.5,
        protocol=TrainingProtocol(max_epochs=3, patience=2),
        random_state=0,
    ).fit(X, y)
    keras_proba = basis_features(m.classifier_, basis_features(m.basis_, X.astype("float32")))
    np.testing.assert_allclose(m.predict_proba(X), keras_proba, rtol=1e-4, atol=1e-6)
    assert list(m.predict(X)) == list(m.classes_[keras_proba.argmax(1)])
    copy = pickle.loads(pickle.dumps(m))
    np.testing.assert_allclose(copy.predict_proba(X), m.predict_proba(X), rtol=1e-12)
    assert copy.sigma_ == 1.5 and list(copy.classes_) == ["a", "b", "c"]


def _arccos_oracle(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    theta = np.arccos(np.clip(np.sum(a * b, 1) / (na * nb), -1, 1))
    return na * nb * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)


@pytest.mark.backend
def test_pair_kae_equals_the_mean_half_squared_error_on_the_same_pairs(rng):
    X = rng.normal(size=(50, 4))
    m = KernelMachine("arccos", 32, random_state=0).init_basis(X)
    i, j = np.random.default_rng(7).integers(50, size=(2, 30))  # the pairs it draws
    a, b = X[i].astype("float32"), X[j].astype("float32")
    approx = np.sum(basis_features(m.basis_, a).astype(float) * basis_features(m.basis_, b), 1)
    expected = np.mean(0.5 * (_arccos_oracle(a.astype(float), b.astype(float)) - approx) ** 2)
    assert m.pair_kernel_approximation_error(X, n_pairs=30, random_state=7) == pytest.approx(
        expected, rel=1e-4
    )
    np.testing.assert_allclose(  # the one implementation of k(a_i, b_i) agrees with the oracle
        np.asarray(paired_kernel("arccos", a, b), float), _arccos_oracle(a, b), rtol=1e-4
    )


def test_n_features_is_a_deprecated_alias_of_n_components(rng):
    X = rng.normal(size=(10, 3))
    with pytest.warns(DeprecationWarning, match="n_components"):
        old = KernelMachine("arccos", n_features=12, random_state=0).init_basis(X)
    new = KernelMachine("arccos", 12, random_state=0).init_basis(X)
    np.testing.assert_array_equal(old.transform(X), new.transform(X))


def test_transfer_needs_the_basis_input_width(rng):
    X, y = rng.normal(size=(30, 4)), np.arange(30) % 2
    m = KernelMachine("arccos", 8, protocol=TrainingProtocol(max_epochs=2), random_state=0).fit(
        X, y
    )
    with pytest.raises(ValueError, match="X has 3 features, the transferred basis expects 4"):
        m.transfer(X[:, :3], y)


def test_regimes_module_is_a_deprecated_alias(monkeypatch):
    import importlib
    import sys

    monkeypatch.delitem(sys.modules, "rbkernels.regimes", raising=False)
    with pytest.warns(DeprecationWarning, match="rbkernels.regimes is deprecated"):
        regimes = importlib.import_module("rbkernels.regimes")
    assert regimes.KernelMachine is KernelMachine and regimes.features is basis_features
    assert regimes.TrainingProtocol is TrainingProtocol
