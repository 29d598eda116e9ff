"""Validation table in the form of Table III.1: error and density of LLW and WW (and CS)
on the offline sets of shared-datasets for log10(C) in {-1, 0, 1}, beside the thesis' Shark numbers.

    python benchmarks/bench_validation.py --out benchmarks/results/validation

The thesis' preprocessing: iris unit norm, letter and satimage unit variance, the rest as is;
the thesis' glass and usps came from the LIBSVM repository, already scaled to [-1, 1], so here
glass and digits get min-max scaling (raw digits, 0..16 with ||x||^2 ~ 3800, leave the dual
coordinate ascent far from converged within 1000 epochs). splice is ``dna`` (the StatLog version of the splice-junction data) and ``digits`` (8x8 sklearn
digits) stands in for usps (16x16), which is not offline. No intercept, as in Eqs. III.2-III.3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine_note, markdown_table  # noqa: E402

from xcsvm.experiments.validation import DATASETS, THESIS  # noqa: E402 - Table III.1's sets and numbers


def main(argv=None):
    import shared_datasets
    from xcsvm import CSClassifier, LLWClassifier, WWClassifier

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--formulations", nargs="+", default=["llw", "ww", "cs"])
    parser.add_argument("--log10-C", type=int, nargs="+", default=[-1, 0, 1])
    parser.add_argument("--tol", type=float, default=0.01)
    parser.add_argument("--max-iter", type=int, default=2000)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "validation")
    args = parser.parse_args(argv)
    classes = {"llw": LLWClassifier, "ww": WWClassifier, "cs": CSClassifier}
    rows = []
    jobs = [(d, e) for d in args.datasets for e in args.log10_C]
    for dataset, exponent in tqdm(jobs, desc="validation"):
        thesis_name, preprocessing = DATASETS[dataset]
        X_train, y_train, X_test, y_test = shared_datasets.load(
            dataset, preprocessing=preprocessing
        )
        row = {"dataset": thesis_name, "log10_C": exponent}
        for formulation in args.formulations:
            model = classes[formulation](
                C=10.0**exponent,
                tol=args.tol,
                max_iter=args.max_iter,
                fit_intercept=False,
                n_jobs=args.n_jobs,
                random_state=0,
            )
            start = time.perf_counter()
            model.fit(X_train, y_train)
            row[f"{formulation}_seconds"] = time.perf_counter() - start
            row[f"{formulation}_error"] = 100 * float(np.mean(model.predict(X_test) != y_test))
            row[f"{formulation}_density"] = 100 * model.density_
            row[f"{formulation}_gap"] = model.dual_gap_
            if thesis_name in THESIS and formulation in THESIS[thesis_name]:
                row[f"thesis_{formulation}_error"] = (
                    THESIS[thesis_name][formulation][args.log10_C.index(exponent)]
                    if args.log10_C == [-1, 0, 1]
                    else ""
                )
        rows.append(row)
        tqdm.write(json.dumps(row))
    columns = ["dataset", "log10_C"]
    for f in args.formulations:
        columns += (
            [f"{f}_error", f"thesis_{f}_error", f"{f}_density", f"{f}_gap"]
            if f != "cs"
            else [f"{f}_error", f"{f}_density", f"{f}_gap"]
        )
    formats = dict.fromkeys(columns[2:], "{:.2f}")
    formats.update({c: "{:.1e}" for c in columns if c.endswith("_gap")})
    table = markdown_table(rows, columns, formats)
    header = f"tol={args.tol}, max_iter={args.max_iter}, no intercept; {machine_note()}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(header + "\n\n" + table + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"header": header, "rows": rows}, indent=1))
    print(header)
    print(table)


if __name__ == "__main__":
    main()
