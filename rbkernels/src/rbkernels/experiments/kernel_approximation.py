"""KAE vs number of features: UAB against the thesis' RB and sklearn's RBFSampler (Fig. IV.1).

The kernel approximation error (Eq. IV.8) of each feature map is measured on all pairs of
the (at most ``--max-test``) test points, next to the Eckart–Young optimum, the smallest KAE
any map of that width can have on those points. RB is the thesis' random basis (orthogonal
random features for the Gaussian kernel, i.i.d. Gaussian weights for ArcCos); RBFSampler
(i.i.d. Gaussian frequencies, Rahimi & Recht) exists for the Gaussian kernel only. UAB
adapts the RB initialisation to the kernel on fresh pairs of training points::

    python -m rbkernels.experiments.kernel_approximation --quick --out results/kernel_approximation
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..heuristics import sigma_heuristic
from ..kernels import kernel_matrix
from ..metrics import kernel_approximation_error, optimal_kernel_approximation_error
from ..transformer import BasisFeatures
from .common import (
    atomic_write_text,
    describe,
    load_data,
    markdown_table,
    read_rows,
    save_figure,
    write_csv,
)

# RB: orthogonal random features (Gaussian) / i.i.d. Gaussian weights (ArcCos), as the thesis.
METHODS = {"rbfsampler": "RBFSampler (i.i.d.)", "rb": "RB", "uab": "UAB"}
COLORS = {"rbfsampler": "tab:gray", "rb": "tab:blue", "uab": "tab:green", "optimum": "black"}


def _kae(method, kernel, D, seed, Xt, Xs, sigma, args):
    if method == "rbfsampler":
        from sklearn.kernel_approximation import RBFSampler

        phi = RBFSampler(gamma=1 / (2 * sigma**2), n_components=D, random_state=seed).fit(Xt)
    elif method == "rb":
        phi = BasisFeatures(kernel, D, sigma=sigma, random_state=seed).fit(Xt)
    else:
        phi = BasisFeatures(
            kernel,
            D,
            adapt="uab",
            sigma=sigma,
            max_epochs=args.uab_epochs,
            train_batches=args.uab_batches,
            val_batches=max(1, 1280 // args.uab_batch_size),
            batch_size=args.uab_batch_size,
            patience=5,
            learning_rate=args.uab_lr,
            random_state=seed,
        ).fit(Xt)
    return kernel_approximation_error(
        phi, Xs, kernel, sigma=sigma if kernel == "gaussian" else None
    )


def fewer_features(
    mean: Iterable[Mapping[str, Any]], dataset: str, kernel: str
) -> dict[str, tuple[int, float, int | None]]:
    """Smallest UAB width whose KAE is at most RB's / RBFSampler's at the largest width."""
    out = {}
    sub = [r for r in mean if r["dataset"] == dataset and r["kernel"] == kernel]
    uab = sorted((r for r in sub if r["method"] == "uab"), key=lambda r: r["n_features"])
    for base in ("rb", "rbfsampler"):
        ref = [r for r in sub if r["method"] == base]
        if not ref or not uab:
            continue
        top = max(ref, key=lambda r: r["n_features"])
        hit = [r["n_features"] for r in uab if r["kae"] <= top["kae"]]
        out[base] = (top["n_features"], top["kae"], min(hit) if hit else None)
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="digits, 1 seed, widths 10...300")
    p.add_argument("--out", default="results/kernel_approximation")
    p.add_argument("--datasets", nargs="+", default=None, help="default letter (quick: digits)")
    p.add_argument("--kernels", nargs="+", default=["gaussian", "arccos"])
    p.add_argument(
        "--features",
        nargs="+",
        type=int,
        default=None,
        help="widths (default 10 30 100 300 1000 3000; quick 10 30 100 300)",
    )
    p.add_argument("--repeats", type=int, default=None, help="seeds per cell (3; quick 1)")
    p.add_argument(
        "--uab-repeats",
        type=int,
        default=None,
        help="seeds for UAB (default --repeats); RB and RBFSampler are cheap",
    )
    p.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="subsample the training set UAB samples pairs from (default all)",
    )
    p.add_argument("--max-test", type=int, default=500, help="evaluation points (all pairs)")
    p.add_argument("--uab-epochs", type=int, default=60)
    p.add_argument("--uab-batches", type=int, default=50, help="fresh pair batches per epoch")
    p.add_argument("--uab-batch-size", type=int, default=1024, help="pairs per UAB step")
    p.add_argument("--uab-lr", type=float, default=1e-2)
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of an existing CSV in --out and run only the missing cells",
    )
    args = p.parse_args(argv)
    datasets = args.datasets or (["digits"] if args.quick else ["letter"])
    features = args.features or (
        [10, 30, 100, 300] if args.quick else [10, 30, 100, 300, 1000, 3000]
    )
    repeats = args.repeats or (1 if args.quick else 3)
    uab_repeats = min(args.uab_repeats or repeats, repeats)
    if args.quick:
        args.uab_epochs, args.uab_batches = min(args.uab_epochs, 15), min(args.uab_batches, 20)
    out = Path(args.out)
    csv_path = out / "kernel_approximation.csv"
    rows = read_rows(csv_path) if args.resume else []

    def key(r):
        return (r["dataset"], r["kernel"], r["method"], int(r["n_features"]), int(r["seed"]))

    done = {key(r) for r in rows}
    data, sigmas, optima = {}, {}, {}
    for d in datasets:
        data[d] = load_data(d, max_train=args.max_train, max_test=args.max_test)
        Xt, _, Xs, _ = data[d]
        sigmas[d] = sigma_heuristic(Xt, random_state=0)
        for k in args.kernels:
            K = np.asarray(kernel_matrix(k, Xs, Xs, sigma=sigmas[d]), dtype=np.float64)
            optima[d, k] = optimal_kernel_approximation_error(K, np.asarray(features))
    # Seed-major: a run stopped early has every width with at least one seed.
    cells = [
        (d, k, m, D, s)
        for s in range(repeats)
        for D in features
        for d in datasets
        for k in args.kernels
        for m in METHODS
        if not (m == "rbfsampler" and k != "gaussian") and not (m == "uab" and s >= uab_repeats)
    ]
    for d, k, m, D, s in tqdm(cells, desc="KAE"):
        if (d, k, m, D, s) in done:
            continue
        Xt, _, Xs, _ = data[d]
        start = time.perf_counter()
        kae = _kae(m, k, D, s, Xt, Xs, sigmas[d], args)
        rows.append(
            dict(
                dataset=d,
                kernel=k,
                method=m,
                n_features=D,
                seed=s,
                kae=kae,
                seconds=round(time.perf_counter() - start, 2),
            )
        )
        write_csv(rows, csv_path)
    # Seed means, with the Eckart-Young optimum as a fourth "method".
    mean = []
    for group in dict.fromkeys(
        (r["dataset"], r["kernel"], r["method"], int(r["n_features"])) for r in rows
    ):
        vals = [float(r["kae"]) for r in rows if key(r)[:4] == group]
        mean.append(
            dict(
                zip(("dataset", "kernel", "method", "n_features"), group),
                kae=float(np.mean(vals)),
                kae_std=float(np.std(vals)),
                repeats=len(vals),
            )
        )
    for (d, k), opt in optima.items():
        for D, v in zip(features, opt):
            mean.append(
                dict(
                    dataset=d,
                    kernel=k,
                    method="optimum",
                    n_features=D,
                    kae=float(v),
                    kae_std=0.0,
                    repeats=0,
                )
            )
    mean = [
        r
        for r in mean
        if r["dataset"] in datasets and r["kernel"] in args.kernels and r["n_features"] in features
    ]
    write_csv(mean, out / "kernel_approximation_mean.csv")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(d, k) for d in datasets for k in args.kernels]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    labels = {**METHODS, "optimum": "rank-D optimum (Eckart-Young)"}
    for ax, (d, k) in zip(axes[0], panels):
        for m in labels:
            pts = sorted(
                (r for r in mean if (r["dataset"], r["kernel"], r["method"]) == (d, k, m)),
                key=lambda r: r["n_features"],
            )
            if pts:
                ax.plot(
                    [r["n_features"] for r in pts],
                    [max(r["kae"], 1e-12) for r in pts],
                    ":" if m == "optimum" else "--o",
                    ms=3,
                    color=COLORS[m],
                    label=labels[m],
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of features D")
        ax.set_ylabel("KAE (test pairs)")
        ax.set_title(f"{d} / {k}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    mode = "quick" if args.quick else "full"
    fig.suptitle(
        f"Fig. IV.1 (KAE): UAB vs RB vs RBFSampler ({mode} mode, {repeats} seed(s), "
        f"UAB {uab_repeats}). Data: "
        + "; ".join(describe(d, data[d]) for d in datasets)
        + f"\nUAB: Adam lr {args.uab_lr}, {args.uab_batch_size} pairs per step, "
        f"<= {args.uab_epochs} x {args.uab_batches} steps, patience 5",
        fontsize=8,
    )
    fig.tight_layout()
    save_figure(fig, out / "fig_IV1_kae.png")
    plt.close(fig)

    table, notes = [], []
    for d, k in panels:
        for D in features:
            row = {"dataset": d, "kernel": k, "D": D}
            seeds = {}
            for m in labels:
                v = [
                    r
                    for r in mean
                    if (r["dataset"], r["kernel"], r["method"], r["n_features"]) == (d, k, m, D)
                ]
                row[labels[m]] = v[0]["kae"] if v else "-"
                if v and m in ("rb", "uab"):
                    seeds[m] = v[0]["repeats"]
            row["seeds RB/UAB"] = f"{seeds.get('rb', 0)}/{seeds.get('uab', 0)}"
            if isinstance(row["UAB"], float) and row["UAB"] > 0:
                row["RB / UAB"] = row["RB"] / row["UAB"]
                if isinstance(row["RBFSampler (i.i.d.)"], float):
                    row["RBFSampler / UAB"] = row["RBFSampler (i.i.d.)"] / row["UAB"]
            table.append(row)
        for base, (top, kae, need) in fewer_features(mean, d, k).items():
            notes.append(
                f"- {d} / {k}: {METHODS[base]} at D = {top} has KAE {kae:.3g}; UAB reaches it at "
                + (
                    f"D = {need} ({top / need:.0f}x fewer features)"
                    if need
                    else "no measured width"
                )
            )
    cols = list(dict.fromkeys(c for r in table for c in r))
    for r in table:
        for c in cols:
            r.setdefault(c, "-")
    text = (
        "Data: "
        + "; ".join(describe(d, data[d]) for d in datasets)
        + "\n\nKAE on all pairs of the test points (means over seeds):\n\n"
        + markdown_table(table, cols)
        + "\n\n"
        + "\n".join(notes)
        + "\n"
    )
    atomic_write_text(out / "kernel_approximation.md", text)
    return {
        "title": "Kernel approximation error vs features (Fig. IV.1, KAE)",
        "csv": [csv_path, out / "kernel_approximation_mean.csv"],
        "png": [out / "fig_IV1_kae.png"],
        "markdown": text,
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
