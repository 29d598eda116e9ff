"""Resource limits, silently wrong fits and poor messages found by the reliability review (issue 15)."""

import os
import stat
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

import xcsvm.estimators
from conftest import blobs
from xcsvm import CSClassifier, LLWClassifier, WWClassifier, load_model
from xcsvm.cli import main, read_svmlight
from xcsvm.estimators import effective_n_threads, usable_cores
from xcsvm.exceptions import DataFormatError

ALL = [WWClassifier, LLWClassifier, CSClassifier]


# --- thread counts -----------------------------------------------------------------------------


def test_thread_count_is_capped_by_cores_and_work(monkeypatch):
    cores = usable_cores()
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))
    assert effective_n_threads(1000) == cores
    assert effective_n_threads(1000, max_useful=3) == min(3, cores)
    assert effective_n_threads(None) == 1 and effective_n_threads(-1) == cores
    assert effective_n_threads(-1000) == 1
    monkeypatch.setattr(xcsvm.estimators, "usable_cores", lambda: 64)
    assert effective_n_threads(1000, max_useful=5) == 5  # LLW: one class per thread at most
    assert effective_n_threads(-2) == 63


@pytest.mark.parametrize("cls,work", [(WWClassifier, 5), (LLWClassifier, 10), (CSClassifier, 1)])
def test_n_jobs_1000_runs_exactly_like_the_capped_count(monkeypatch, cls, work):
    # n_jobs=1000 on 300 x 10 used to run 1000 OpenMP threads (> 2 minutes); now it is the cap
    X, y = blobs(300, 10, 10, seed=0)
    seen = []
    solve = xcsvm.estimators.solve
    monkeypatch.setattr(
        xcsvm.estimators, "solve", lambda *a, **k: seen.append(k["n_threads"]) or solve(*a, **k)
    )
    capped = min(work, usable_cores())
    many = cls(n_jobs=1000, random_state=0, max_iter=30, tol=1e-2).fit(X, y)
    same = cls(n_jobs=capped, random_state=0, max_iter=30, tol=1e-2).fit(X, y)
    assert seen == [capped, capped]
    np.testing.assert_array_equal(many.coef_, same.coef_)


# --- overflow ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("sparse", [False, True])
def test_rows_whose_squared_norm_overflows_are_refused(cls, sparse):
    # CS returned NaN coef_, WW/LLW W = 0 with only a ConvergenceWarning
    X, y = blobs(60, 4, 3, seed=0)
    X = X * 1e160
    assert np.all(np.isfinite(X))
    with pytest.raises(ValueError, match=r"squared norm \|\|x\|\|\^2 overflows float64 .*Scale X"):
        cls().fit(sp.csr_matrix(X) if sparse else X, y)


def test_finite_values_beyond_float64_are_not_reported_as_nan_or_infinite():
    X, y = blobs(60, 4, 3, seed=0)
    wide = X.astype(np.longdouble) * np.longdouble(10) ** 400
    if not np.all(np.isfinite(wide)) or np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("no extended precision on this platform")
    with pytest.raises(ValueError, match="finite values beyond the float64 range") as caught:
        WWClassifier().fit(wide, y)
    assert "NaN" not in str(caught.value) and "infinity" not in str(caught.value)
    model = WWClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="beyond the float64 range"):
        model.predict(wide)


def test_float32_data_beyond_float32_squares_fits_in_float64():
    # ||x||^2 ~ 1e40 overflows float32 but the norms are float64: a correct fit, no false alarm
    X, y = blobs(60, 4, 3, seed=0)
    big = WWClassifier(random_state=0, fit_intercept=False).fit(
        sp.csr_matrix((X * 1e20).astype(np.float32)), y
    )
    small = WWClassifier(random_state=0, fit_intercept=False).fit(
        sp.csr_matrix(X.astype(np.float32)), y
    )
    # scaling X by s is C * s^2 on X (a harder margin): finite weights that fit the training set
    # at least as well as the unscaled fit
    assert np.all(np.isfinite(big.coef_)) and np.abs(big.coef_).max() > 0
    assert big.score(X, y) >= small.score(X, y) - 0.05


def test_rows_whose_squared_norm_underflows_are_not_called_all_zero():
    X, y = blobs(60, 4, 3, seed=0)
    with pytest.raises(ValueError, match="underflows to 0"):
        WWClassifier(fit_intercept=False).fit(X * 1e-170, y)


def test_scaled_data_still_fits():
    X, y = blobs(60, 4, 3, seed=0)
    reference = WWClassifier(random_state=0, tol=1e-3).fit(X, y)
    scaled = WWClassifier(random_state=0, tol=1e-3, fit_intercept=False).fit(X * 1e100, y)
    assert np.all(np.isfinite(scaled.coef_)) and (scaled.predict(X * 1e100) == y).mean() > 0.5
    assert reference.score(X, y) > 0.8


# --- labels and numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        np.array([1.5, 2.5, 3.5]),
        np.array([Fraction(1, 3), Fraction(1, 2), Fraction(2, 3)], dtype=object),
    ],
    ids=["floats", "fractions"],
)
@pytest.mark.parametrize("cls", ALL)
def test_any_sortable_hashable_labels_round_trip_through_predict(cls, labels):
    X, y = blobs(90, 5, 3, seed=0)
    reference = cls(random_state=0).fit(X, y)
    model = cls(random_state=0).fit(X, labels[y])
    assert list(model.classes_) == list(labels)
    np.testing.assert_array_equal(model.predict(X), labels[reference.predict(X)])
    assert model.score(X, labels[y]) == reference.score(X, y)


def test_labels_that_are_not_class_labels_are_refused():
    X, y = blobs(30, 3, 3, seed=0)
    with pytest.raises(ValueError, match="y contains NaN"):
        WWClassifier().fit(X, np.where(y == 0, np.nan, y))
    with pytest.raises(ValueError, match="cannot be sorted"):
        WWClassifier().fit(X, np.array(["a", 1, 2], dtype=object)[y])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        WWClassifier().fit(X, np.linspace(0.1, 0.9, 30))


def test_numpy_scalars_are_accepted_wherever_floats_are():
    X, y = blobs(60, 4, 3, seed=0)
    plain = WWClassifier(
        C=0.2,
        tol=0.05,
        intercept_scaling=2.0,
        max_iter=200,
        n_jobs=1,
        class_weight={0: 2.0},
        random_state=0,
    ).fit(X, y)
    numpy = WWClassifier(
        C=np.float32(0.2),
        tol=np.float64(0.05),
        intercept_scaling=np.float32(2.0),
        max_iter=np.int64(200),
        n_jobs=np.int32(1),
        class_weight={0: np.float32(2.0)},
        random_state=np.int64(0),
    ).fit(X, y)
    np.testing.assert_allclose(numpy.coef_, plain.coef_, rtol=1e-6)


# --- command line --------------------------------------------------------------------------------


def test_svmlight_feature_index_beyond_int32_is_a_clear_error(tmp_path):
    (tmp_path / "big.svm").write_text("1 1:1\n2 1:2 1000000000000:3\n")
    with pytest.raises(
        DataFormatError, match=r"big.svm: line 2: index 1000000000000: feature index too large"
    ):
        read_svmlight(tmp_path / "big.svm")
    assert main(["train", str(tmp_path / "big.svm"), str(tmp_path / "m.npz")]) == 1


def test_train_checks_the_output_folder_before_training(tmp_path, capsys, monkeypatch):
    X, y = blobs(60, 4, 3, seed=0)
    dump_svmlight_file(X, y + 1, str(tmp_path / "t.svm"), zero_based=False)
    monkeypatch.setattr(
        xcsvm.estimators._MultiClassSVM, "fit", lambda *a, **k: pytest.fail("trained")
    )
    assert main(["train", str(tmp_path / "t.svm"), str(tmp_path / "missing" / "m.npz")]) == 1
    assert f"folder {tmp_path / 'missing'} does not exist" in capsys.readouterr().err


def test_predict_output_errors_name_the_folder_and_files_keep_the_umask(tmp_path, capsys):
    X, y = blobs(60, 4, 3, seed=0)
    dump_svmlight_file(X, np.array([1.5, 2.5, 3.5])[y], str(tmp_path / "t.svm"), zero_based=False)
    old = os.umask(0o022)
    try:
        assert main(["train", str(tmp_path / "t.svm"), str(tmp_path / "m.npz")]) == 0
        assert (
            main(
                [
                    "predict",
                    str(tmp_path / "m.npz"),
                    str(tmp_path / "t.svm"),
                    "-o",
                    str(tmp_path / "p.txt"),
                ]
            )
            == 0
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.txt").stat().st_mode) == 0o644  # was 0600
    assert stat.S_IMODE((tmp_path / "m.npz").stat().st_mode) == 0o644
    predicted = np.loadtxt(tmp_path / "p.txt")
    np.testing.assert_array_equal(predicted, load_model(tmp_path / "m.npz").predict(X))
    assert set(predicted) <= {1.5, 2.5, 3.5}
    capsys.readouterr()
    (tmp_path / "p_dir").mkdir()
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.npz"),
                str(tmp_path / "t.svm"),
                "-o",
                str(tmp_path / "p_dir"),
            ]
        )
        == 1
    )
    error = capsys.readouterr().err
    assert f"cannot write predictions {tmp_path / 'p_dir'}" in error and ".tmp" not in error
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.npz"),
                str(tmp_path / "t.svm"),
                "-o",
                str(tmp_path / "no" / "p"),
            ]
        )
        == 1
    )
    assert f"folder {tmp_path / 'no'} does not exist" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_overflowing_decision_scores_are_refused_not_argmaxed(tmp_path):
    # a valid model file with weights near the float64 limit: the scores are inf/NaN and argmax
    # would pick a class silently; found by the 10 000-example fuzz run
    from xcsvm.io import write_model

    path = write_model(
        tmp_path / "big.npz",
        coef=[[7e307, 0.0], [0.0, 1.0]],
        intercept=[0.0, 0.0],
        classes=[0, 1],
        formulation="ww",
    )
    model = load_model(path)
    np.testing.assert_array_equal(model.predict(np.array([[0.0, 1.0]])), [1])
    with pytest.raises(ValueError, match=r"decision scores .* overflow float64"):
        model.predict(np.array([[3.0, 1.0]]))
