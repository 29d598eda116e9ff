"""RB, UAB, SAB and DAB do what §4 says they do."""

import numpy as np
import pytest

from rbkernels import KernelMachine, kernel_target_alignment
from rbkernels.regimes import TrainingProtocol, features

pytestmark = pytest.mark.backend

SMALL = TrainingProtocol(max_epochs=8, train_batches=30, val_batches=5, test_batches=20, patience=3,
                         learning_rate=0.005)


def _alignment(machine, X, y):
    F = features(machine.basis_, X).astype(np.float64)
    return np.mean([kernel_target_alignment(F[i:i + 64] @ F[i:i + 64].T, y[i:i + 64])
                    for i in range(0, len(X) - 63, 64)])


@pytest.mark.parametrize("kernel", ["gaussian", "arccos"])
def test_uab_lowers_kae_below_its_initialisation(digits, kernel):
    Xt, yt, Xs, _ = digits
    rb = KernelMachine(kernel, 16, "uab", protocol=SMALL, random_state=0)
    rb._rng = np.random.default_rng(0)
    rb._make_basis(Xt)  # the initialisation UAB starts from (same seed)
    uab = KernelMachine(kernel, 16, "uab", protocol=SMALL, random_state=0).fit_basis(Xt)
    assert uab.sigma_ == rb.sigma_
    before = rb.pair_kernel_approximation_error(Xs)
    after = uab.pair_kernel_approximation_error(Xs)
    assert after < 0.8 * before, (before, after)
    hist = uab.history_["adaptation"]["val_loss"]
    assert min(hist) < hist[0]


def test_sab_raises_alignment(digits):
    Xt, yt, Xs, ys = digits
    rb = KernelMachine("gaussian", 32, "rb", protocol=SMALL, random_state=1)
    rb._rng = np.random.default_rng(1)
    rb._make_basis(Xt)
    sab = KernelMachine("gaussian", 32, "sab", protocol=SMALL, random_state=1).fit_basis(Xt, yt)
    a0, a1 = _alignment(rb, Xs, ys), _alignment(sab, Xs, ys)
    assert a1 > a0 + 0.05, (a0, a1)


def test_dab_trains_basis_and_beats_random_basis(digits):
    Xt, yt, Xs, ys = digits
    proto = TrainingProtocol(max_epochs=20, patience=3, learning_rate=0.01)
    rb = KernelMachine("arccos", 16, "rb", protocol=proto, random_state=0).fit(Xt, yt)
    dab = KernelMachine("arccos", 16, "dab", protocol=proto, random_state=0).fit(Xt, yt)
    # Same seed: same initial basis; DAB moved it, RB did not.
    init = KernelMachine("arccos", 16, "rb", protocol=proto, random_state=0)
    init._rng = np.random.default_rng(0)
    init._make_basis(Xt)
    np.testing.assert_allclose(rb.basis_.get_weights()[0], init.basis_.get_weights()[0])
    assert not np.allclose(dab.basis_.get_weights()[0], init.basis_.get_weights()[0])
    acc_rb, acc_dab = rb.score(Xs, ys), dab.score(Xs, ys)
    assert acc_dab > 0.85 and acc_dab > acc_rb + 0.03, (acc_rb, acc_dab)


def test_transfer_keeps_basis_and_learns_new_classes(digits):
    Xt, yt, Xs, ys = digits
    t1, t2 = yt < 5, yt >= 5
    m = KernelMachine("gaussian", 200, "rb", protocol=TrainingProtocol(max_epochs=10, patience=3),
                      random_state=0).fit(Xt[t1], yt[t1])
    other = m.transfer(Xt[t2], yt[t2])
    np.testing.assert_allclose(other.basis_.get_weights()[0], m.basis_.get_weights()[0])
    assert list(other.classes_) == [5, 6, 7, 8, 9]
    assert other.score(Xs[ys >= 5], ys[ys >= 5]) > 0.8


def test_hadamard_machine_uses_patience_20_by_default():
    m = KernelMachine("gaussian", 16, "rb", basis="hadamard")
    assert m._patience == 20
    assert KernelMachine("gaussian", 16, "rb")._patience == 10


def test_machine_bad_input():
    with pytest.raises(ValueError, match="regime"):
        KernelMachine("gaussian", 16, "xyz")
    with pytest.raises(ValueError, match="unknown kernel"):
        KernelMachine("laplace", 16)
    with pytest.raises(ValueError, match="Hadamard"):
        KernelMachine("arccos", 16, basis="hadamard").fit(np.ones((20, 3)), np.arange(20) % 2)
    X = np.ones((20, 3))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KernelMachine("arccos", 16).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="labels y"):
        KernelMachine("arccos", 16, "sab").fit_basis(np.ones((20, 3)))


@pytest.mark.parametrize("kernel", ["gaussian", "arccos", "arccos2", "arccos3"])
def test_numpy_pair_targets_match_keras_kernels(rng, kernel):
    from keras import ops

    from rbkernels import paired_kernel
    from rbkernels.regimes import _paired_kernel_numpy

    a, b = rng.normal(size=(2, 20, 5))
    np.testing.assert_allclose(
        _paired_kernel_numpy(kernel, a, b, 1.5),
        ops.convert_to_numpy(paired_kernel(kernel, a, b, sigma=1.5)), rtol=1e-4, atol=1e-6)
