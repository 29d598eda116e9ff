"""Perturbation analysis of the methods (Samek et al. 2017; thesis Chapter V §3.4.2).

On the VGG-like MNIST-5k network, the 4x4-pixel regions of test images are perturbed with
uniform noise in the order of the relevance each method assigns them ("most relevant
first") and in random order; the logit of the predicted class is followed. A faster
fall - a larger AOPC - means the explanation points better at what the network uses.

    python innvestigate/examples/perturbation_analysis.py [--quick] --out DIR
"""

from __future__ import annotations

# First, before Keras: a quiet backend start-up (see _startup.py).
import _startup  # noqa: F401

# isort: split
import argparse
import os

import innvestigate
from innvestigate.tools.perturbation import (
    Perturbation,
    PerturbationAnalysis,
    plot_perturbation_curves,
)

try:
    from . import _common as common
except ImportError:
    import _common as common

METHODS = [
    ("gradient", {}, "Gradient"),
    ("smoothgrad", {"augment_by_n": 16, "noise_scale": 0.1, "random_state": 0}, "SmoothGrad"),
    ("guided_backprop", {}, "Guided BP"),
    ("input_t_gradient", {}, "Input*Grad"),
    ("integrated_gradients", {"steps": 16}, "Integr. Grad."),
    ("lrp.epsilon", {"epsilon": 1.0}, "LRP-Epsilon"),
    ("lrp.sequential_preset_a_flat", {"epsilon": 1.0}, "LRP-PresetAFlat"),
    ("deep_taylor.bounded", {"low": 0.0, "high": 1.0}, "DeepTaylor"),
]


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k"):
    os.makedirs(out_dir, exist_ok=True)
    model, (_, _, X_test, _), accuracy, _ = common.trained_vgg(dataset, quick, cache_dir)
    model_wo_sm = innvestigate.model_wo_softmax(model)
    X = X_test[:64] if quick else X_test  # full mode: the whole test split (500 for MNIST-5k)
    perturbation = Perturbation("uniform", region_shape=(4, 4), value_range=(0.0, 1.0))
    steps = 10 if quick else 20
    results, rows = {}, []
    for name, params, label in METHODS:
        if name not in innvestigate.analyzer.ANALYZERS:
            continue
        analyzer = innvestigate.create_analyzer(name, model_wo_sm, **params)
        pa = PerturbationAnalysis(
            analyzer, model_wo_sm, perturbation, steps=steps, batch_size=64, progress=False
        )
        results[label] = pa.compute(X, order="morf", random_state=0)
    pa = PerturbationAnalysis(
        lambda x: x, model_wo_sm, perturbation, steps=steps, batch_size=64, progress=False
    )
    results["random order"] = pa.compute(X, order="random", random_state=0)
    for label, r in sorted(results.items(), key=lambda kv: -kv[1].aopc):
        rows.append([label, r.order, f"{r.aopc:.4f}"] + [f"{v:.4f}" for v in r.curve])
    path = os.path.join(out_dir, "perturbation_curves.png")
    plot_perturbation_curves(
        results,
        file_name=path,
        title=f"{len(X)} {dataset} test images, 4x4 regions, uniform noise; "
        f"VGG-like, test acc. {accuracy:.3f}",
    )
    csv_path = os.path.join(out_dir, "perturbation_aopc.csv")
    common.write_csv(
        csv_path, ["method", "order", "aopc"] + [f"step_{k}" for k in range(steps + 1)], rows
    )
    random_aopc = results["random order"].aopc
    better = [r[0] for r in rows if r[1] == "morf" and float(r[2]) > random_aopc]
    lines = [
        f"VGG-like network on {dataset}, test accuracy {accuracy:.4f}; {len(X)} test images.",
        f"AOPC over {steps} steps (higher is better): "
        + ", ".join(f"{r[0]} {float(r[2]):.3f}" for r in rows)
        + ".",
        f"{len(better)} of {len(rows) - 1} methods beat the random order.",
    ]
    return {
        "title": "Perturbation analysis (Samek et al. 2017)",
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
