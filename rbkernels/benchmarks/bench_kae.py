"""KAE at equal output width: BasisFeatures (RB = ORF, UAB) vs sklearn's RBFSampler.

Also: the smallest width at which UAB reaches RBFSampler's KAE at D = 1000 (goal: >= 10x
fewer features). KAE = mean 1/2 (k - phi.phi)^2 over all pairs of the test points (at most
500), same sigma (heuristic) for all, gamma = 1/(2 sigma^2) for RBFSampler.

The column "rank-D optimum (Eckart-Young)" is the smallest KAE *any* D-dimensional feature
map can have on these points (Phi Phi^T has rank <= D; the best rank-D approximation of the
test kernel matrix is its truncated eigendecomposition), and "D_min" the smallest width at
which that optimum reaches RBFSampler's KAE at D = 1000: no D-feature method can reach it
with fewer than D_min features.

    python benchmarks/bench_kae.py [--datasets digits letter] [--seeds 2] [--uab-batch-size 1024]
"""

import argparse
import sys
import time

import numpy as np
from _common import load, markdown
from sklearn.kernel_approximation import RBFSampler
from tqdm.auto import tqdm

from rbkernels import (
    BasisFeatures,
    kernel_approximation_error,
    kernel_matrix,
    optimal_kernel_approximation_error,
    sigma_heuristic,
)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", nargs="+", default=["digits", "letter"])
    p.add_argument("--widths", nargs="+", type=int, default=[50, 100, 150, 200, 300, 1000])
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--max-train", type=int, default=5000)
    p.add_argument("--uab-epochs", type=int, default=60)
    p.add_argument("--uab-batches", type=int, default=50, help="fresh pair batches per epoch")
    p.add_argument("--uab-lr", type=float, default=1e-2)
    p.add_argument("--uab-batch-size", type=int, default=1024, help="pairs per UAB step")
    p.add_argument("--uab-max-width", type=int, default=300)
    args = p.parse_args(argv)
    start = time.perf_counter()
    for name in args.datasets:
        Xt, _, Xs, _ = load(name, max_train=args.max_train, max_test=500)
        sigma = sigma_heuristic(Xt, random_state=0)
        gamma = 1 / (2 * sigma**2)
        K = np.asarray(kernel_matrix("gaussian", Xs, Xs, sigma=sigma), dtype=np.float64)
        optimum = optimal_kernel_approximation_error(K, np.arange(len(Xs) + 1))
        rows = []
        for D in tqdm(args.widths, desc=name):
            kae = {"RBFSampler": [], "RB (ORF)": [], "UAB": []}
            for s in range(args.seeds):
                rff = RBFSampler(gamma=gamma, n_components=D, random_state=s).fit(Xt)
                kae["RBFSampler"].append(
                    kernel_approximation_error(rff, Xs, "gaussian", sigma=sigma)
                )
                rb = BasisFeatures(n_components=D, sigma=sigma, random_state=s).fit(Xt)
                kae["RB (ORF)"].append(kernel_approximation_error(rb, Xs, "gaussian"))
                if args.uab_max_width >= D:
                    uab = BasisFeatures(
                        n_components=D,
                        sigma=sigma,
                        adapt="uab",
                        max_epochs=args.uab_epochs,
                        train_batches=args.uab_batches,
                        val_batches=max(1, 1280 // args.uab_batch_size),
                        batch_size=args.uab_batch_size,
                        patience=5,
                        learning_rate=args.uab_lr,
                        random_state=s,
                    ).fit(Xt)
                    kae["UAB"].append(kernel_approximation_error(uab, Xs, "gaussian"))
            row = {"width D": D, "rank-D optimum (Eckart-Young)": float(optimum[min(D, len(Xs))])}
            row.update({k: float(np.mean(v)) if v else "-" for k, v in kae.items()})
            row["RBFSampler / RB"] = row["RBFSampler"] / row["RB (ORF)"]
            row["RBFSampler / UAB"] = row["RBFSampler"] / row["UAB"] if kae["UAB"] else "-"
            rows.append(row)
        print(
            f"\n### {name} (sigma = {sigma:.3f}, {len(Xt)} train, {len(Xs)} test points, "
            f"{args.seeds} seeds)\n"
        )
        print(markdown(rows, list(rows[0])))
        target = (
            rows[[r["width D"] for r in rows].index(1000)]["RBFSampler"]
            if 1000 in args.widths
            else None
        )
        if target is not None:
            reached = [
                r["width D"] for r in rows if isinstance(r["UAB"], float) and r["UAB"] <= target
            ]
            need = min(reached) if reached else None
            print(
                f"\nRBFSampler KAE at D=1000: {target:.3g}. Smallest UAB width reaching it: "
                f"{need if need else f'> {args.uab_max_width} (not reached)'}"
                + (f" -> {1000 / need:.0f}x fewer features" if need else "")
            )
            d_min = int(np.argmax(optimum <= target))
            print(
                f"Eckart-Young: the best rank-D approximation of the {len(Xs)}x{len(Xs)} test "
                f"kernel matrix reaches it from D_min = {d_min} (optimum {optimum[d_min]:.3g}; "
                f"D = {d_min - 1}: {optimum[d_min - 1]:.3g}); 1000 / D_min = {1000 / d_min:.0f}x "
                "is the most any D-feature map could save on these points."
            )
        sys.stdout.flush()
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
