"""Sensitivity to hyper-parameters (thesis Chapter V §3.4.2, Fig. V.5, Appendix 2.3).

Rows 1 and 2: SmoothGrad with absolute and squared gradients for noise scales from 0 to
80 % of the input range; row 3: Integrated Gradients with a constant reference image from
black to white. The code follows Appendix 2.3. A CSV gives, per setting, the correlation
of the explanation with the leftmost one (how much the hyper-parameter changes it).

    python innvestigate/examples/hyperparameters.py [--quick] --out DIR
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
except ImportError:
    import _common as common


def main(out_dir, quick=False, cache_dir=None, dataset="mnist5k"):
    os.makedirs(out_dir, exist_ok=True)
    model, (_, _, X_test, _), accuracy, _ = common.trained_vgg(dataset, quick, cache_dir)
    model_wo_sm = innvestigate.model_wo_softmax(model)
    x = X_test[:1]
    input_range = (0.0, 1.0)
    n_settings = 5
    rows, row_names, table = [], [], []
    for postprocess in ("abs", "square"):
        row = []
        for scale in range(n_settings):
            noise_scale = (input_range[1] - input_range[0]) * scale / n_settings
            analyzer = innvestigate.create_analyzer(
                "smoothgrad",
                model_wo_sm,
                augment_by_n=16 if quick else 32,
                noise_scale=noise_scale,
                postprocess=postprocess,
                random_state=0,
            )
            row.append(analyzer.analyze(x))
            table.append([f"smoothgrad-{postprocess}", "noise_scale", f"{noise_scale:.2f}"])
        rows.append(row)
        row_names.append(f"SG - {postprocess}\nlow -> high noise")
    row = []
    for reference in np.linspace(input_range[0], input_range[1], num=n_settings):
        analyzer = innvestigate.create_analyzer(
            "integrated_gradients",
            model_wo_sm,
            reference_inputs=float(reference),
            steps=16 if quick else 32,
        )
        row.append(analyzer.analyze(x))
        table.append(["integrated_gradients", "reference", f"{reference:.2f}"])
    rows.append(row)
    row_names.append("IG reference\nblack -> white")

    grid, correlations = [], []
    for r, row in enumerate(rows):
        show = ivis.graymap if r < 2 else ivis.heatmap
        grid.append([x[0]] + [show(a)[0] for a in row])
        first = row[0].ravel()
        correlations += [
            float(np.corrcoef(first, a.ravel())[0, 1]) if np.std(a) > 0 else float("nan")
            for a in row
        ]
    table = [t + [f"{c:.3f}"] for t, c in zip(table, correlations)]
    path = os.path.join(out_dir, "fig_v5_hyperparameters.png")
    col_labels = ["Image"] + [
        f"noise {(input_range[1] - input_range[0]) * i / n_settings:.1f}\nref. {r:.2f}"
        for i, r in enumerate(np.linspace(input_range[0], input_range[1], num=n_settings))
    ]
    ivis.plot_grid(
        grid,
        col_labels=col_labels,
        row_labels_left=row_names,
        file_name=path,
        title=f"SmoothGrad noise scale and Integrated Gradients reference; VGG-like on {dataset}, "
        f"test acc. {accuracy:.3f}",
    )
    csv_path = os.path.join(out_dir, "hyperparameters.csv")
    common.write_csv(csv_path, ["method", "parameter", "value", "correlation_with_first"], table)
    ig = [c for t, c in zip(table, correlations) if t[0] == "integrated_gradients"]
    lines = [
        f"Integrated Gradients: correlation of the explanation with the black-reference one "
        f"falls to {ig[-1]:.3f} for the white reference (the reference matters, Fig. V.5 row 3).",
        f"SmoothGrad: correlation with the noise-free gradient at the largest noise scale "
        f"{correlations[n_settings - 1]:.3f} (abs), {correlations[2 * n_settings - 1]:.3f} (square).",
    ]
    return {
        "title": "Hyper-parameters (Fig. V.5)",
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
