"""Comparing explanation methods on one network (thesis Chapter V §4.2, Fig. V.8).

All methods (columns) on several test images (rows) of a VGG-like network trained on
Fashion-MNIST; true and predicted label on the left, softmax and pre-softmax output of
the predicted class on the right.

    python innvestigate/examples/compare_methods.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os
import time

import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis

try:
    from . import _common as common
except ImportError:
    import _common as common


def main(out_dir, quick=False, cache_dir=None, dataset="fashion_mnist"):
    os.makedirs(out_dir, exist_ok=True)
    model, (X_train, _, X_test, y_test), accuracy, train_s = common.trained_vgg(
        dataset, quick, cache_dir
    )
    model_wo_sm = innvestigate.model_wo_softmax(model)
    pred = np.argmax(common.predict(model, X_test), axis=1)
    # one image of each of several classes, the last one misclassified (as in Fig. V.8)
    n_rows = 4 if quick else 6
    chosen = []
    for c in range(10):
        hits = np.flatnonzero((y_test == c) & (pred == c))
        if len(hits) and len(chosen) < n_rows - 1:
            chosen.append(int(hits[0]))
    wrong = np.flatnonzero(pred != y_test)
    if len(wrong):
        chosen.append(int(wrong[0]))
    x = X_test[chosen]
    neurons = [int(pred[i]) for i in chosen]
    analyses = common.create_analyzers(model_wo_sm, common.methods(quick), fit_data=X_train[:2000])
    start = time.perf_counter()
    grid = common.analysis_grid(analyses, x, neurons, model_wo_sm)
    analysis_s = time.perf_counter() - start
    names = common.CLASS_NAMES[dataset]
    labels = [
        common.row_labels(model_wo_sm, model, x[r : r + 1], int(y_test[i]), None, names)
        for r, i in enumerate(chosen)
    ]
    path = os.path.join(out_dir, "fig_v8_compare_methods.png")
    ivis.plot_grid(
        grid,
        col_labels=list(analyses.created),
        row_labels_left=[a for a, _ in labels],
        row_labels_right=[b for _, b in labels],
        file_name=path,
        title=f"VGG-like on {dataset} (test acc. {accuracy:.3f})",
    )
    csv_path = os.path.join(out_dir, "compare_methods_setup_seconds.csv")
    common.write_csv(
        csv_path,
        ["method", "setup_seconds"],
        [[k, f"{v:.3f}"] for k, v in analyses.seconds.items()],
    )
    lines = [
        f"VGG-like network on {dataset}: test accuracy {accuracy:.4f}, {f'trained in {train_s:.1f} s' if train_s else 'network reused from an earlier example'}; "
        f"{len(analyses.created)} methods x {len(chosen)} images analysed in {analysis_s:.1f} s.",
    ] + common.skipped_lines(analyses)
    return {
        "title": "Comparing methods (Fig. V.8)",
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
