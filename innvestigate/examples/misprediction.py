"""Analysing a misprediction (thesis Chapter V §4.1, Fig. V.7).

A small VGG-like network is trained on MNIST-5k; for a misclassified test digit, every
method explains the predicted class, the true class and three more output neurons
(rows), so one can see which strokes speak for and against each class.

    python innvestigate/examples/misprediction.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os

import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis

try:
    from . import _common as common
except ImportError:  # run as a script
    import _common as common


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k"):
    os.makedirs(out_dir, exist_ok=True)
    model, (X_train, _, X_test, y_test), accuracy, train_s = common.trained_vgg(
        dataset, quick, cache_dir
    )
    model_wo_sm = innvestigate.model_wo_softmax(model)
    pred = np.argmax(common.predict(model, X_test), axis=1)
    wrong = np.flatnonzero(pred != y_test)
    # the misprediction the network is most confident about
    probs = common.predict(model, X_test[wrong])
    idx = int(wrong[np.argmax(probs.max(1))]) if len(wrong) else 0
    x = X_test[idx : idx + 1]
    true_label, predicted = int(y_test[idx]), int(pred[idx])
    logits = np.asarray(model_wo_sm(x))[0]
    others = [int(k) for k in np.argsort(-logits) if k not in (true_label, predicted)][:3]
    neurons = [predicted, true_label] + others

    method_list = common.methods(quick)
    analyses = common.create_analyzers(model_wo_sm, method_list, fit_data=X_train[:2000])
    grid = common.analysis_grid(analyses, np.repeat(x, len(neurons), 0), neurons, model_wo_sm)
    names = common.CLASS_NAMES[dataset]
    labels = [common.row_labels(model_wo_sm, model, x, true_label, k, names) for k in neurons]
    path = os.path.join(out_dir, "fig_v7_misprediction.png")
    ivis.plot_grid(
        grid,
        col_labels=list(analyses.created),
        row_labels_left=[a for a, _ in labels],
        row_labels_right=[b for _, b in labels],
        file_name=path,
        title=f"VGG-like on {dataset} (test acc. {accuracy:.3f}): true {names[true_label]}, "
        f"predicted {names[predicted]}",
    )
    csv_path = os.path.join(out_dir, "misprediction_logits.csv")
    common.write_csv(
        csv_path,
        ["neuron", "logit", "softmax"],
        [[names[k], f"{logits[k]:.4f}", f"{np.asarray(model(x))[0][k]:.4f}"] for k in neurons],
    )
    lines = [
        f"VGG-like network on {dataset}: test accuracy {accuracy:.4f} ({len(wrong)} errors of "
        f"{len(y_test)}), {f'trained in {train_s:.1f} s' if train_s else 'network reused from an earlier example'}.",
        f"Test sample {idx}: true {names[true_label]}, predicted {names[predicted]}; rows explain "
        f"neurons {', '.join(names[k] for k in neurons)} with {len(analyses.created)} methods.",
        "Deep Taylor is left empty for rows whose output is not positive (not defined there).",
    ] + common.skipped_lines(analyses)
    return {
        "title": "Analysing a misprediction (Fig. V.7)",
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
