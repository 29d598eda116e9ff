"""Distributed training under real ``mpiexec`` (2, 3 and 4 ranks on a 2-core machine).

Every job is started from pytest with the mpiexec next to ``sys.executable``
and a timeout, so a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from _mpi import mpiexec_available, run_mpi
from _mpi_driver import CONFIGS, make_problem
from qp_reference import solve_primal

pytest.importorskip("mpi4py")
pytestmark = pytest.mark.skipif(
    not mpiexec_available(), reason="mpiexec is not installed next to python"
)

from xcsvm.distributed import fit_distributed  # noqa: E402
from xcsvm.distributed.exchange import CountingComm  # noqa: E402
from xcsvm.solvers.schedule import one_factorization, split_in_halves  # noqa: E402

DRIVER = "_mpi_driver.py"


def _self_comm():
    from mpi4py import MPI

    return CountingComm(MPI.COMM_SELF)


def _margin(config, n_classes):
    return 1.0 / (n_classes - 1) if config.get("llw_margin") == "lee_lin_wahba" else 1.0


@pytest.fixture(scope="module")
def problem():
    X, y = make_problem()
    rng = np.random.default_rng(7)
    X_test = X.toarray() + 0.3 * rng.normal(size=X.shape)
    return X, y, X_test


@pytest.fixture(scope="module")
def references(problem):
    """Per config: the 1-rank fit and the exact QP optimum (the independent oracle)."""
    X, y, _ = problem
    classes, labels = np.unique(y, return_inverse=True)
    out = []
    for config in CONFIGS:
        one = fit_distributed(X, y, max_iter=5000, random_state=3, comm=_self_comm(), **config)
        W, optimum = solve_primal(
            config["formulation"],
            X.toarray(),
            labels,
            classes.size,
            np.full(labels.size, config["C"]),
            bias=1.0,
            margin=_margin(config, classes.size),
        )
        out.append(dict(one=one, W_exact=W, optimum=optimum))
    return out


def _predict(coef, intercept, classes, X):
    scores = np.asarray(X @ np.asarray(coef).T) + np.asarray(intercept)
    return np.asarray(classes)[scores.argmax(axis=1)]


def _assert_same_decisions(predicted, expected, exact_scores):
    """Equal predictions wherever the exact optimum decides clearly (top-two gap >= 0.02).

    Two solutions within the tolerance may split a near-tie differently; on
    these well-separated problems such ties are rare (asserted too).
    """
    top_two = np.sort(exact_scores, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] >= 0.02
    assert clear.mean() >= 0.9
    np.testing.assert_array_equal(np.asarray(predicted)[clear], np.asarray(expected)[clear])


def _expected_dense_bundle_bytes(owned, counts, rank, n_columns):
    # Rows rank `rank` hands to MPI per epoch in the three-exchange scheme
    # (see xcsvm.distributed.ww): as A it sends A2, A1 and B1 back; as B it
    # sends B1, A2 back and A1 back.
    rows = 0
    halves = [split_in_halves(o, counts) for o in owned]
    for pairs in one_factorization(len(owned)):
        for a, b in pairs:
            if rank in (a, b):
                rows += len(halves[a][0]) + len(halves[a][1]) + len(halves[b][0])
    return 8 * n_columns * rows


@pytest.mark.parametrize("n_ranks", [2, 3, 4])
def test_ranks_reach_the_same_model_as_one_rank_and_the_exact_qp(
    n_ranks, problem, references, tmp_path
):
    X, y, X_test = problem
    out = tmp_path / "fit.json"
    completed, seconds = run_mpi(n_ranks, [DRIVER, out, "fit"], timeout=90)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["size"] == n_ranks
    counts = np.unique(y, return_counts=True)[1]
    n_columns = X.shape[1] + 1  # the intercept's constant feature
    for config, result, reference in zip(CONFIGS, report["results"], references):
        one, optimum = reference["one"], reference["optimum"]
        assert result["converged"], config
        assert len(result["owned"]) == n_ranks and all(result["owned"])
        # Weak duality brackets the exact optimum; both are within the tolerance.
        assert result["dual"] <= optimum * (1 + 1e-7) <= result["primal"] * (1 + 2e-7)
        assert (result["primal"] - optimum) / optimum < 2e-4, config
        assert abs(result["primal"] - one.primal) / one.primal < 2e-4
        for data in (X, X_test):
            same = _predict(result["coef"], result["intercept"], result["classes"], data)
            exact = np.asarray(data @ reference["W_exact"][:, :-1].T) + reference["W_exact"][:, -1]
            _assert_same_decisions(
                same, _predict(one.coef.toarray(), one.intercept, one.classes, data), exact
            )
            _assert_same_decisions(same, one.classes[exact.argmax(axis=1)], exact)
        if config["formulation"] == "llw":
            # Given w̄ the classes are independent: the arithmetic is the
            # 1-rank arithmetic up to the Allreduce's summation order.
            np.testing.assert_allclose(result["coef"], one.coef.toarray(), rtol=1e-6, atol=1e-9)
            assert result["bytes_per_epoch"]["w_bar"] == 10 * 8 * n_columns
        if config.get("exchange") == "dense":
            expected = _expected_dense_bundle_bytes(
                [np.array(o) for o in result["owned"]], counts, 0, n_columns
            )
            assert result["bytes_per_epoch"]["bundle"] == expected
    sparse, dense = report["results"][0], report["results"][1]
    # Sparse and dense exchange copy the same numbers: the same run, bit for bit.
    assert sparse["coef"] == dense["coef"] and sparse["n_iter"] == dense["n_iter"]
    # Here W is dense, so 12 bytes per non-zero cost more than 8 per entry, but never more
    # than 1.5x plus the 8-byte header of each of the 3 messages per matched round.
    n_matched = sum(0 in pair for pairs in one_factorization(n_ranks) for pair in pairs)
    assert (
        0
        < sparse["bytes_per_epoch"]["bundle"]
        <= 1.5 * dense["bytes_per_epoch"]["bundle"] + 24 * n_matched
    )


def test_single_machine_estimators_agree_with_distributed(problem, references):
    estimators = pytest.importorskip("xcsvm.estimators")
    X, y, X_test = problem
    for config, reference in zip(CONFIGS, references):
        if config.get("exchange") == "dense":
            continue
        if config["formulation"] == "ww":
            model = estimators.WWClassifier(
                C=config["C"], tol=config["tol"], max_iter=5000, random_state=0
            )
        else:
            model = estimators.LLWClassifier(
                C=config["C"],
                tol=config["tol"],
                max_iter=5000,
                random_state=0,
                margin=config["llw_margin"],
            )
        model.fit(X, y)
        one = reference["one"]
        assert abs(model.primal_objective_ - one.primal) / one.primal < 2e-4
        for data in (X, X_test):
            exact = np.asarray(data @ reference["W_exact"][:, :-1].T) + reference["W_exact"][:, -1]
            _assert_same_decisions(
                model.predict(data),
                _predict(one.coef.toarray(), one.intercept, one.classes, data),
                exact,
            )


def test_failing_rank_aborts_the_job_with_its_message_quickly(tmp_path):
    completed, seconds = run_mpi(3, [DRIVER, tmp_path / "fail.json", "fail-epoch"], timeout=60)
    assert completed.returncode != 0
    assert "[xcsvm rank 1/3]" in completed.stderr
    assert "injected failure on rank 1 in its third sweep" in completed.stderr
    assert not (tmp_path / "fail.json").exists()
    assert seconds < 30  # interpreter start-up included; a hang would hit the timeout


def test_python_entry_refuses_ranks_with_different_data(tmp_path):
    completed, _ = run_mpi(3, [DRIVER, tmp_path / "other.json", "other-data"], timeout=60)
    assert completed.returncode != 0
    assert (
        "[xcsvm rank" in completed.stderr
        and "rank(s) [2] were given other training data" in completed.stderr
    )


def test_rank_that_dies_ends_the_job(tmp_path):
    completed, seconds = run_mpi(3, [DRIVER, tmp_path / "die.json", "die-epoch"], timeout=60)
    assert completed.returncode != 0
    assert not (tmp_path / "die.json").exists()
    assert seconds < 30


@pytest.fixture(scope="module")
def svm_files(tmp_path_factory, problem):
    X, y, _ = problem
    folder = tmp_path_factory.mktemp("svm")
    labels = np.unique(y, return_inverse=True)[1] + 1
    train = folder / "train.svm"
    dump_svmlight_file(X, labels, str(train))
    other = folder / "other.svm"
    dump_svmlight_file(X[:-1], labels[:-1], str(other))
    return train, other


def _cli(train, model, *options, entry="xcsvm.distributed"):
    if entry == "xcsvm.cli":  # the single-machine CLI delegates: xcsvm train --distributed
        return ["-m", "xcsvm.cli", "train", "--distributed", train, "-m", model, *options]
    return ["-m", "xcsvm.distributed", "train", train, "-m", model, *options]


def test_ranks_reading_different_files_abort_with_the_digests(svm_files, tmp_path):
    train, other = svm_files
    model = tmp_path / "model.npz"
    completed, seconds = run_mpi(1, _cli(train, model), _cli(other, model), timeout=60)
    assert completed.returncode != 0
    assert "[xcsvm rank 1/2]" in completed.stderr and "digest" in completed.stderr
    assert not model.exists()
    completed, _ = run_mpi(1, _cli(train, model), _cli(tmp_path / "nowhere.svm", model), timeout=60)
    assert completed.returncode != 0
    assert "[xcsvm rank 1/2]" in completed.stderr and "does not exist" in completed.stderr
    assert not model.exists()


@pytest.mark.parametrize(
    "n_ranks,formulation,data_mode,entry,shrinking",
    [(2, "ww", "check", "xcsvm.cli", True), (3, "llw", "broadcast", "xcsvm.distributed", False)],
)
def test_cli_writes_a_model_the_estimators_load(
    n_ranks, formulation, data_mode, entry, shrinking, svm_files, tmp_path
):
    from xcsvm.io import load_model

    train, _ = svm_files
    model, report = tmp_path / "model.npz", tmp_path / "report.json"
    options = [
        "-f",
        formulation,
        "-C",
        "0.5",
        "--tol",
        "1e-3",
        "--random-state",
        "1",
        "--data-mode",
        data_mode,
        "--report",
        report,
    ] + ([] if shrinking else ["--no-shrinking"])
    completed, _ = run_mpi(n_ranks, _cli(train, model, *options, entry=entry), timeout=90)
    assert completed.returncode == 0, completed.stderr[-3000:]
    facts = json.loads(report.read_text())
    assert facts["n_ranks"] == n_ranks and facts["converged"]
    X, labels = load_svmlight_file(str(train))
    loaded = load_model(model)
    assert type(loaded).__name__ == f"{formulation.upper()}Classifier"
    one = fit_distributed(
        X,
        labels,
        formulation=formulation,
        C=0.5,
        tol=1e-3,
        random_state=1,
        shrinking=shrinking,
        comm=_self_comm(),
    )
    np.testing.assert_array_equal(loaded.classes_, one.classes)
    np.testing.assert_array_equal(
        loaded.predict(X), _predict(one.coef.toarray(), one.intercept, one.classes, X)
    )
    assert abs(facts["primal_objective"] - one.primal) / one.primal < 2e-3
    if data_mode == "broadcast":
        assert facts["bytes_sent_rank0"]["data"] > X.data.nbytes * (n_ranks - 1)
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_cli_warns_once_when_the_distributed_fit_did_not_converge(svm_files, tmp_path):
    # exited 0 and printed nothing although the relative gap was 0.93 (issue 15)
    train, _ = svm_files
    model = tmp_path / "model.npz"
    completed, _ = run_mpi(
        2, _cli(train, model, "--max-iter", "1", "--tol", "1e-6", entry="xcsvm.cli"), timeout=90
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stderr.count("did not converge in max_iter=1 epochs") == 1  # rank 0 only
    assert "relative duality gap" in completed.stderr and "increase --max-iter" in completed.stderr
    assert model.exists()
    # MPICH names a killed rank by its pid only: rank 0 says which pid each rank is
    assert re.search(r"\[xcsvm\] ranks: 0=pid \d+@\S+, 1=pid \d+@", completed.stderr)


def test_an_error_on_every_rank_is_one_line_per_rank_not_a_traceback_per_rank(tmp_path):
    model = tmp_path / "model.npz"
    completed, _ = run_mpi(2, _cli(tmp_path / "nowhere.svm", model), timeout=60)
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.startswith("[xcsvm rank")]
    assert lines and all(
        re.match(r"\[xcsvm rank [01]/2\] error: \w+Error: .*nowhere\.svm", line) for line in lines
    )
    assert not model.exists()
