"""``python -m shared_datasets.report --out DIR``: the shared-datasets part of ``make demo``.

Writes ``DIR/datasets.csv`` (every offline dataset and a default ``lshtc_like`` draw:
name, n_train, n_test, n_features, n_classes, density, source), ``DIR/summary.md``, and
two figures: ``lshtc_like_class_sizes.png`` (class size against rank, log-log, with the
power law it was drawn from) and ``signal_distractor.png`` (Fig. II.2 of the thesis).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import api, catalog
from .atomic import write_atomic
from .synthetic import make_lshtc_like, make_signal_distractor, power_law_class_probabilities

__all__ = ["main", "dataset_rows"]

COLUMNS = ["name", "n_train", "n_test", "n_features", "n_classes", "density", "source"]


def _density(X_train: Any, X_test: Any) -> float:
    cells = (X_train.shape[0] + X_test.shape[0]) * X_train.shape[1]
    if sp.issparse(X_train):
        return float((X_train.nnz + X_test.nnz) / cells)
    return float((np.count_nonzero(X_train) + np.count_nonzero(X_test)) / cells)


def dataset_rows(progress: bool = True) -> list[dict[str, Any]]:
    """One row per offline dataset plus the default ``lshtc_like`` draw (see module doc)."""
    from tqdm import tqdm

    names = api.list_datasets("offline") + ["lshtc_like"]
    rows = []
    for name in tqdm(names, desc="loading datasets", disable=not progress, file=sys.stderr):
        X_train, y_train, X_test, y_test = api.load(name)
        meta = catalog.OFFLINE.get(name) or catalog.GENERATORS[name]
        rows.append(
            {
                "name": name,
                "n_train": X_train.shape[0],
                "n_test": X_test.shape[0],
                "n_features": X_train.shape[1],
                "n_classes": len(np.unique(np.concatenate([y_train, y_test]))),
                "density": round(float(_density(X_train, X_test)), 6),
                "source": meta.source,
            }
        )
    return rows


def _class_size_figure(path: Path) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, d, k = 25_000, 50_000, 1_000
    start = time.perf_counter()
    X, y = make_lshtc_like(n_samples=n, n_features=d, n_classes=k, random_state=0)
    seconds = time.perf_counter() - start
    sizes = np.sort(np.bincount(y, minlength=k))[::-1]
    ranks = np.arange(1, k + 1)
    expected = 1 + (n - k) * power_law_class_probabilities(k, 1.0)
    slope = float(np.polyfit(np.log(ranks[:100]), np.log(sizes[:100]), 1)[0])
    nnz = np.diff(X.indptr)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    ax0.loglog(ranks, sizes, ".", ms=3, label="generated")
    ax0.loglog(ranks, expected, "-", lw=1, label="expected: 1 + (n-K) (r^-1 / H_K)")
    ax0.set(
        xlabel="class rank",
        ylabel="documents in class",
        title=f"lshtc_like class sizes (n={n:,}, K={k:,}); head slope {slope:.2f}",
    )
    ax0.legend()
    ax1.hist(nnz, bins=np.arange(nnz.min(), nnz.max() + 2) - 0.5)
    ax1.set(
        xlabel="non-zeros per row", ylabel="rows", title=f"mean {nnz.mean():.1f} non-zeros per row"
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
    return {
        "seconds": seconds,
        "slope": slope,
        "mean_nnz": float(nnz.mean()),
        "largest": int(sizes[0]),
        "singletons": int((sizes == 1).sum()),
        "shape": X.shape,
    }


def _signal_distractor_figure(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = make_signal_distractor(600, random_state=0)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    points = ax.scatter(X[:, 0], X[:, 1], c=X @ w, cmap="coolwarm", s=8)
    for vector, label, colour in [
        ((1, 0), "signal direction a_s = (1, 0)", "black"),
        ((1, 1), "distractor direction a_d = (1, 1)", "dimgrey"),
        (tuple(w), f"least-squares filter w = ({w[0]:.2f}, {w[1]:.2f})", "green"),
    ]:
        ax.annotate(
            "", xy=vector, xytext=(0, 0), arrowprops=dict(color=colour, width=2.5, headwidth=9)
        )
        ax.plot([], [], color=colour, lw=3, label=label)
    ax.legend(loc="upper left", fontsize=8)
    ax.set(aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
    ax.set_title(
        "Fig. II.2 / Eq. II.29: $x = a_s y + a_d \\varepsilon$, colour $= w^T x$", fontsize=10
    )
    fig.colorbar(points, ax=ax, shrink=0.8, label="$w^T x = y$")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report into ``--out`` (created) and print where."""
    parser = argparse.ArgumentParser(
        prog="python -m shared_datasets.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    args = parser.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    rows = dataset_rows()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out / "datasets.csv", text.getvalue().encode())

    stats = _class_size_figure(out / "lshtc_like_class_sizes.png")
    _signal_distractor_figure(out / "signal_distractor.png")

    lines = [
        "# shared-datasets",
        "",
        "Every offline dataset as `shared_datasets.load(name)` returns it (float32 features, labels 0..K-1),",
        "plus one default draw of the LSHTC-like generator. Table: `datasets.csv`.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        lines.append(
            "| "
            + " | ".join(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in COLUMNS)
            + " |"
        )
    lines += [
        "",
        "## LSHTC-like generator",
        "",
        f"`make_lshtc_like(n_samples=25000, n_features=50000, n_classes=1000)`: {stats['seconds']:.2f} s on this machine; "
        f"{stats['mean_nnz']:.1f} non-zeros per row on average, rows of unit norm; largest class "
        f"{stats['largest']:,} documents, {stats['singletons']} classes with a single document; "
        f"log-log slope of class size against rank over the 100 largest classes {stats['slope']:.2f} "
        "(drawn from a Zipf prior with exponent 1).",
        "",
        "![class sizes](lshtc_like_class_sizes.png)",
        "",
        "## Signal/distractor toy (Fig. II.2, Eq. II.29)",
        "",
        "The least-squares filter w recovers y exactly but points away from the signal direction a_s:",
        "it is set by the distractor (w^T a_d = 0).",
        "",
        "![signal and distractor](signal_distractor.png)",
        "",
    ]
    write_atomic(out / "summary.md", "\n".join(lines).encode())
    print(
        f"shared-datasets report written to {out}/ (summary.md, datasets.csv, "
        "lshtc_like_class_sizes.png, signal_distractor.png)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
