"""Comparing network architectures (thesis Chapter V §4.4, Fig. V.10).

Five networks of growing complexity - a dense MLP, a small CNN, the VGG-like network, a
small ResNet (residual blocks with batch norm) and a small DenseNet (concatenating
blocks) - are trained on the same MNIST-5k data and explain the same test image with the
same methods (columns). Left: network and prediction; right: softmax and logit of the
predicted class. The CSV gives test accuracy and, per method, the mean correlation of
each network's explanation with the others' (how architecture-dependent a method is).

    python innvestigate/examples/compare_architectures.py [--quick] --out DIR
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

try:
    from . import _common as common
except ImportError:
    import _common as common

L = keras.layers


def mlp(shape):
    return keras.Sequential(
        [
            keras.Input(shape),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(64, activation="relu"),
            L.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )


def small_cnn(shape):
    return keras.Sequential(
        [
            keras.Input(shape),
            L.Conv2D(8, 5, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ],
        name="cnn",
    )


def small_resnet(shape):
    x_in = keras.Input(shape)
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x_in)
    for width in (16, 32):
        shortcut = x if x.shape[-1] == width else L.Conv2D(width, 1)(x)
        y = L.Conv2D(width, 3, padding="same")(x)
        y = L.BatchNormalization()(y)
        y = L.Activation("relu")(y)
        y = L.Conv2D(width, 3, padding="same")(y)
        y = L.BatchNormalization()(y)
        x = L.Activation("relu")(L.Add()([shortcut, y]))
        x = L.MaxPooling2D(2)(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(x_in, L.Dense(10, activation="softmax")(x), name="resnet")


def small_densenet(shape):
    x_in = keras.Input(shape)
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x_in)
    for _ in range(2):
        for _ in range(2):
            y = L.BatchNormalization()(x)
            y = L.Activation("relu")(y)
            y = L.Conv2D(8, 3, padding="same")(y)
            x = L.Concatenate()([x, y])
        x = L.Conv2D(16, 1, activation="relu")(x)
        x = L.AveragePooling2D(2)(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(x_in, L.Dense(10, activation="softmax")(x), name="densenet")


NETWORKS = [
    ("MLP", mlp),
    ("CNN", small_cnn),
    ("VGG-like", common.vgg_like),
    ("ResNet-like", small_resnet),
    ("DenseNet-like", small_densenet),
]
METHOD_LABELS = [
    "Input",
    "Gradient",
    "SmoothGrad",
    "Guided BP",
    "PatternNet",
    "Integr. Grad.",
    "LRP-Epsilon",
    "LRP-PresetAFlat",
    "DeepTaylor",
    "Occlusion",
]
QUICK_LABELS = ["Input", "Gradient", "Guided BP", "Integr. Grad.", "LRP-Epsilon", "LRP-PresetAFlat"]


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k"):
    os.makedirs(out_dir, exist_ok=True)
    X_train, y_train, X_test, y_test = common.load_images(dataset, quick)
    if quick:
        X_train, y_train = X_train[:2000], y_train[:2000]
    index = int(np.flatnonzero(y_test == 8)[0])  # one image for all networks
    x = X_test[index : index + 1]
    labels = QUICK_LABELS if quick else METHOD_LABELS
    method_list = [m for m in common.methods(quick) if m.label in labels]
    grid, left, right, table, raw, skipped = [], [], [], [], {}, []
    names = common.CLASS_NAMES[dataset]
    for net_name, build in NETWORKS:
        cache = (
            None
            if cache_dir is None
            else os.path.join(
                cache_dir, f"arch_{net_name}_{dataset}_{'quick' if quick else 'full'}.keras"
            )
        )
        model, train_s = common.train(
            build(X_train.shape[1:]),
            X_train,
            y_train,
            epochs=2 if quick else 10,
            cache_path=cache,
            decay=not quick,
        )
        accuracy = float(np.mean(np.argmax(common.predict(model, X_test), 1) == y_test))
        model_wo_sm = innvestigate.model_wo_softmax(model)
        analyses = common.create_analyzers(model_wo_sm, method_list, fit_data=X_train[:2000])
        pred = int(np.argmax(common.predict(model, x)))
        cells = common.analysis_grid(analyses, x, [pred], model_wo_sm)[0]
        by_label = dict(zip(analyses.created, cells))
        grid.append([by_label.get(label) for label in labels])
        for label, (_, analyzer) in analyses.created.items():
            raw.setdefault(label, {})[net_name] = analyzer.analyze(
                x, neuron_selection=np.array([pred])
            ).ravel()
        skipped += [f"{net_name}: {line[2:]}" for line in common.skipped_lines(analyses)]
        left_label, right_label = common.row_labels(
            model_wo_sm, model, x, int(y_test[index]), None, names
        )
        left.append(f"{net_name}\ntest acc. {accuracy:.3f}\n{left_label.splitlines()[1]}")
        right.append(right_label)
        table.append([net_name, "test_accuracy", f"{accuracy:.4f}"])
        table.append([net_name, "train_seconds", f"{train_s:.1f}"])
    for label, per_net in raw.items():
        if label == "Input" or len(per_net) < 2:
            continue
        vectors = [v for v in per_net.values() if np.std(v) > 0]
        if len(vectors) > 1:
            c = np.corrcoef(np.stack(vectors))
            table.append(
                [
                    label,
                    "mean_cross_network_correlation",
                    f"{c[np.triu_indices(len(vectors), 1)].mean():.4f}",
                ]
            )
    path = os.path.join(out_dir, "fig_v10_architectures.png")
    ivis.plot_grid(
        grid,
        col_labels=labels,
        row_labels_left=left,
        row_labels_right=right,
        file_name=path,
        title=f"One {dataset} test image, true label {names[y_test[index]]}; "
        f"networks trained {'2 epochs on 2000 images (quick)' if quick else f'10 epochs on {len(X_train)} images'}",
    )
    csv_path = os.path.join(out_dir, "compare_architectures.csv")
    common.write_csv(csv_path, ["network_or_method", "quantity", "value"], table)
    accs = ", ".join(f"{r[0]} {r[2]}" for r in table if r[1] == "test_accuracy")
    corrs = ", ".join(f"{r[0]} {r[2]}" for r in table if r[1] == "mean_cross_network_correlation")
    lines = [
        f"Test accuracy: {accs}.",
        f"Mean correlation of a method's explanations across the five networks: {corrs}.",
    ] + [f"- {s}" for s in skipped]
    return {
        "title": "Comparing architectures (Fig. V.10)",
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
