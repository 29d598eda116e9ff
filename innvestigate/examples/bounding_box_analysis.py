"""Systematic network evaluation with the bounding-box relevance ratio (thesis Chapter V §4.5).

The thesis ranks ImageNet classes by the ratio of absolute LRP relevance inside to
outside the objects' bounding boxes and finds "basketball" decided by the scene, not the
ball. Here the situation is built on purpose so that the answer is known: MNIST-5k digits
are placed at random positions on a 40x40 canvas (their bounding box is known) and every
image of one class (the *cue class*) also carries a small bright square in the corner, a
context feature outside the object. A CNN trained on these images can recognise the cue
class by the square; over the test set the cue class should have the lowest ratio.

    python innvestigate/examples/bounding_box_analysis.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os

import keras
import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis
from innvestigate.tools.bounding_box import bounding_box_relevance_ratio, rank_classes_by_ratio
from innvestigate.utils.batching import analyze_in_batches

try:
    from . import _common as common
except ImportError:
    import _common as common

CANVAS = 40
CUE_CLASS = 7


def place(X, y, rng):
    """Digits on a larger canvas; returns images, bounding boxes (top, left, bottom, right)."""
    n, side = len(X), X.shape[1]
    out = np.zeros((n, CANVAS, CANVAS, 1), "float32")
    boxes = np.zeros((n, 4), "int64")
    offsets = rng.integers(4, CANVAS - side + 1, size=(n, 2))
    for i, (r, c) in enumerate(offsets):
        out[i, r : r + side, c : c + side] = X[i]
        rows = np.flatnonzero(X[i, :, :, 0].max(1) > 0.1)
        cols = np.flatnonzero(X[i, :, :, 0].max(0) > 0.1)
        boxes[i] = (r + rows[0], c + cols[0], r + rows[-1] + 1, c + cols[-1] + 1)
    out[y == CUE_CLASS, 0:3, 0:3] = 1.0  # the context cue, outside every bounding box
    return out, boxes


def network(shape):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape),
            L.Conv2D(16, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(64, activation="relu"),
            L.Dense(10, activation="softmax"),
        ],
        name="cnn_canvas",
    )


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k"):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    X_train, y_train, X_test, y_test = common.load_images(dataset, quick)
    X_train, _ = place(X_train, y_train, rng)
    X_test, boxes = place(X_test, y_test, rng)
    cache = (
        None
        if cache_dir is None
        else os.path.join(cache_dir, f"bbox_cnn_{dataset}_{'quick' if quick else 'full'}.keras")
    )
    model, _ = common.train(
        network(X_train.shape[1:]), X_train, y_train, epochs=3 if quick else 8, cache_path=cache
    )
    accuracy = float(np.mean(np.argmax(common.predict(model, X_test), 1) == y_test))
    model_wo_sm = innvestigate.model_wo_softmax(model)
    analyzer = innvestigate.create_analyzer(
        "lrp.sequential_preset_a_flat", model_wo_sm, epsilon=1.0, neuron_selection_mode="index"
    )
    # dataset-scale analysis: a generator of (x, y) batches, relevance of the true class
    batches = ((X_test[i : i + 100], y_test[i : i + 100]) for i in range(0, len(X_test), 100))
    relevance = analyze_in_batches(
        analyzer.analyze, batches, progress=False, neuron_selection="targets"
    )
    ratios = bounding_box_relevance_ratio(relevance, boxes)
    ranking = rank_classes_by_ratio(ratios, y_test)
    # a copy without the cue shows how much the cue class depends on it
    X_no_cue = X_test.copy()
    X_no_cue[:, 0:3, 0:3] = 0.0
    cue = y_test == CUE_CLASS
    acc_cue = float(np.mean(np.argmax(common.predict(model, X_test[cue]), 1) == CUE_CLASS))
    acc_no_cue = float(np.mean(np.argmax(common.predict(model, X_no_cue[cue]), 1) == CUE_CLASS))

    grid, left = [], []
    for label, _, _ in [ranking[0], ranking[-1]]:
        idx = np.flatnonzero(y_test == label)[:4]
        for row_images in ([X_test[i] for i in idx], list(ivis.heatmap(relevance[idx]))):
            cells = []
            for k, img in zip(idx, row_images):
                img = np.repeat(img, 3, -1) if img.shape[-1] == 1 else img.copy()
                t, l_, b, r = boxes[k]
                img[t, l_:r] = img[b - 1, l_:r] = img[t:b, l_] = img[t:b, r - 1] = (0.0, 0.8, 0.0)
                cells.append(img)
            grid.append(cells)
        left += [f"class {label}\ninput", f"class {label}\nLRP"]
    path = os.path.join(out_dir, "bounding_box_lowest_highest.png")
    ivis.plot_grid(
        grid,
        row_labels_left=left,
        file_name=path,
        title="Lowest (top) and highest (bottom) inside/outside relevance ratio; "
        f"CNN test acc. {accuracy:.3f}",
    )
    csv_path = os.path.join(out_dir, "bounding_box_ratio_by_class.csv")
    common.write_csv(
        csv_path,
        ["class", "mean_ratio_inside_outside", "n"],
        [[c, f"{m:.4f}", n] for c, m, n in ranking],
    )
    lines = [
        f"CNN on {dataset} digits placed on a {CANVAS}x{CANVAS} canvas, class {CUE_CLASS} with a "
        f"corner cue: test accuracy {accuracy:.3f}; class {CUE_CLASS} recognised "
        f"{acc_cue:.3f} with the cue, {acc_no_cue:.3f} without it.",
        "Classes by mean LRP relevance ratio inside/outside the bounding box (lowest first): "
        + ", ".join(f"{c} {m:.2f}" for c, m, _ in ranking)
        + ".",
        f"Lowest-ratio class: {ranking[0][0]} (the cue class is {CUE_CLASS}).",
    ]
    return {
        "title": "Bounding-box relevance ratio (§4.5)",
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
