"""Out-of-range parameters raise a clear error naming the valid range instead of being
clamped or coerced silently (issue 15)."""

import numpy as np
import pytest

from rbkernels import BasisFeatures, KernelMachine, TrainingProtocol, sigma_heuristic
from rbkernels._validation import check_validation_size
from rbkernels.layers import ArcCosBasis, HadamardBasis


@pytest.fixture
def X(rng):
    return rng.normal(size=(40, 4))


@pytest.mark.parametrize("size", [5.0, -1, 1.0, 0.0, -0.5, float("nan"), 40, 0])
def test_uab_validation_size_out_of_range_names_the_valid_range(X, size):
    with pytest.raises(
        ValueError, match=r"validation_size=.* valid range.*\(0, 1\)|valid range \[1, 39\]"
    ):
        BasisFeatures(adapt="uab", validation_size=size).fit(X)


@pytest.mark.parametrize("size", [True, "0.1", None])
def test_validation_size_of_the_wrong_type(X, size):
    with pytest.raises(TypeError, match="validation_size must be a fraction"):
        BasisFeatures(adapt="uab", validation_size=size).fit(X)


def test_validation_size_rule():
    assert check_validation_size(0.1, 200) == 20 and check_validation_size(np.float32(0.25), 8) == 2
    assert check_validation_size(np.int64(3), 10) == 3 and check_validation_size(39, 40) == 39
    assert (
        check_validation_size(0.01, 10) == 1 and check_validation_size(0.99, 10) == 9
    )  # one on each side


def test_kernel_machine_validation_size_names_the_valid_range(X):
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match=r"valid range: pass a fraction in \(0, 1\)"):
        KernelMachine("arccos", 8, "uab").fit_basis(X, validation_size=5.0)
    with pytest.raises(ValueError, match=r"valid range \[1, 39\]"):
        KernelMachine("arccos", 8).fit(X, y, validation_size=-1)


def test_sab_with_a_single_class_is_refused(X):
    with pytest.raises(
        ValueError, match=r"adapt='sab' .* needs at least two classes; y has only \[7\]"
    ):
        BasisFeatures(adapt="sab").fit(X, np.full(40, 7))
    with pytest.raises(ValueError, match=r"SAB.*needs at least two classes"):
        KernelMachine("arccos", 8, "sab").fit_basis(X, np.zeros(40))


@pytest.mark.parametrize("value", [True, 2.0, 0, 4])
def test_hadamard_blocks_and_arccos_layers_must_be_integers_1_to_3(value):
    with pytest.raises(ValueError, match=r"n_blocks .*pass one of the integers 1, 2, 3"):
        HadamardBasis(16, 1.0, n_blocks=value)
    with pytest.raises(ValueError, match=r"n_layers .*pass one of the integers 1, 2, 3"):
        ArcCosBasis(16, n_layers=value)
    assert HadamardBasis(16, 1.0, n_blocks=np.int64(2)).n_blocks == 2  # NumPy integers are integers


def test_learning_rate_must_be_finite_and_positive():
    for bad in (float("inf"), 0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match=r"learning_rate=.*finite number > 0"):
            TrainingProtocol(learning_rate=bad)
    with pytest.raises(TypeError, match="learning_rate"):
        TrainingProtocol(learning_rate=True)
    assert TrainingProtocol(learning_rate=np.float32(0.5)).learning_rate == 0.5


@pytest.mark.parametrize("name,value", [("n_neighbors", -3), ("n_neighbors", 0), ("n_samples", 0)])
def test_sigma_heuristic_parameters(X, name, value):
    with pytest.raises(ValueError, match=f"{name}={value}"):
        sigma_heuristic(X, **{name: value})


def test_sigma_heuristic_with_few_samples_uses_the_farthest_point():
    X = np.array([[0.0], [1.0], [3.0]])
    # k = min(50, n - 1) = 2: distances to the 2nd neighbour are 3, 2, 3 (documented)
    assert sigma_heuristic(X, random_state=0) == pytest.approx(8 / 3)


def test_pair_kae_n_pairs_zero_is_refused(X):
    machine = KernelMachine("arccos", 8, protocol=TrainingProtocol(test_batches=1, batch_size=4))
    machine.fit_basis(X)
    with pytest.raises(ValueError, match="n_pairs=0"):
        machine.pair_kernel_approximation_error(X, n_pairs=0)
    # None means test_batches x batch_size = 4 pairs: the same draw as n_pairs=4
    assert machine.pair_kernel_approximation_error(X) == machine.pair_kernel_approximation_error(
        X, n_pairs=4
    )


def test_transfer_to_a_single_class_is_refused(X):
    machine = KernelMachine("arccos", 8).init_basis(X)
    with pytest.raises(
        ValueError, match=r"y has only one class \(1.0\); a classifier needs at least two"
    ):
        machine.transfer(X, np.ones(40))
