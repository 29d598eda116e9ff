"""Multi-label WW (pairwise ranking hinge, our reading of Eq. III.17) against independent oracles."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_multilabel_classification
from sklearn.utils.estimator_checks import (
    check_classifiers_multilabel_output_format_decision_function,
    check_classifiers_multilabel_output_format_predict,
    check_classifiers_multilabel_representation_invariance,
)

from conftest import blobs
from xcsvm import WWClassifier
from xcsvm.multilabel import (
    apply_decision_rule,
    fit_decision_rules,
    objectives,
    prepare_multilabel,
    primal_from_dual,
    ranking_losses,
    solve_multilabel,
)


def label_sets(n, K, seed, p=0.3):
    """Random 0/1 label sets, with at least one empty and one full row."""
    rng = np.random.RandomState(seed)
    Y = (rng.rand(n, K) < p).astype(np.int64)
    Y[0] = 0
    Y[1] = 1
    return Y


def data(n, d, K, seed):
    X, _ = blobs(n, d, 2, seed=seed)
    return X, label_sets(n, K, seed)


def exact_primal(X, Y, upper, bias):
    """cvxpy + CLARABEL minimiser of the ranking-hinge primal (W with the intercept column last)."""
    import cvxpy as cp

    X = np.hstack([X, np.full((X.shape[0], 1), bias)]) if bias else X
    n, K = Y.shape
    rows, positives = np.nonzero(Y)  # one row per (sample, positive label)
    W = cp.Variable((K, X.shape[1]))
    S = X @ W.T
    own = cp.sum(cp.multiply(S[rows, :], np.eye(K)[positives]), axis=1, keepdims=True)
    negatives = (1 - Y[rows]) * upper[rows][:, None]
    loss = cp.sum(cp.multiply(negatives, cp.pos(1 - own @ np.ones((1, K)) + S[rows, :])))
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W) + loss))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return W.value, problem.value


def primal_here(model, X, Y, upper):
    """Primal objective from coef_/intercept_, by brute force over all (p, c) pairs."""
    S = X @ model.coef_.T + model.intercept_
    total = 0.0
    for i in range(X.shape[0]):
        pos, neg = np.flatnonzero(Y[i]), np.flatnonzero(Y[i] == 0)
        total += upper[i] * np.maximum(0, 1 - S[i, pos][:, None] + S[i, neg][None, :]).sum()
    W = np.hstack([model.coef_, model.intercept_[:, None]])
    return 0.5 * np.sum(W**2) + total, W


@pytest.mark.parametrize(
    "K,C,weights,fit_intercept,n_jobs",
    # Two threads with small C: few epochs (an OpenMP epoch on a busy 2-core machine costs ms).
    [
        (3, 0.1, False, True, None),
        (5, 1.0, True, True, None),
        (6, 3.0, False, False, None),
        (9, 0.1, True, True, 2),
        (20, 0.1, False, False, 2),
    ],
)
def test_matches_exact_qp(K, C, weights, fit_intercept, n_jobs):
    X, Y = data(12 * K if K < 10 else 80, 5, K, seed=K)
    n = X.shape[0]
    sample_weight = np.random.RandomState(K).uniform(0.2, 3.0, n) if weights else None
    upper = C * (sample_weight if weights else np.ones(n))
    bias = 1.0 if fit_intercept else 0.0
    W_ref, P_ref = exact_primal(X, Y, upper, bias)
    model = WWClassifier(
        C=C, tol=1e-7, max_iter=200000, fit_intercept=fit_intercept, n_jobs=n_jobs, random_state=0
    )
    model.fit(sp.csr_matrix(X), Y, sample_weight=sample_weight)
    P, W = primal_here(model, X, Y, upper)
    W = W if fit_intercept else W[:, :-1]
    assert abs(P - P_ref) <= 1e-5 * P_ref, (P, P_ref)
    # 1-strong convexity of the primal: ||W - W*||^2 <= 2 (P(W) - P*).
    assert np.linalg.norm(W - W_ref) <= np.sqrt(2 * (abs(P - P_ref) + 1e-8 * P_ref)) + 1e-6
    assert model.primal_objective_ == pytest.approx(P, rel=1e-9)
    assert model.dual_objective_ <= P_ref * (1 + 1e-7) and model.primal_objective_ >= P_ref * (
        1 - 1e-7
    )
    assert model.multilabel_ and model.classes_.tolist() == list(range(K))


def test_duality_gap_is_a_certificate():
    X, Y = data(120, 6, 7, seed=3)
    _, P_ref = exact_primal(X, Y, np.ones(len(Y)), 1.0)
    loose = WWClassifier(tol=1.0, random_state=0).fit(X, Y)
    assert loose.dual_objective_ <= P_ref <= loose.primal_objective_ * (1 + 1e-9)
    assert loose.dual_gap_ == pytest.approx(
        (loose.primal_objective_ - loose.dual_objective_) / loose.primal_objective_
    )
    tight = WWClassifier(tol=1e-4, max_iter=100000, random_state=0).fit(X, Y)
    assert 0 <= tight.dual_gap_ < 1e-3
    assert (tight.primal_objective_ - P_ref) / P_ref <= tight.dual_gap_ + 1e-9


@pytest.mark.parametrize(
    "n_threads,n_groups,bias", [(1, None, 0.0), (2, 2, 1.0), (2, 3, 0.5), (2, 4, 1.0)]
)
def test_kernel_keeps_w_equal_to_the_primal_image(n_threads, n_groups, bias):
    """W kept by the kernel = sum of the dual variables' contributions, on every schedule."""
    X, Y = data(90, 6, 17, seed=4)
    problem = prepare_multilabel(sp.csr_matrix(X), Y, np.full(90, 0.7), bias)
    result = solve_multilabel(
        problem, tol=1e-3, max_iter=50, n_threads=n_threads, n_groups=n_groups, random_state=1
    )
    np.testing.assert_allclose(result.W, primal_from_dual(problem, result.alpha), atol=1e-12)
    alpha = result.alpha
    assert alpha.min() >= 0 and alpha.max() <= 0.7
    # Entries (row, label of the same sample) are not variables and stay 0.
    sample = np.repeat(np.arange(90), Y.sum(axis=1))
    assert np.all(alpha[Y[sample] == 1] == 0)


def test_ranking_losses_match_brute_force():
    rng = np.random.RandomState(5)
    S = rng.randn(30, 8)
    Y = label_sets(30, 8, 5, p=0.4)
    Ycsr = sp.csr_matrix(Y)
    expected = [
        sum(
            max(0, 1 - S[i, p] + S[i, c])
            for p in np.flatnonzero(Y[i])
            for c in np.flatnonzero(Y[i] == 0)
        )
        for i in range(30)
    ]
    np.testing.assert_allclose(ranking_losses(S, Ycsr.indptr, Ycsr.indices), expected)


def test_one_label_per_sample_is_multiclass_ww():
    """With exactly one label per sample, Eq. III.17's reading is Eq. III.3: the same optimum."""
    X, y = blobs(100, 5, 4, seed=6)
    Y = np.eye(4, dtype=int)[y]
    multiclass = WWClassifier(tol=1e-7, max_iter=100000, random_state=0).fit(X, y)
    multilabel = WWClassifier(tol=1e-7, max_iter=100000, random_state=0).fit(X, Y)
    np.testing.assert_allclose(multilabel.coef_, multiclass.coef_, atol=1e-5)
    np.testing.assert_allclose(multilabel.intercept_, multiclass.intercept_, atol=1e-5)
    assert multilabel.primal_objective_ == pytest.approx(multiclass.primal_objective_, rel=1e-8)


def test_empty_and_full_label_sets_contribute_nothing():
    X, Y = data(80, 5, 6, seed=7)
    keep = (Y.sum(axis=1) > 0) & (Y.sum(axis=1) < 6)
    assert (~keep).sum() >= 2
    full = WWClassifier(tol=1e-8, max_iter=100000, random_state=0).fit(X, Y)
    part = WWClassifier(tol=1e-8, max_iter=100000, random_state=0).fit(X[keep], Y[keep])
    np.testing.assert_allclose(full.coef_, part.coef_, atol=1e-6)
    assert full.primal_objective_ == pytest.approx(part.primal_objective_, rel=1e-8)


def test_sample_weight_equals_repetition():
    X, Y = data(60, 5, 5, seed=8)
    weights = np.random.RandomState(8).randint(0, 3, size=60)
    weighted = WWClassifier(tol=1e-9, max_iter=200000, random_state=0).fit(
        X, Y, sample_weight=weights
    )
    repeated = WWClassifier(tol=1e-9, max_iter=200000, random_state=0).fit(
        np.repeat(X, weights, axis=0), np.repeat(Y, weights, axis=0)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-6)


def test_sparse_and_dense_targets_agree_and_predict_keeps_their_kind():
    X, Y = data(70, 5, 6, seed=9)
    dense = WWClassifier(random_state=0).fit(X, Y)
    sparse = WWClassifier(random_state=0).fit(sp.csr_matrix(X), sp.csr_matrix(Y))
    np.testing.assert_array_equal(dense.coef_, sparse.coef_)
    assert isinstance(dense.predict(X), np.ndarray) and dense.predict(X).dtype == Y.dtype
    assert sp.issparse(sparse.predict(X))
    np.testing.assert_array_equal(sparse.predict(X).toarray(), dense.predict(X))
    S = dense.decision_function(X)
    np.testing.assert_allclose(S, X @ dense.coef_.T + dense.intercept_)
    rule, value = dense.decision_rule_
    expected = (value <= S) if rule == "threshold" else apply_decision_rule(S, rule, value)
    expected[np.arange(len(S)), S.argmax(axis=1)] = True
    np.testing.assert_array_equal(dense.predict(X), expected.astype(Y.dtype))


def test_decision_rules_recover_a_separable_cutoff():
    rng = np.random.RandomState(10)
    Y = label_sets(200, 10, 10)[2:]
    S = np.where(Y == 1, rng.uniform(1.0, 2.0, Y.shape), rng.uniform(-2.0, 0.5, Y.shape))
    S[Y.sum(axis=1) == 0] -= 5.0  # rows without labels: everything low
    rules = fit_decision_rules(S, Y)
    predicted = apply_decision_rule(S, "threshold", rules["threshold"])
    has = Y.sum(axis=1) > 0
    np.testing.assert_array_equal(predicted[has], Y[has] == 1)
    assert S[has][Y[has] == 0].max() < rules["threshold"] <= S[has][Y[has] == 1].min()
    counts = Y.sum(axis=1)
    assert rules["top_k"] == int(np.bincount(counts[counts > 0]).argmax()) or rules["top_k"] in (
        1,
        2,
        3,
        4,
    )
    top = apply_decision_rule(S, "top_k", 2)
    assert np.all(top.sum(axis=1) == 2)
    with pytest.raises(ValueError, match="unknown decision rule"):
        apply_decision_rule(S, "median", 1)


def test_sklearn_multilabel_checks():
    model = WWClassifier(random_state=0)
    check_classifiers_multilabel_representation_invariance("WWClassifier", model)
    check_classifiers_multilabel_output_format_predict("WWClassifier", model)
    check_classifiers_multilabel_output_format_decision_function("WWClassifier", model)


def test_bad_targets_are_refused_with_a_reason():
    X, Y = data(40, 5, 4, seed=11)
    with pytest.raises(ValueError, match="0/1 indicator"):
        WWClassifier().fit(X, Y * 3 - 1)
    with pytest.raises(ValueError, match="class_weight is not defined for multi-label"):
        WWClassifier(class_weight="balanced").fit(X, Y)
    with pytest.raises(ValueError, match=r"(?i)sample weights"):
        WWClassifier().fit(X, Y, sample_weight=np.zeros(40))


def test_warm_start_resumes_from_the_dual():
    X, Y = data(90, 5, 6, seed=15)
    model = WWClassifier(tol=1e-4, max_iter=100000, warm_start=True, random_state=0).fit(X, Y)
    first = model.n_iter_
    model.fit(X, Y)
    assert model.n_iter_ <= 2 < first
    model.set_params(C=3.0).fit(X, Y)
    cold = WWClassifier(C=3.0, tol=1e-4, max_iter=100000, random_state=0).fit(X, Y)
    assert model.primal_objective_ == pytest.approx(cold.primal_objective_, rel=1e-3)
    with pytest.warns(UserWarning, match="warm_start ignored"):
        model.fit(X[:50], Y[:50])


def test_one_dimensional_y_keeps_the_multiclass_behaviour():
    X, y = blobs(60, 5, 3, seed=12)
    model = WWClassifier(random_state=0).fit(X, y)
    assert model.multilabel_ is False and model.predict(X).ndim == 1


def test_objectives_agree_with_the_estimator_on_scikit_learn_data():
    X, Y = make_multilabel_classification(n_samples=150, n_features=8, n_classes=6, random_state=0)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    model = WWClassifier(C=0.5, tol=1e-3, max_iter=10000, random_state=0).fit(X, Y)
    P, _ = primal_here(model, X, Y, np.full(150, 0.5))
    assert model.primal_objective_ == pytest.approx(P, rel=1e-9)
    problem = prepare_multilabel(sp.csr_matrix(X), Y, np.full(150, 0.5), 1.0)
    W = np.hstack([model.coef_, model.intercept_[:, None]])
    assert objectives(problem, W, np.zeros((int(Y.sum()), 6)))[0] == pytest.approx(P, rel=1e-9)


def write_multilabel_svmlight(path, X, labels_of_rows):
    with open(path, "w") as out:
        for row, labels in zip(X, labels_of_rows):
            features = " ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(row) if v != 0)
            out.write(",".join(map(str, labels)) + " " + features + "\n")


def test_model_file_records_the_mode_and_round_trips(tmp_path):
    from xcsvm import load_model, save_model

    X, Y = data(60, 5, 4, seed=13)
    model = WWClassifier(random_state=0).fit(X, Y)
    path = save_model(tmp_path / "ml.npz", model)
    loaded = load_model(path)
    assert loaded.multilabel_ and loaded.decision_rule_ == pytest.approx(model.decision_rule_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.decision_function(X), model.decision_function(X))
    multiclass = load_model(
        save_model(tmp_path / "mc.npz", WWClassifier(random_state=0).fit(*blobs(60, 5, 3, seed=1)))
    )
    assert multiclass.multilabel_ is False


def test_model_file_with_a_bad_mode_is_refused(tmp_path):
    from xcsvm.exceptions import ModelFileError
    from xcsvm.io import read_model, write_model

    common = dict(coef=np.eye(2), intercept=np.zeros(2), classes=[3, 7], formulation="ww")
    with pytest.raises(ValueError, match="needs a decision rule"):
        write_model(tmp_path / "a.npz", mode="multilabel", **common)
    with pytest.raises(ValueError, match="multi-label models are WW"):
        write_model(
            tmp_path / "b.npz",
            mode="multilabel",
            decision_rule=("threshold", 0.1),
            **dict(common, formulation="cs"),
        )
    path = write_model(tmp_path / "c.npz", mode="multilabel", decision_rule=("top_k", 2), **common)
    assert read_model(path)["mode"] == "multilabel"
    # Edit the stored rule: an unknown rule name is a damaged file.
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    metadata = json.loads(str(np.load(path)["metadata"]))
    metadata["decision_rule"]["name"] = "median"
    edited = tmp_path / "d.npz"
    arrays = dict(np.load(path))
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(edited, **arrays)
    assert entries  # the original archive was readable
    with pytest.raises(ModelFileError, match="decision rule"):
        read_model(edited)


def test_cli_train_predict_evaluate_multilabel(tmp_path, capsys):
    from xcsvm.cli import main

    X, Y = data(80, 5, 4, seed=14)
    names = np.array([2, 5, 11, 40])  # the file's labels, not 0..K-1
    train, model = tmp_path / "train.svm", tmp_path / "model.npz"
    write_multilabel_svmlight(train, X, [names[np.flatnonzero(r)] for r in Y])
    assert (
        main(
            [
                "train",
                "--multilabel",
                "--tol",
                "0.01",
                "--random-state",
                "0",
                str(train),
                str(model),
            ]
        )
        == 0
    )
    assert "multi-label WW" in capsys.readouterr().out
    assert main(["predict", str(model), str(train), "-o", str(tmp_path / "out.txt")]) == 0
    lines = (tmp_path / "out.txt").read_text().splitlines()
    from xcsvm import load_model

    estimator = load_model(model)
    expected = [",".join(map(str, names[np.flatnonzero(r)])) for r in estimator.predict(X)]
    assert lines == expected
    assert main(["evaluate", "--json", str(model), str(train)]) == 0
    import json

    metrics = json.loads(capsys.readouterr().out)
    from xcsvm.metrics import precision_at_k

    assert metrics["p@1"] == pytest.approx(
        100 * precision_at_k(sp.csr_matrix(Y), estimator.decision_function(X), 1)
    )
    assert set(metrics) >= {"p@3", "ndcg@4", "psp@4", "macro_f1", "hamming_loss"}
    assert main(["train", "--multilabel", "-f", "cs", str(train), str(model)]) == 1
    assert "--formulation ww" in capsys.readouterr().err


def test_coef_is_the_primal_image_without_residues():
    """coef_ = W(alpha) (the formula for w_k), and non-zero exactly on the support that the
    non-zero dual variables imply: no ~1e-17 residues of variables that returned to 0."""
    # Text-like rows: 3 words from each label's own 10-word block, 1 of 4 shared words.
    rng = np.random.default_rng(16)
    n, K, block, shared = 150, 10, 10, 4
    d = K * block + shared
    Y = np.zeros((n, K), dtype=int)
    Y[np.arange(n), rng.integers(0, K, n)] = 1
    second = rng.random(n) < 0.4
    Y[np.flatnonzero(second), rng.integers(0, K, second.sum())] = 1
    rows, cols = [], []
    for i in range(n):
        for label in np.flatnonzero(Y[i]):
            cols += list(label * block + rng.integers(0, block, 3))
            rows += [i] * 3
        rows.append(i)
        cols.append(K * block + rng.integers(0, shared))
    # 30 unlabelled rows on 20 words of their own: no dual variable, so those columns are 0.
    for i in range(n, n + 30):
        rows += [i] * 3
        cols += list(d + rng.integers(0, 20, 3))
    n, d = n + 30, d + 20
    Y = np.vstack([Y, np.zeros((30, K), dtype=int)])
    X = sp.csr_matrix((rng.uniform(0.2, 1.0, len(cols)), (rows, cols)), shape=(n, d))
    X.sum_duplicates()
    model = WWClassifier(C=0.5, warm_start=True, random_state=0).fit(X, Y)
    problem = prepare_multilabel(sp.csr_matrix(X), Y, np.full(n, 0.5), 1.0)
    W = primal_from_dual(problem, model._ml_alpha)
    np.testing.assert_allclose(model.coef_, W[:, :d], atol=1e-10 * np.abs(W).max())
    from xcsvm.multilabel import coefficient_matrix

    M = coefficient_matrix(problem, model._ml_alpha)
    support = ((abs(X).T @ (abs(M) > 0)).T.toarray()) > 0
    assert 0.05 < support.mean() < 0.9  # the test has entries on both sides
    assert np.all(model.coef_[:, -20:] == 0)
    np.testing.assert_array_equal(model.coef_ != 0, support)
