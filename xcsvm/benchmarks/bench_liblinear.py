"""WW / LLW / CS against LIBLINEAR on the LSHTC-like generator, side by side in one run.

Each solver runs in its own process on the same cached data (so peak memory is its own);
liblinear-multicore runs under the separate venv ``.venv-llmc`` (it imports as ``liblinear``
too). Writes a markdown table and a JSON file.

    python benchmarks/bench_liblinear.py --C 0.1 1 --out benchmarks/results/liblinear

Data: ``make_lshtc_like(topic_fraction=0.5, topic_size=8 * d // K, background_size=d // 10)``
(class vocabularies that cover every word ~8 times, 4 % of the features at d = 50 000,
K = 200; background words from the 10 % most frequent words; see BENCHMARKS.md for why). ``--topic-size 30 --background-size 0 --topic-fraction 0.05``
gives the earlier data. No intercept unless ``--intercept`` (the thesis' setting: LIBLINEAR
defaults, Eqs. III.2-III.3).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import lshtc_like, machine_note, markdown_table, run_child  # noqa: E402

LLMC_PYTHON = Path(
    os.environ.get("XCSVM_LLMC_PYTHON", HERE.parents[1] / ".venv-llmc" / "bin" / "python")
)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--C", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--n-features", type=int, default=50000)
    parser.add_argument("--n-classes", type=int, default=200)
    parser.add_argument("--topic-fraction", type=float, default=0.5)
    parser.add_argument(
        "--topic-size",
        type=int,
        default=None,
        help="class vocabulary size (default 8 d / K: every word in ~8 class vocabularies)",
    )
    parser.add_argument(
        "--background-size",
        type=int,
        default=None,
        help="background vocabulary (default d // 10; 0: the whole vocabulary)",
    )
    parser.add_argument(
        "--intercept", action="store_true", help="learn an intercept (LIBLINEAR -B 1)"
    )
    parser.add_argument("--max-iter", type=int, default=1000, help="epoch cap of the xcsvm solvers")
    parser.add_argument(
        "--max-iter-llw", type=int, default=None, help="epoch cap of LLW (default --max-iter)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--solvers",
        nargs="+",
        default=[
            "liblinear:s1",
            "liblinear:s3",
            "liblinear-multicore:s1",
            "liblinear-multicore:s2",
            "liblinear:s4",
            "ww",
            "cs",
            "llw",
        ],
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "liblinear")
    args = parser.parse_args(argv)
    note = machine_note()
    topic_size = args.topic_size or max(30, 8 * args.n_features // args.n_classes)
    background_size = (
        args.n_features // 10 if args.background_size is None else (args.background_size or None)
    )
    Xtr, _, Xte, _, data_path = lshtc_like(
        args.n_train,
        args.n_test,
        args.n_features,
        args.n_classes,
        args.topic_fraction,
        topic_size=topic_size,
        background_size=background_size,
    )
    nnz_per_row = (Xtr.nnz + Xte.nnz) / (Xtr.shape[0] + Xte.shape[0])
    del Xtr, Xte
    rows = []
    jobs = [(s, C) for C in args.C for s in args.solvers]
    for solver, C in tqdm(jobs, desc="solvers"):
        python = str(LLMC_PYTHON) if solver.startswith("liblinear-multicore") else sys.executable
        if solver.startswith("liblinear-multicore") and not LLMC_PYTHON.exists():
            tqdm.write(
                f"skipping {solver}: {LLMC_PYTHON} missing (python -m venv .venv-llmc && "
                ".venv-llmc/bin/pip install liblinear-multicore numpy scipy)"
            )
            continue
        threads = 1 if solver in ("cs",) or solver.startswith("liblinear:") else args.threads
        src = str(HERE.parent / "src")
        result = run_child(
            python,
            str(HERE / "_solver_child.py"),
            [
                solver,
                str(data_path),
                str(C),
                str(threads),
                src,
                str(args.max_iter_llw or args.max_iter) if solver == "llw" else str(args.max_iter),
                "intercept" if args.intercept else "no-intercept",
            ],
        )
        result["load"] = os.getloadavg()[0]
        rows.append(result)
        tqdm.write(json.dumps(result))
    for C in args.C:
        reference = next((r for r in rows if r["C"] == C and r["solver"] == "liblinear:s1"), None)
        for r in rows:
            if r["C"] == C and reference:
                r["time_vs_ovr_s1"] = r["train_seconds"] / reference["train_seconds"]
                r["sparser_than_ovr_s1"] = reference["density"] / max(r["density"], 1e-12)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    columns = [
        "solver",
        "C",
        "threads",
        "train_seconds",
        "time_vs_ovr_s1",
        "error",
        "micro_f1",
        "macro_f1",
        "density",
        "sparser_than_ovr_s1",
        "density_raw",
        "peak_rss_mib",
        "rss_after_data_mib",
        "n_iter",
        "dual_gap",
        "converged",
        "load",
    ]
    formats = dict.fromkeys(columns[3:], "{:.2f}")
    formats.update(
        load="{:.1f}", threads="{}", n_iter="{}", C="{:g}", dual_gap="{:.3f}", converged="{}"
    )
    table = markdown_table(rows, columns, formats)
    header = (
        f"LSHTC-like: n_train={args.n_train}, n_test={args.n_test}, d={args.n_features}, "
        f"K={args.n_classes}, topic_fraction={args.topic_fraction}, topic_size={topic_size}, "
        f"background_size={background_size or args.n_features}, {nnz_per_row:.1f} non-zeros per row; "
        f"intercept={'yes' if args.intercept else 'no'}, tol 0.1; {note}; "
        f"load average at end {os.getloadavg()[0]:.1f}"
    )
    args.out.with_suffix(".md").write_text(header + "\n\n" + table + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"header": header, "rows": rows}, indent=1))
    print(header)
    print(table)


if __name__ == "__main__":
    main()
