"""Batch-normalisation handling choices for LRP (thesis Chapter V §4.3, Fig. V.9).

ResNet50- and DenseNet121-shaped networks (``keras.applications`` with ``weights=None``
at 32x32 input, trained on MNIST-5k padded to 32x32x3 so that the batch-norm
statistics are real: 1 epoch on 512 images in quick mode, 4 epochs on all 4 500 training
images with a cosine learning-rate decay in full mode) are explained with LRP preset A under four ways to treat a
BatchNormalization layer: fused into the preceding convolution, one linear layer, two
linear layers, and the rule of Hui & Binder (Eq. A.3, "1-Linear*"). Heatmaps show the
signed square root of the relevance, as in the thesis. The CSV lists, per network and
choice, the total relevance relative to the explained logit and the correlation with
the fused variant.

    python innvestigate/examples/batchnorm_handling.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os
import time

import keras
import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis

try:
    from . import _common as common
except ImportError:
    import _common as common

CHOICES = [
    ("fuse", "Fused"),
    ("one_linear", "1-Linear"),
    ("two_linear", "2-Linear"),
    ("hui_binder", "1-Linear*"),
]


def padded_rgb(X):
    return np.repeat(np.pad(X, ((0, 0), (2, 2), (2, 2), (0, 0))), 3, axis=-1)


def build(name):
    kwargs = dict(
        weights=None, input_shape=(32, 32, 3), classes=10, classifier_activation="softmax"
    )
    if name == "ResNet50":
        return keras.applications.ResNet50(**kwargs)
    return keras.applications.DenseNet121(**kwargs)


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k", networks=None):
    os.makedirs(out_dir, exist_ok=True)
    X_train, y_train, X_test, y_test = common.load_images(dataset, quick)
    # Tracing the reverse pass of a 50- or 121-layer network takes 10-40 s per analyzer on
    # two cores, so the quick version explains ResNet50 only; DenseNet121 runs in full mode.
    nets = networks or (("ResNet50",) if quick else ("ResNet50", "DenseNet121"))
    n_train = 512 if quick else len(X_train)
    X_train, y_train = padded_rgb(X_train[:n_train]), y_train[:n_train]
    n_test = 200 if quick else len(X_test)
    X_test, y_test = padded_rgb(X_test[:n_test]), y_test[:n_test]
    n_images = 1 if quick else 2
    grid, left, right, table, lines = [], [], [], [], []
    for net in nets:
        # cached in full mode only (a saved ResNet50 is ~100 MB; quick mode trains in a minute)
        cache = (
            None
            if quick or cache_dir is None
            else os.path.join(cache_dir, f"bn_{net}_{dataset}_full.keras")
        )
        model, train_s = common.train(
            build(net),
            X_train,
            y_train,
            epochs=1 if quick else 4,
            cache_path=cache,
            batch_size=32,
            decay=not quick,
        )
        accuracy = float(np.mean(np.argmax(model.predict(X_test, verbose=0), 1) == y_test))
        model_wo_sm = innvestigate.model_wo_softmax(model)
        x = X_test[:n_images]
        logits = np.asarray(model_wo_sm(x))
        pred = logits.argmax(1)
        analyses = {}
        for rule, label in CHOICES:
            start = time.perf_counter()
            analyzer = innvestigate.create_analyzer(
                "lrp.sequential_preset_a", model_wo_sm, bn_layer_rule=rule
            )
            analyses[label] = analyzer.analyze(x)
            seconds = time.perf_counter() - start
            for i in range(n_images):
                a = analyses[label][i]
                fused = analyses["Fused"][i]
                corr = (
                    float(np.corrcoef(a.ravel(), fused.ravel())[0, 1])
                    if np.std(a) > 0
                    else float("nan")
                )
                table.append(
                    [
                        net,
                        f"{accuracy:.4f}",
                        label,
                        i,
                        f"{a.sum() / logits[i, pred[i]]:.4f}",
                        f"{corr:.4f}",
                        f"{seconds:.2f}",
                    ]
                )
        one, two = analyses["1-Linear"], analyses["2-Linear"]
        gap = float(np.abs(one - two).max() / max(np.abs(one).max(), 1e-30))
        lines.append(
            f"{net}: 1-Linear and 2-Linear differ by {gap:.1e} (max relative): with the epsilon rule "
            "the readings coincide algebraically, x s / ((x - mu) s + beta) either way, so only the "
            "stabiliser epsilon separates them."
        )
        for i in range(n_images):
            row = [x[i]]
            for _, label in CHOICES:
                a = analyses[label][i : i + 1]
                row.append(ivis.heatmap(ivis.gamma(a, gamma=0.5))[0])
            grid.append(row)
            left.append(f"{net}\ntest acc. {accuracy:.3f}\ntrue {y_test[i]} pred {pred[i]}")
            right.append(f"logit {logits[i, pred[i]]:.2f}")
        trained = f"trained {train_s:.0f} s" if train_s else "trained earlier (cached)"
        lines.append(
            f"{net}: {trained} on {n_train} images, {1 if quick else 4} epoch(s) "
            f"(test acc. {accuracy:.3f} on {n_test} test images)."
        )
    path = os.path.join(out_dir, "fig_v9_batchnorm.png")
    ivis.plot_grid(
        grid,
        col_labels=["Input"] + [label for _, label in CHOICES],
        row_labels_left=left,
        row_labels_right=right,
        file_name=path,
        title="LRP preset A, batch-norm handling (signed sqrt of relevance)",
    )
    csv_path = os.path.join(out_dir, "batchnorm_handling.csv")
    common.write_csv(
        csv_path,
        [
            "network",
            "network_test_accuracy",
            "bn_handling",
            "image",
            "sum_relevance_over_logit",
            "correlation_with_fused",
            "seconds_incl_setup",
        ],
        table,
    )
    if quick:
        lines.append("Quick mode: ResNet50 only; DenseNet121 in the full run.")
    for net in nets:
        corr = {r[2]: r[5] for r in table if r[0] == net and r[3] == 0}
        lines.append(
            f"{net}, image 0: correlation with the fused variant "
            + ", ".join(f"{k} {v}" for k, v in corr.items() if k != "Fused")
            + "."
        )
    return {
        "title": "Batch-norm handling (Fig. V.9)",
        "figures": [path],
        "csv": [csv_path],
        "lines": lines,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    print(
        "\n".join(main(args.out, args.quick, cache_dir=os.path.join(args.out, "_models"))["lines"])
    )
