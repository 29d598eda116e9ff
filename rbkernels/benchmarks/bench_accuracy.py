"""Test accuracy vs number of features: RBFSampler + LogisticRegression vs RB/UAB/SAB/DAB.

Same width D and the same sigma heuristic for all; Keras machines trained with Adam,
batch 64, early stopping (patience 3, <= 25 epochs, UAB/SAB: 50 fresh batches/epoch),
lr 5e-3; 3000 training / 1000 test samples (subsampled).

    python benchmarks/bench_accuracy.py [--datasets digits letter fashion_mnist]
"""

import argparse
import time

from _common import load, markdown
from sklearn.kernel_approximation import RBFSampler
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from tqdm.auto import tqdm

from rbkernels import KernelMachine, TrainingProtocol, sigma_heuristic


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", nargs="+", default=["digits", "letter", "fashion_mnist"])
    p.add_argument("--widths", nargs="+", type=int, default=[30, 100, 300, 1000])
    p.add_argument("--max-train", type=int, default=3000)
    p.add_argument("--max-test", type=int, default=1000)
    args = p.parse_args(argv)
    proto = TrainingProtocol(
        max_epochs=25,
        patience=3,
        train_batches=50,
        val_batches=20,
        test_batches=20,
        learning_rate=5e-3,
    )
    start = time.perf_counter()
    for name in args.datasets:
        Xt, yt, Xs, ys = load(name, max_train=args.max_train, max_test=args.max_test)
        sigma = sigma_heuristic(Xt, random_state=0)
        rows = []
        for D in tqdm(args.widths, desc=name):
            row = {"width D": D}
            t = time.perf_counter()
            clf = make_pipeline(
                RBFSampler(gamma=1 / (2 * sigma**2), n_components=D, random_state=0),
                LogisticRegression(max_iter=300),
            )
            row["RBFSampler+LR"] = clf.fit(Xt, yt).score(Xs, ys)
            for regime in ("rb", "uab", "sab", "dab"):
                m = KernelMachine(
                    "gaussian", D, regime, sigma=sigma, protocol=proto, random_state=0
                )
                row[regime.upper()] = m.fit(Xt, yt).score(Xs, ys)
            row["seconds"] = round(time.perf_counter() - t, 1)
            rows.append(row)
        print(
            f"\n### {name} (Gaussian kernel, sigma = {sigma:.3f}, {len(Xt)} train / {len(Xs)} test)\n"
        )
        print(markdown(rows, list(rows[0])))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
