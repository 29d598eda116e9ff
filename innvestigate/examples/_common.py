"""Shared pieces of the examples: offline data, small networks, the method table, figure rows.

Every example trains its network on offline data from ``shared_datasets`` (run
``shared-datasets fetch mnist5k fashion_mnist`` once, or ``make setup``) and caches the
trained model in ``cache_dir`` so that ``run_all.py`` trains each network once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import keras
import numpy as np

import innvestigate
import innvestigate.utils.visualizations as ivis

CLASS_NAMES = {
    "mnist5k": [str(i) for i in range(10)],
    "digits": [str(i) for i in range(10)],
    "fashion_mnist": [
        "T-shirt",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Boot",
    ],
}


def load_images(name: str, quick: bool):
    """Train/test images in [0, 1] shaped (N, H, W, 1), integer labels."""
    import shared_datasets

    X_train, y_train, X_test, y_test = shared_datasets.load(name)
    side = round(np.sqrt(X_train.shape[1]))
    scale = 16.0 if name == "digits" else 255.0
    X_train = (np.asarray(X_train, "float32") / scale).reshape(-1, side, side, 1)
    X_test = (np.asarray(X_test, "float32") / scale).reshape(-1, side, side, 1)
    if name == "fashion_mnist":  # 60k images: a subset keeps the examples quick
        n = 6000 if quick else 20000
        X_train, y_train = X_train[:n], y_train[:n]
        X_test, y_test = X_test[:2000], y_test[:2000]
    return X_train, np.asarray(y_train, "int64"), X_test, np.asarray(y_test, "int64")


def vgg_like(input_shape, n_classes=10, width=16):
    """A small VGG-like network: two conv blocks of two 3x3 convolutions, two dense layers.

    The last layer has a softmax, as a trained classifier usually has; the examples
    strip it with ``innvestigate.model_wo_softmax`` before analysis.
    """
    return keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ],
        name="vgg_like",
    )


def train(model, X, y, epochs, cache_path=None, batch_size=64, seed=0, decay=False):
    """Fits a softmax classifier (Adam) and caches it as ``.keras``; returns (model, seconds).

    ``decay``: the learning rate falls from 1e-3 to 0 along a cosine over the run (the
    full-size runs; it settles the last epochs instead of leaving the accuracy jumping by a
    percent from epoch to epoch). A cached model (``cache_path`` exists) is loaded instead, with 0 training seconds.
    """
    if cache_path is not None and os.path.exists(cache_path):
        return keras.saving.load_model(cache_path), 0.0
    keras.utils.set_random_seed(seed)
    rate = 1e-3
    if decay:
        rate = keras.optimizers.schedules.CosineDecay(1e-3, epochs * -(-len(X) // batch_size))
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    recalibrate_batch_norm(model, X[:512])
    seconds = time.perf_counter() - start
    if cache_path is not None:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        tmp = cache_path + ".tmp.keras"
        model.save(tmp)
        os.replace(tmp, cache_path)
    return model, seconds


def recalibrate_batch_norm(model, X):
    """Sets the moving statistics of every BatchNormalization layer to those of ``X``.

    After a short training run the moving averages (momentum 0.99) still lag far behind
    the weights, and the network performs at chance in inference mode. One forward pass
    in training mode with momentum 0 stores the batch statistics of ``X``, layer by layer
    (standard batch-norm recalibration); the trained weights are unchanged.
    """
    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    model(X, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum


def predict(model, X, batch_size=256):
    """The model's outputs on ``X``, computed in batches by calling the model.

    Not ``model.predict``: each new model's predict function is a new ``tf.function``, and
    after a few of them in one process (as in ``run_all.py``) TensorFlow prints its
    "triggered tf.function retracing" warning although nothing is traced twice.
    """
    X = np.asarray(X)
    if len(X) == 0:
        return np.zeros((0, *model.output_shape[1:]), dtype="float32")
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(model(X[i : i + batch_size], training=False))
            for i in range(0, len(X), batch_size)
        ]
    )


def trained_vgg(dataset, quick, cache_dir):
    """The small VGG-like network trained on ``dataset``; returns model, data, accuracy, seconds."""
    X_train, y_train, X_test, y_test = load_images(dataset, quick)
    cache = (
        None
        if cache_dir is None
        else os.path.join(cache_dir, f"vgg_like_{dataset}_{'quick' if quick else 'full'}.keras")
    )
    # full: 15 epochs with cosine decay, >= 98 % on MNIST-5k's test split (issue #16); the
    # 20 000 Fashion-MNIST images take 8
    epochs = 2 if quick else {"mnist5k": 15}.get(dataset, 8)
    model, seconds = train(
        vgg_like(X_train.shape[1:]),
        X_train,
        y_train,
        epochs=epochs,
        cache_path=cache,
        decay=not quick,
    )
    accuracy = float(np.mean(np.argmax(predict(model, X_test), 1) == y_test))
    return model, (X_train, y_train, X_test, y_test), accuracy, seconds


@dataclass
class Method:
    """One column of a figure: analyzer name, parameters, how to show it, column label."""

    name: str
    params: dict
    show: str
    label: str
    needs_fit: bool = False


def methods(quick: bool, input_range=(0.0, 1.0)):
    """The method columns of Figs. V.7, V.8 and V.10 with the visualisation of §4."""
    low, high = input_range
    return [
        Method("input", {}, "input", "Input"),
        Method("gradient", {"postprocess": "abs"}, "graymap", "Gradient"),
        Method(
            "smoothgrad",
            {
                "augment_by_n": 16 if quick else 64,
                "noise_scale": 0.1 * (high - low),
                "postprocess": "square",
            },
            "graymap",
            "SmoothGrad",
        ),
        Method("deconvnet", {}, "heatmap", "Deconvnet"),
        Method("guided_backprop", {}, "heatmap", "Guided BP"),
        Method("pattern.net", {"pattern_type": "relu"}, "projection", "PatternNet", True),
        Method("pattern.attribution", {"pattern_type": "relu"}, "heatmap", "PatternAttr.", True),
        Method("deep_taylor.bounded", {"low": low, "high": high}, "heatmap", "DeepTaylor"),
        Method("input_t_gradient", {}, "heatmap", "Input*Grad"),
        Method(
            "integrated_gradients",
            {"reference_inputs": low, "steps": 16 if quick else 64},
            "heatmap",
            "Integr. Grad.",
        ),
        Method("lrp.z", {}, "heatmap", "LRP-Z"),
        Method("lrp.epsilon", {"epsilon": 1.0}, "heatmap", "LRP-Epsilon"),
        Method("lrp.sequential_preset_a_flat", {"epsilon": 1.0}, "heatmap", "LRP-PresetAFlat"),
        Method("lrp.sequential_preset_b_flat", {"epsilon": 1.0}, "heatmap", "LRP-PresetBFlat"),
        Method("occlusion", {"patch_size": 4, "reference_value": low}, "heatmap", "Occlusion"),
        Method(
            "lime",
            {
                "n_samples": 100 if quick else 500,
                "random_state": 0,
                "segmentation_params": {"n_segments": 30},
            },
            "heatmap",
            "LIME",
        ),
    ]


@dataclass
class Analyses:
    """Analyzers created for one model; methods that could not be created are recorded, not hidden."""

    created: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def create_analyzers(model, method_list, fit_data=None, neuron_selection_mode="index"):
    out = Analyses()
    for method in method_list:
        if method.name not in innvestigate.analyzer.ANALYZERS:
            out.skipped[method.label] = f"{method.name} is not in this build's ANALYZERS"
            continue
        try:
            start = time.perf_counter()
            analyzer = innvestigate.create_analyzer(
                method.name, model, neuron_selection_mode=neuron_selection_mode, **method.params
            )
            if method.needs_fit:
                analyzer.fit(fit_data, batch_size=256)
            out.seconds[method.label] = time.perf_counter() - start
            out.created[method.label] = (method, analyzer)
        except Exception as err:  # shown in the summary
            out.skipped[method.label] = f"{type(err).__name__}: {err}"
    return out


def visualize(method_show, analysis, image):
    """One figure cell: ``analysis`` (1, H, W, C) and ``image`` (1, H, W, C) in [0, 1]."""
    if method_show == "input":
        return image[0]
    if method_show == "graymap":
        return ivis.graymap(analysis)[0]
    if method_show == "projection":
        return ivis.project_to_input_range(analysis)[0]
    return ivis.heatmap(analysis)[0]


def row_labels(model_wo_sm, model, x, true_label, neuron, class_names):
    """Left label (true/explained or predicted class) and right label (softmax and logit)."""
    logits = np.asarray(model_wo_sm(x))[0]
    probs = np.asarray(model(x))[0]
    pred = int(np.argmax(probs))
    left = f"true: {class_names[true_label]}\npred: {class_names[pred]}"
    if neuron is not None:
        left = f"true: {class_names[true_label]}\nneuron: {class_names[neuron]}"
    k = pred if neuron is None else neuron
    right = f"softmax {probs[k]:.3f}\nlogit {logits[k]:.2f}"
    return left, right


def analysis_grid(analyses, x_batch, neurons, model_wo_sm=None):
    """Rows over (sample, neuron), columns over created methods.

    With ``model_wo_sm`` given, Deep Taylor cells stay empty where the explained output is
    not positive: the method is not defined there (thesis, caption of Fig. V.7).
    """
    rows = []
    for i, neuron in enumerate(neurons):
        x = x_batch[i : i + 1]
        output = None if model_wo_sm is None else float(np.asarray(model_wo_sm(x))[0, neuron])
        row = []
        for method, analyzer in analyses.created.values():
            if method.name.startswith("deep_taylor") and output is not None and output <= 0:
                row.append(None)
                continue
            try:
                a = analyzer.analyze(x, neuron_selection=np.array([neuron]))
                if not np.all(np.isfinite(a)):
                    row.append(None)
                    continue
                row.append(visualize(method.show, a, x))
            except Exception as err:  # recorded per method
                analyses.skipped.setdefault(method.label, f"{type(err).__name__}: {err}")
                row.append(None)
        rows.append(row)
    return rows


def write_csv(path, header, rows):
    import csv

    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def skipped_lines(analyses):
    return [f"- {label}: not shown ({why})" for label, why in analyses.skipped.items()]
