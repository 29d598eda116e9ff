"""One solver on the cached LSHTC-like data, in its own process (own peak memory).

Prints one JSON line. Runs under the main venv (xcsvm, liblinear-official) or under
``.venv-llmc`` (liblinear-multicore), which cannot import xcsvm, so it has no xcsvm imports
at module level.
"""

import json
import resource
import sys
import time

import numpy as np
import scipy.sparse as sp

ZERO_TOL = 1e-12


def f1_scores(y_true, y_pred):
    """Micro- and macro-F1 as sklearn's f1_score (labels: union of both), without sklearn:
    the liblinear-multicore venv has only numpy and scipy."""
    labels = np.union1d(y_true, y_pred)
    tp = np.array([np.sum((y_true == c) & (y_pred == c)) for c in labels], dtype=float)
    fp = np.array([np.sum((y_true != c) & (y_pred == c)) for c in labels], dtype=float)
    fn = np.array([np.sum((y_true == c) & (y_pred != c)) for c in labels], dtype=float)
    denominator = 2 * tp + fp + fn
    per_class = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    micro = 2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum())
    return float(micro), float(per_class.mean())


def main():
    solver, data_path, C, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    intercept = len(sys.argv) > 7 and sys.argv[7] == "intercept"
    with np.load(data_path) as f:
        X = sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        y, n_train = f["y"], int(f["n_train"])
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    extra = {}
    if solver.startswith("liblinear"):
        from liblinear.liblinearutil import parameter, predict, problem, train

        kind = solver.split(":")[1]  # s1, s3, s4, with optional -m threads for multicore
        options = f"-s {kind[1:]} -c {C} {'-B 1 ' if intercept else ''}-q" + (
            f" -m {threads}" if "multicore" in solver else ""
        )
        prob = problem(ytr.astype(float), Xtr)
        start = time.perf_counter()
        model = train(prob, parameter(options))
        seconds = time.perf_counter() - start
        pred, _, _ = predict(yte.astype(float), Xte, model, "-q")
        nr_class, nr_feature = model.get_nr_class(), model.get_nr_feature()
        n_rows = nr_feature + (1 if intercept else 0)
        w = np.ctypeslib.as_array(model.w, shape=(n_rows * (nr_class if nr_class > 2 else 1),))
        W = w.reshape(n_rows, -1)[:nr_feature].T  # LIBLINEAR stores feature-major
        pred = np.asarray(pred).astype(np.int64)
        extra["options"] = options
    else:
        sys.path.insert(0, sys.argv[5])
        import xcsvm

        cls = {"ww": xcsvm.WWClassifier, "llw": xcsvm.LLWClassifier, "cs": xcsvm.CSClassifier}[
            solver
        ]
        max_iter = int(sys.argv[6]) if len(sys.argv) > 6 else 1000
        model = cls(C=C, n_jobs=threads, random_state=0, max_iter=max_iter, fit_intercept=intercept)
        start = time.perf_counter()
        model.fit(Xtr, ytr)
        seconds = time.perf_counter() - start
        pred = model.predict(Xte)
        W = model.coef_
        extra.update(
            n_iter=model.n_iter_,
            dual_gap=model.dual_gap_,
            max_iter=max_iter,
            converged=bool(model.history_[-1]["violation"] < model.tol),
        )
    micro, macro = f1_scores(yte, pred)
    result = {
        "solver": solver,
        "C": C,
        "threads": threads,
        "train_seconds": seconds,
        "error": 100 * float(np.mean(pred != yte)),
        "micro_f1": 100 * micro,
        "macro_f1": 100 * macro,
        # Numerical zeros: dual coordinate ascent (ours and LIBLINEAR's) adds and later removes a
        # sample's contribution when its dual variable returns to 0, leaving ~1e-17 residues in
        # W that are exactly 0 in exact arithmetic. Density counts |w| > 1e-12 max|W| for every
        # solver alike; density_raw counts the stored non-zeros.
        "density": 100 * float(np.count_nonzero(np.abs(W) > ZERO_TOL * np.abs(W).max())) / W.size,
        "density_raw": 100 * float(np.count_nonzero(W)) / W.size,
        "rss_after_data_mib": rss_data,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        **extra,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
