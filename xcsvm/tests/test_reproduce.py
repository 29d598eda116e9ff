"""The reproduction script on tiny data: files written, tables consistent."""

import csv

import numpy as np
import pytest

from xcsvm.experiments import reproduce


def test_reproduce_writes_summary_csv_and_plot(tmp_path, monkeypatch):
    monkeypatch.setitem(
        reproduce.SIZES, True, dict(n_train=300, n_test=150, n_features=400, n_classes=6)
    )
    rows = reproduce.run(quick=True, out=tmp_path, n_jobs=1, max_iter=50, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == {
        "summary.md",
        "results.csv",
        "tables_III3_III4.png",
    }
    assert len(rows) == 5 * 4
    with open(tmp_path / "results.csv") as stream:
        table = list(csv.DictReader(stream))
    assert len(table) == 20
    for row in rows:
        # single-label multi-class: micro-F1 is the accuracy
        assert row["micro_f1"] == pytest.approx(100 - row["error"])
        assert 0 < row["density"] <= 100
    summary = (tmp_path / "summary.md").read_text()
    assert "Table III.3" in summary and "Table III.4" in summary
    assert (tmp_path / "tables_III3_III4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_density_ignores_rounding_residues():
    coef = np.array([[1.0, 1e-17, 0.0], [0.0, -2.0, 3e-11]])  # threshold 2e-12
    assert reproduce._density(coef) == pytest.approx(100 * 3 / 6)
    assert reproduce._density(np.zeros((2, 3))) == 0.0


def test_class_vocabulary_data_give_ww_a_sparser_model_than_ovr():
    # The thesis' Table III.3 finding that the reproduction's data are built for.
    X_train, y_train, X_test, y_test = reproduce._make_data(1000, 200, 3000, 30, seed=0)
    densities = {}
    for solver in ("OVR", "WW"):
        model = reproduce._estimator(solver, 1.0, 200, 1, 0).fit(X_train, y_train)
        densities[solver] = reproduce._density(model.coef_)
    assert densities["WW"] < 0.8 * densities["OVR"]


@pytest.mark.parametrize("formulation", ["ww", "llw", "cs"])
def test_validation_reference_is_the_optimum_the_solvers_reach(formulation):
    # Table III.1's difference columns compare with exact_primal; it must be the minimiser
    # of the objective primal_objective evaluates, which xcsvm's tight solutions approach.
    from conftest import blobs
    from xcsvm import CSClassifier, LLWClassifier, WWClassifier
    from xcsvm.experiments import validation

    X, y = blobs(80, 4, 4, seed=1)
    W = validation.exact_primal(formulation, X, y, 4, 1.0)
    reference = validation.primal_objective(formulation, W, X, y, 1.0)
    cls = {"ww": WWClassifier, "llw": LLWClassifier, "cs": CSClassifier}[formulation]
    model = cls(C=1.0, tol=1e-6, max_iter=100_000, fit_intercept=False, random_state=0).fit(X, y)
    ours = validation.primal_objective(formulation, model.coef_, X, y, 1.0)
    assert reference <= ours * (1 + 1e-7)
    assert ours == pytest.approx(reference, rel=1e-5)
    assert ours == pytest.approx(model.primal_objective_, rel=1e-6)


def test_lshtc_small_shape_is_table_III2s():
    (X_train, y_train, X_test, y_test), size = reproduce._make_shaped_data("lshtc_small", seed=0)
    assert (X_train.shape[0], X_test.shape[0], X_train.shape[1]) == (4463, 1858, 51033)
    assert size["n_classes"] == 1139 and int(max(y_train.max(), y_test.max())) < 1139
    # Zipf class sizes: the largest class is far above the mean of ~4 documents per class
    assert np.bincount(y_train).max() > 100


def test_letter_scaling_maps_training_features_onto_minus_one_one(monkeypatch):
    import shared_datasets
    from xcsvm.experiments import letter_scaling

    rng = np.random.default_rng(0)
    X_train = rng.integers(0, 16, size=(40, 3)).astype(float)
    X_train[:, 2] = 7.0  # a constant feature must not divide by zero
    X_test = rng.integers(0, 16, size=(10, 3)).astype(float)
    y = np.arange(40) % 4

    monkeypatch.setattr(shared_datasets, "load", lambda name, **kw: (X_train, y, X_test, y[:10]))
    A, _, B, _ = letter_scaling.scaled_letter("minmax_pm1")
    np.testing.assert_allclose(A[:, :2].min(axis=0), -1.0)
    np.testing.assert_allclose(A[:, :2].max(axis=0), 1.0)
    np.testing.assert_allclose(A[:, 2], -1.0)
    low, high = X_train[:, 0].min(), X_train[:, 0].max()
    np.testing.assert_allclose(B[:, 0], 2 * (X_test[:, 0] - low) / (high - low) - 1)
    with pytest.raises(ValueError, match="scaling must be one of"):
        letter_scaling.scaled_letter("unit_norm")
