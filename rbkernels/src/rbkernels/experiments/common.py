"""Shared pieces of the experiments: data, one training run, CSV/PNG output, CLI."""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..machine import KernelMachine
from ..protocol import TrainingProtocol

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: ``(X_train, y_train, X_test, y_test)`` as returned by :func:`load_data`.
_Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# Which shared-datasets set stands in for which of the thesis' data sets (§5.1).
SUBSTITUTES = {
    "fashion_mnist": "MNIST (Fashion-MNIST in its place)",
    "mnist5k": "MNIST (the 5k MNIST subset in its place)",
    "letter": "Letter (real UCI Letter)",
    "satimage": "CoverType (UCI Satellite in its place)",
    "shuttle": "CoverType (UCI Shuttle in its place)",
    "dna": "Gisette (DNA in its place)",
    "digits": "USPS (sklearn digits in its place)",
    "mnist": "MNIST (original)",
    "covtype": "CoverType (original)",
    "gisette": "Gisette (original)",
    "usps": "USPS (original)",
}

REGIME_COLORS = {"rb": "tab:blue", "uab": "tab:green", "sab": "tab:orange", "dab": "tab:red"}
REGIME_NAMES = {
    "rb": "random (RB)",
    "uab": "unsupervised ada. (UAB)",
    "sab": "supervised ada. (SAB)",
    "dab": "discriminative ada. (DAB)",
}

QUICK_PROTOCOL = dict(
    max_epochs=6, train_batches=20, val_batches=5, test_batches=20, patience=2, learning_rate=5e-3
)
FULL_PROTOCOL = dict(
    max_epochs=200,
    train_batches=10_000,
    val_batches=1_000,
    test_batches=1_000,
    patience=None,
    learning_rate=1e-3,
)


def load_data(
    name: str, *, max_train: int | None = None, max_test: int | None = None, seed: int = 0
) -> _Data:
    """``(X_train, y_train, X_test, y_test)`` centred and scaled into [-1, 1] (§5.1).

    Through ``shared_datasets.load(name, preprocessing="minmax")`` (the ``[experiments]``
    extra). ``max_train``/``max_test`` subsample (stratification not needed at these sizes).
    """
    import shared_datasets

    Xt, yt, Xs, ys = shared_datasets.load(name, preprocessing="minmax", as_sparse=False)
    rng = np.random.default_rng(seed)
    if max_train and len(Xt) > max_train:
        idx = rng.choice(len(Xt), max_train, replace=False)
        Xt, yt = Xt[idx], yt[idx]
    if max_test and len(Xs) > max_test:
        idx = rng.choice(len(Xs), max_test, replace=False)
        Xs, ys = Xs[idx], ys[idx]
    return (np.asarray(Xt, "float32"), np.asarray(yt), np.asarray(Xs, "float32"), np.asarray(ys))


def describe(name: str, data: _Data) -> str:
    Xt, _, Xs, _ = data
    return (
        f"{name}: {SUBSTITUTES.get(name, name)}, {len(Xt)} train / {len(Xs)} test, d={Xt.shape[1]}"
    )


def run_cell(
    data: _Data,
    *,
    kernel: str,
    regime: str,
    n_features: int,
    seed: int,
    protocol: TrainingProtocol,
    basis: str = "dense",
    n_blocks: int = 3,
    validation_size: float = 0.1,
) -> tuple[KernelMachine, dict[str, Any]]:
    """Train one machine and measure test accuracy, test-pair KAE, epochs and seconds."""
    Xt, yt, Xs, ys = data
    start = time.perf_counter()
    m = KernelMachine(
        kernel,
        n_features,
        regime,
        basis=basis,
        n_blocks=n_blocks,
        protocol=protocol,
        random_state=seed,
    )
    m.fit(Xt, yt, validation_size=validation_size)
    seconds = time.perf_counter() - start
    return m, {
        "kernel": kernel,
        "regime": regime,
        "basis": basis,
        "n_blocks": n_blocks if basis == "hadamard" else "",
        "n_features": n_features,
        "seed": seed,
        "accuracy": m.score(Xs, ys),
        "kae": m.pair_kernel_approximation_error(Xs, random_state=seed),
        "epochs": m.n_epochs_,
        "classifier_epochs": m.history_["classifier"]["best_epoch"],
        "seconds": round(seconds, 2),
        "sigma": m.sigma_ if m.sigma_ is not None else "",
    }


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read
    os.replace(tmp, path)


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write dict rows to CSV atomically (temp file + os.replace)."""
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read
    os.replace(tmp, path)


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Save a matplotlib figure as PNG atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; reports are meant to be read
    os.replace(tmp, path)


def mean_rows(
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
    values: Sequence[str] = ("accuracy", "kae", "epochs", "seconds"),
) -> list[dict[str, Any]]:
    """Average ``values`` over rows that agree on ``keys`` (the repeats)."""
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, rs in groups.items():
        row = dict(zip(keys, key))
        for v in values:
            row[v] = float(np.mean([float(r[v]) for r in rs]))
        row["repeats"] = len(rs)
        out.append(row)
    return out


def parser(
    description: str,
    *,
    datasets: Sequence[str],
    quick_datasets: Sequence[str],
    features: Sequence[int],
    quick_features: Sequence[int],
) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a few minutes on 2 cores (make demo)")
    p.add_argument("--out", default="results", help="output folder for CSV and PNG files")
    p.add_argument(
        "--datasets", nargs="+", default=None, help=f"default {datasets} (quick: {quick_datasets})"
    )
    p.add_argument(
        "--features",
        nargs="+",
        type=int,
        default=None,
        help=f"numbers of features (default {features}; quick: {quick_features})",
    )
    p.add_argument("--repeats", type=int, default=None, help="seeds per cell (3; quick: 1)")
    p.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="subsample the training set (quick default 1500)",
    )
    p.add_argument("--max-test", type=int, default=None, help="subsample the test set")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows of an existing CSV in --out and run only the missing cells",
    )
    p.add_argument(
        "--tabulate-only",
        action="store_true",
        help="run no cell: rebuild tables and figures from the rows already in the CSV "
        "(a run stopped early; the repeats per cell are in the tables)",
    )
    for k, v in FULL_PROTOCOL.items():
        p.add_argument(
            "--" + k.replace("_", "-"),
            type=type(v) if v is not None else int,
            default=None,
            help=f"protocol size (full {v}, quick {QUICK_PROTOCOL[k]})",
        )
    p.set_defaults(
        _defaults=dict(
            datasets=datasets,
            quick_datasets=quick_datasets,
            features=features,
            quick_features=quick_features,
        )
    )
    return p


def resolve(
    args: argparse.Namespace,
) -> tuple[Sequence[str], Sequence[int], int, TrainingProtocol, tuple[int | None, int | None]]:
    """Fill defaults by mode; return (datasets, features, repeats, protocol, limits)."""
    d = args._defaults
    base = QUICK_PROTOCOL if args.quick else FULL_PROTOCOL
    proto: dict[str, Any] = {
        k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in base.items()
    }
    datasets = args.datasets or (d["quick_datasets"] if args.quick else d["datasets"])
    features = args.features or (d["quick_features"] if args.quick else d["features"])
    repeats = args.repeats or (1 if args.quick else 3)
    max_train = args.max_train or (1500 if args.quick else None)
    max_test = args.max_test or (500 if args.quick else None)
    return datasets, features, repeats, TrainingProtocol(**proto), (max_train, max_test)


def protocol_text(protocol: TrainingProtocol) -> str:
    return (
        f"Adam lr={protocol.learning_rate}, batch {protocol.batch_size}, patience "
        f"{protocol.patience or '10 (20 Hadamard)'}, <= {protocol.max_epochs} epochs, "
        f"{protocol.train_batches}/{protocol.val_batches}/{protocol.test_batches} "
        "train/val/test batches per UAB/SAB epoch"
    )


def plot_kae_accuracy(
    rows: Sequence[Mapping[str, Any]],
    *,
    panel_keys: Sequence[str],
    line_key: str,
    line_labels: Mapping[Any, str],
    line_colors: Mapping[Any, Any],
    title: str,
    path: str | os.PathLike[str],
    kae: bool = True,
    styles: Mapping[Any, Any] | None = None,
) -> None:
    """Panels of KAE (log, dashed, left axis) and accuracy (solid, right axis) vs features.

    ``rows`` are averaged rows; one panel per distinct ``panel_keys`` value, one line per
    ``line_key`` value.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(tuple(r[k] for k in panel_keys) for r in rows))
    ncols = min(len(panels), 2 if len(panels) % 3 and len(panels) <= 4 else 3)
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.6 * nrows), squeeze=False)
    legend_ax: Any = None
    for ax, panel in zip(axes.flat, panels):
        sub = [r for r in rows if tuple(r[k] for k in panel_keys) == panel]
        right = ax.twinx() if kae else ax
        legend_ax = legend_ax or right
        for line in dict.fromkeys(r[line_key] for r in sub):
            pts = sorted((r for r in sub if r[line_key] == line), key=lambda r: r["n_features"])
            x = [r["n_features"] for r in pts]
            color = line_colors.get(line)
            label = line_labels.get(line, str(line))
            right.plot(x, [r["accuracy"] for r in pts], "-o", color=color, ms=3, label=label)
            if kae:
                ax.plot(x, [max(r["kae"], 1e-12) for r in pts], "--", color=color, alpha=0.8)
        ax.set_xscale("log")
        xs = sorted({r["n_features"] for r in sub})
        ax.set_xticks(xs, [str(v) for v in xs])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if kae:
            ax.set_yscale("log")
            ax.set_ylabel("KAE (dashed)")
            right.set_ylabel("test accuracy (solid)")
        else:
            ax.set_ylabel("test accuracy")
        ax.set_xlabel("number of features")
        ax.set_title(" / ".join(str(p) for p in panel), fontsize=9)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = legend_ax.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=8,
        bbox_to_anchor=(0.5, -0.02),
    )
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    save_figure(fig, path)
    plt.close(fig)


def markdown_table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A GitHub markdown table of ``rows`` (dicts) with the given columns."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_INT_COLUMNS = ("n_features", "seed", "n_blocks", "epochs", "classifier_epochs", "split")
_FLOAT_COLUMNS = ("accuracy", "kae", "seconds", "sigma")
CELL_KEYS = ("dataset", "kernel", "regime", "basis", "n_features", "seed")


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of a CSV written by :func:`write_csv`, numbers parsed back (``--resume``)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in _INT_COLUMNS:
            if r.get(k) not in (None, ""):
                r[k] = int(float(r[k]))
        for k in _FLOAT_COLUMNS:
            if r.get(k) not in (None, ""):
                r[k] = float(r[k])
    return rows


def _cell_key(row):
    basis = row.get("basis", "dense")
    blocks = str(row.get("n_blocks", 3)) if basis == "hadamard" else ""
    return tuple(str(row.get(k, basis)) for k in CELL_KEYS) + (blocks,)


def run_grid(
    cells: Sequence[Mapping[str, Any]],
    *,
    desc: str,
    csv_path: str | os.PathLike[str],
    data_cache: Mapping[str, _Data],
    resume: bool = False,
    tabulate_only: bool = False,
) -> list[dict[str, Any]]:
    """Run ``cells`` (dicts of run_cell kwargs plus 'dataset'), saving CSV after each.

    With ``resume``, rows already in ``csv_path`` are kept and their cells skipped, so a
    run of hours can be stopped and continued (the protocol is not checked: resume only
    with the arguments of the first run). ``tabulate_only`` returns those rows and runs nothing.
    """
    from tqdm.auto import tqdm

    rows = read_rows(csv_path) if resume or tabulate_only else []
    done = {_cell_key(r) for r in rows}
    wanted = {_cell_key(c) for c in cells}
    rows = [r for r in rows if _cell_key(r) in wanted]
    if tabulate_only:
        return rows
    for cell in tqdm(cells, desc=desc):
        if _cell_key(cell) in done:
            continue
        cell = dict(cell)
        dataset = cell.pop("dataset")
        _, row = run_cell(data_cache[dataset], **cell)
        rows.append({"dataset": dataset, **row})
        write_csv(rows, csv_path)
    return rows
